import { describe, expect, it } from 'vitest';
import { commandProbe, commandVerdict } from './command';

describe('COMMAND checks', () => {
  it.each([
    { result: { exitCode: 0, timedOut: false, output: 'fine' }, want: { ok: true } },
    {
      result: { exitCode: 1, timedOut: false, output: '\ntest: missing file\nmore' },
      want: { ok: false, error: 'command exited with code 1: test: missing file' },
    },
    {
      result: { exitCode: 2, timedOut: false, output: '' },
      want: { ok: false, error: 'command exited with code 2' },
    },
    {
      result: { exitCode: undefined, timedOut: true, output: '' },
      want: { ok: false, error: 'command did not end within 1.5 s' },
    },
  ])('$result → $want', ({ result, want }) => {
    expect(commandVerdict(result, 1_500)).toEqual(want);
  });

  it('fails the check when the command cannot run at all', async () => {
    const r = await commandProbe(() => Promise.reject(new Error('task gone')), 'true', 1_000);
    expect(r).toEqual({ ok: false, error: 'command could not run: task gone' });
  });
});

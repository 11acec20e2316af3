import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CliError } from './errors';
import { readHidden } from './prompt';

class FakeTty extends EventEmitter {
  isRaw = false;
  modes: boolean[] = [];
  setRawMode(mode: boolean) {
    this.isRaw = mode;
    this.modes.push(mode);
  }
  setEncoding() {}
  resume() {}
  pause() {}
}

function prompt(...chunks: string[]) {
  const input = new FakeTty();
  const written: string[] = [];
  const result = readHidden('Password: ', input, { write: (s: string) => written.push(s) });
  for (const c of chunks) input.emit('data', c);
  return { input, written, result };
}

describe('readHidden', () => {
  it('reads up to Enter without echoing, then restores the terminal', async () => {
    const p = prompt('sec', 'ret\r');
    expect(await p.result).toBe('secret');
    expect(p.written).toEqual(['Password: ', '\n']);
    expect(p.input.modes).toEqual([true, false]);
    expect(p.input.listenerCount('data')).toBe(0);
  });

  it('handles backspace and ignores other control characters', async () => {
    expect(await prompt('abx\u007fc\u001b\n').result).toBe('abc');
  });

  it('cancels on Ctrl-C', async () => {
    const err = await prompt('ab\u0003').result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(130);
  });
});

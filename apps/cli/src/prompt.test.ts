import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CliError } from './errors';
import { isYes, readHidden, readLine } from './prompt';

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

describe('readLine', () => {
  it('reads one typed line', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const answer = readLine('Continue? [y/N] ', input, output);
    input.write('yes\r');
    expect(await answer).toBe('yes');
  });

  it('answers an empty line at the end of input', async () => {
    const input = new PassThrough();
    const answer = readLine('Continue? [y/N] ', input, new PassThrough());
    input.end();
    expect(await answer).toBe('');
  });
});

describe('isYes', () => {
  it('takes y and yes in any case, nothing else', () => {
    for (const yes of ['y', 'Y', 'yes', ' YES ']) expect(isYes(yes), yes).toBe(true);
    for (const no of ['', 'n', 'no', 'yep', 'y es']) expect(isYes(no), no).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { FrameDemuxer } from './docker-frames';
import { tailLines } from './exec';

function frame(type: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('FrameDemuxer', () => {
  it('splits stdout and stderr frames', () => {
    const got: Array<[string, string]> = [];
    const d = new FrameDemuxer((s, p) => got.push([s, p.toString()]));
    d.push(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'again')]));
    expect(got).toEqual([
      ['stdout', 'out\n'],
      ['stderr', 'err\n'],
      ['stdout', 'again'],
    ]);
  });

  it('reassembles frames split at any byte', () => {
    const all = Buffer.concat([frame(1, 'hello world\n'), frame(2, 'oops\n')]);
    for (let cut = 1; cut < all.length; cut++) {
      const got: string[] = [];
      const d = new FrameDemuxer((s, p) => got.push(`${s}:${p.toString()}`));
      d.push(all.subarray(0, cut));
      d.push(all.subarray(cut));
      expect(got).toEqual(['stdout:hello world\n', 'stderr:oops\n']);
    }
  });
});

describe('tailLines', () => {
  it.each([
    ['a\nb\nc\n', 2, 'b\nc\n'],
    ['a\nb\nc', 2, 'b\nc'],
    ['a\nb\n', 5, 'a\nb\n'],
    ['a\nb\n', 0, ''],
    ['', 3, ''],
  ])('%j last %i → %j', (text, n, want) => expect(tailLines(Buffer.from(text), n).toString()).toBe(want));
});

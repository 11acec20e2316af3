import { describe, expect, it } from 'vitest';
import { highlightParts, LineBuffer } from './log-lines';

describe('LineBuffer', () => {
  it('joins chunks split mid-line, per stream', () => {
    const b = new LineBuffer();
    b.push('stdout', 'hel');
    b.push('stderr', 'oops\nhalf');
    b.push('stdout', 'lo\nworld\n');
    expect(b.lines.map((l) => `${l.stream}:${l.text}`)).toEqual([
      'stderr:oops',
      'stdout:hello',
      'stdout:world',
    ]);
    b.flush();
    expect(b.lines.at(-1)).toMatchObject({ stream: 'stderr', text: 'half' });
  });

  it('keeps at most max lines, numbering on', () => {
    const b = new LineBuffer(2);
    b.push('stdout', 'a\nb\nc\n');
    expect(b.lines).toEqual([
      { n: 2, stream: 'stdout', text: 'b' },
      { n: 3, stream: 'stdout', text: 'c' },
    ]);
  });
});

describe('highlightParts', () => {
  it('marks every case-insensitive match', () => {
    expect(highlightParts('Error: an error', 'error')).toEqual([
      { text: 'Error', match: true },
      { text: ': an ', match: false },
      { text: 'error', match: true },
    ]);
    expect(highlightParts('abc', '')).toEqual([{ text: 'abc', match: false }]);
  });
});

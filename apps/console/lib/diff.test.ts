import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  diffLines,
  diffStats,
  diffText,
  foldContext,
  splitLines,
  type DiffLine,
} from './diff';

/** One character per line marks each op: ' ' same, '-' removed, '+' added. */
const render = (lines: DiffLine[]) =>
  lines.map((l) => `${l.op === 'same' ? ' ' : l.op === 'added' ? '+' : '-'}${l.text}`);

/** Length of the longest common subsequence, by plain recursion with memo (the reference). */
function lcsLength(a: string[], b: string[]): number {
  const memo = new Map<string, number>();
  const go = (i: number, j: number): number => {
    if (i === a.length || j === b.length) return 0;
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const v = a[i] === b[j] ? go(i + 1, j + 1) + 1 : Math.max(go(i + 1, j), go(i, j + 1));
    memo.set(key, v);
    return v;
  };
  return go(0, 0);
}

describe('diffLines', () => {
  it('shows nothing changed for equal texts', () => {
    expect(render(diffLines(['a', 'b'], ['a', 'b']))).toEqual([' a', ' b']);
  });

  it('handles empty sides', () => {
    expect(diffLines([], [])).toEqual([]);
    expect(render(diffLines([], ['x', 'y']))).toEqual(['+x', '+y']);
    expect(render(diffLines(['x', 'y'], []))).toEqual(['-x', '-y']);
  });

  it('marks a changed line as removed then added, between unchanged ones', () => {
    const a = ['{', '  "cmd": "echo v1",', '  "cpus": 0.1', '}'];
    const b = ['{', '  "cmd": "echo v2",', '  "cpus": 0.1', '}'];
    expect(render(diffLines(a, b))).toEqual([
      ' {',
      '-  "cmd": "echo v1",',
      '+  "cmd": "echo v2",',
      '   "cpus": 0.1',
      ' }',
    ]);
  });

  it('finds a minimal diff in the middle (classic example)', () => {
    const a = 'ABCABBA'.split('');
    const b = 'CBABAC'.split('');
    const d = diffLines(a, b);
    expect(d.filter((l) => l.op === 'same')).toHaveLength(4);
    expect(diffStats(d)).toEqual({ added: 2, removed: 3 });
  });

  it('numbers lines in both texts', () => {
    const d = diffLines(['a', 'b', 'c'], ['a', 'x', 'c', 'd']);
    expect(d).toEqual([
      { op: 'same', text: 'a', a: 1, b: 1 },
      { op: 'removed', text: 'b', a: 2 },
      { op: 'added', text: 'x', b: 2 },
      { op: 'same', text: 'c', a: 3, b: 3 },
      { op: 'added', text: 'd', b: 4 },
    ]);
  });

  it('keeps repeated lines apart (JSON closes many blocks with the same line)', () => {
    const a = ['{', '  "a": {', '    "x": 1', '  },', '  "b": {', '    "y": 2', '  }', '}'];
    const b = [
      '{',
      '  "a": {',
      '    "x": 1',
      '  },',
      '  "c": {',
      '    "z": 3',
      '  },',
      '  "b": {',
      '    "y": 2',
      '  }',
      '}',
    ];
    expect(render(diffLines(a, b)).filter((l) => !l.startsWith(' '))).toEqual([
      '+  "c": {',
      '+    "z": 3',
      '+  },',
    ]);
  });

  it('property: old and new texts are recovered, and unchanged lines are a longest common subsequence', () => {
    const line = fc.constantFrom('a', 'b', 'c', 'd', '');
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.array(line, { maxLength: 12 }), (a, b) => {
        const d = diffLines(a, b);
        expect(d.filter((l) => l.op !== 'added').map((l) => l.text)).toEqual(a);
        expect(d.filter((l) => l.op !== 'removed').map((l) => l.text)).toEqual(b);
        expect(d.filter((l) => l.op === 'same')).toHaveLength(lcsLength(a, b));
        // Line numbers count up from 1 on each side.
        expect(d.flatMap((l) => (l.a ? [l.a] : []))).toEqual(a.map((_, i) => i + 1));
        expect(d.flatMap((l) => (l.b ? [l.b] : []))).toEqual(b.map((_, i) => i + 1));
      }),
      { numRuns: 300 },
    );
  });

  it('copes with long inputs', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `line ${i}`);
    const b = [...a.slice(0, 1000), 'inserted', ...a.slice(1000, 2000), ...a.slice(2001)];
    expect(diffStats(diffLines(a, b))).toEqual({ added: 1, removed: 1 });
  });
});

describe('splitLines and diffText', () => {
  it('ignores one final newline and accepts CRLF', () => {
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a\nb\n')).toEqual(['a', 'b']);
    expect(splitLines('a\r\nb')).toEqual(['a', 'b']);
    expect(splitLines('a\n\n')).toEqual(['a', '']);
  });

  it('diffs texts line by line', () => {
    expect(render(diffText('a\nb\n', 'a\nc\n'))).toEqual([' a', '-b', '+c']);
  });
});

describe('foldContext', () => {
  const same = (n: number, from = 1): DiffLine[] =>
    Array.from({ length: n }, (_, i) => ({ op: 'same', text: `s${from + i}`, a: from + i, b: from + i }));

  it('folds long unchanged runs, keeping context around changes', () => {
    const lines: DiffLine[] = [
      ...same(10),
      { op: 'removed', text: 'old', a: 11 },
      { op: 'added', text: 'new', b: 11 },
      ...same(10, 12),
    ];
    const folded = foldContext(lines, 2);
    expect(folded.map((l) => (l.op === 'skip' ? `…${l.count}@${l.a}` : l.text))).toEqual([
      '…8@1',
      's9',
      's10',
      'old',
      'new',
      's12',
      's13',
      '…8@14',
    ]);
  });

  it('keeps context on both sides of a run between two changes', () => {
    const lines: DiffLine[] = [
      { op: 'added', text: '+1', b: 1 },
      ...same(9, 2),
      { op: 'added', text: '+2', b: 11 },
    ];
    const folded = foldContext(lines, 3);
    expect(folded.map((l) => (l.op === 'skip' ? `…${l.count}` : l.text))).toEqual([
      '+1',
      's2',
      's3',
      's4',
      '…3',
      's8',
      's9',
      's10',
      '+2',
    ]);
  });

  it('never folds a single line, and folds everything when nothing changed', () => {
    const lines: DiffLine[] = [{ op: 'added', text: '+', b: 1 }, ...same(4, 2)];
    expect(foldContext(lines, 3)).toHaveLength(5);
    expect(foldContext(same(20), 3)).toEqual([{ op: 'skip', count: 20, a: 1, b: 1 }]);
  });
});

describe('canonicalJson', () => {
  it('orders keys (id first) so key order never shows as a change', () => {
    const x = canonicalJson({ mem: 32, id: '/web', container: { type: 'DOCKER', docker: { image: 'i' } } });
    const y = canonicalJson({ id: '/web', container: { docker: { image: 'i' }, type: 'DOCKER' }, mem: 32 });
    expect(x).toBe(y);
    expect(x.split('\n')[1]).toBe('  "id": "/web",');
  });

  it('keeps array order', () => {
    expect(JSON.parse(canonicalJson({ a: [3, 1, 2] }))).toEqual({ a: [3, 1, 2] });
  });
});

import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './diff';

const lines = (...l: string[]) => l.map((x) => `${x}\n`).join('');

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n')).toBe('');
    expect(unifiedDiff('', '')).toBe('');
  });

  it('prints one hunk with three lines of context, removals before additions', () => {
    const a = lines('1', '2', '3', '4', '5', '6', '7', '8', '9');
    const b = lines('1', '2', '3', '4', 'five', '6', '7', '8', '9');
    expect(unifiedDiff(a, b)).toBe(
      lines('@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8'),
    );
  });

  it('splits distant changes into hunks and joins close ones', () => {
    const a = Array.from({ length: 20 }, (_, i) => String(i + 1)).join('\n') + '\n';
    const b = a.replace('2\n', 'two\n').replace('18\n', 'eighteen\n');
    expect(unifiedDiff(a, b)).toBe(
      lines(
        '@@ -1,5 +1,5 @@',
        ' 1',
        '-2',
        '+two',
        ' 3',
        ' 4',
        ' 5',
        '@@ -15,6 +15,6 @@',
        ' 15',
        ' 16',
        ' 17',
        '-18',
        '+eighteen',
        ' 19',
        ' 20',
      ),
    );
    const c = a.replace('2\n', 'two\n').replace('8\n', 'eight\n');
    expect(unifiedDiff(a, c).match(/^@@/gm)).toHaveLength(1);
  });

  it('handles additions and removals at the ends and empty sides', () => {
    expect(unifiedDiff('', 'a\n')).toBe(lines('@@ -0,0 +1 @@', '+a'));
    expect(unifiedDiff('a\n', '')).toBe(lines('@@ -1 +0,0 @@', '-a'));
    expect(unifiedDiff(lines('a', 'b'), lines('a', 'b', 'c'))).toBe(
      lines('@@ -1,2 +1,3 @@', ' a', ' b', '+c'),
    );
  });

  it('diffs JSON of definitions', () => {
    const from = JSON.stringify({ id: '/r', env: { A: '1' }, mem: 128 }, null, 2);
    const to = JSON.stringify({ id: '/r', env: { A: '1', B: '2' }, mem: 128 }, null, 2);
    expect(unifiedDiff(from, to)).toBe(
      lines(
        '@@ -1,7 +1,8 @@',
        ' {',
        '   "id": "/r",',
        '   "env": {',
        '-    "A": "1"',
        '+    "A": "1",',
        '+    "B": "2"',
        '   },',
        '   "mem": 128',
        ' }',
      ),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { tryOrder } from './balancer';

const b = (name: string, active = 0, downUntilMs = 0) => ({ name, active, downUntilMs });
const names = (xs: Array<{ name: string }>) => xs.map((x) => x.name).join('');

describe('tryOrder', () => {
  it('round-robin: starts at the cursor and wraps; the rest are the retries', () => {
    const backends = [b('a'), b('b'), b('c')];
    expect(names(tryOrder(backends, 'round-robin', 0, 0))).toBe('abc');
    expect(names(tryOrder(backends, 'round-robin', 1, 0))).toBe('bca');
    expect(names(tryOrder(backends, 'round-robin', 5, 0))).toBe('cab');
    const picks = Array.from({ length: 300 }, (_, i) => tryOrder(backends, 'round-robin', i, 0)[0]!.name);
    expect(picks.filter((p) => p === 'a')).toHaveLength(100);
    expect(picks.filter((p) => p === 'b')).toHaveLength(100);
  });

  it('round-robin ignores load', () => {
    expect(names(tryOrder([b('a', 9), b('b', 0)], 'round-robin', 0, 0))).toBe('ab');
  });

  it('least-connections: fewest active first, ties in round-robin order', () => {
    const backends = [b('a', 3), b('b', 1), b('c', 1), b('d', 0)];
    expect(names(tryOrder(backends, 'least-connections', 0, 0))).toBe('dbca');
    expect(names(tryOrder(backends, 'least-connections', 2, 0))).toBe('dcba');
    const even = [b('a', 2), b('b', 2), b('c', 2)];
    expect(tryOrder(even, 'least-connections', 1, 0)[0]!.name).toBe('b');
  });

  it('a backend that failed recently goes last until its time is up', () => {
    const backends = [b('a', 0, 1_000), b('b'), b('c')];
    expect(names(tryOrder(backends, 'round-robin', 0, 500))).toBe('bca');
    expect(names(tryOrder(backends, 'least-connections', 0, 500))).toBe('bca');
    expect(names(tryOrder(backends, 'round-robin', 0, 1_000))).toBe('abc');
  });

  it('no backends: nothing to try', () => {
    expect(tryOrder([], 'round-robin', 7, 0)).toEqual([]);
  });
});

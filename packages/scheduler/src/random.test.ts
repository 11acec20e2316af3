import { describe, expect, it } from 'vitest';
import { mulberry32, randomIndex, seededShuffle } from './random';

describe('mulberry32', () => {
  it.each([
    { name: 'seed 0', seed: 0 },
    { name: 'seed 42', seed: 42 },
    { name: 'negative seed', seed: -7 },
    { name: 'seed above 2^32', seed: 2 ** 40 + 3 },
  ])('$name: repeats itself and stays in [0, 1)', ({ seed }) => {
    const a = mulberry32(seed);
    const b = mulberry32(seed);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('differs between seeds', () => {
    expect(mulberry32(1)()).not.toBe(mulberry32(2)());
  });
});

describe('randomIndex', () => {
  it.each([
    { name: 'n = 1 is always 0', n: 1 },
    { name: 'n = 3', n: 3 },
    { name: 'n = 1000', n: 1000 },
  ])('$name', ({ n }) => {
    const random = mulberry32(9);
    for (let i = 0; i < 500; i++) {
      const k = randomIndex(random, n);
      expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
    }
  });
});

describe('seededShuffle', () => {
  it.each([
    { name: 'empty', items: [] as number[] },
    { name: 'one item', items: [1] },
    { name: 'ten items', items: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
  ])('$name: a permutation, reproducible, input untouched', ({ items }) => {
    const before = [...items];
    const a = seededShuffle(items, mulberry32(5));
    expect(seededShuffle(items, mulberry32(5))).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(before);
    expect(items).toEqual(before);
  });

  it('reaches every order of three items across seeds', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 200; seed++)
      seen.add(seededShuffle(['a', 'b', 'c'], mulberry32(seed)).join(''));
    expect(seen.size).toBe(6);
  });
});

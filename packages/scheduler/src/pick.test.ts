import { describe, expect, it } from 'vitest';
import { pickBest } from './pick';
import { mulberry32 } from './random';

describe('pickBest', () => {
  it.each([
    { name: 'nothing to pick', options: [], expected: [undefined] },
    { name: 'one option', options: [{ item: 'a', score: 0 }], expected: ['a'] },
    {
      name: 'the highest score',
      options: [
        { item: 'a', score: 0.2 },
        { item: 'b', score: 0.9 },
        { item: 'c', score: -1 },
      ],
      expected: ['b'],
    },
    {
      name: 'float noise is a tie',
      options: [
        { item: 'a', score: 0.3 },
        { item: 'b', score: 0.1 + 0.2 },
        { item: 'c', score: 0.29 },
      ],
      expected: ['a', 'b'],
    },
  ])('$name', ({ options, expected }) => {
    const seen = new Set(Array.from({ length: 50 }, (_, seed) => pickBest(options, mulberry32(seed))));
    expect([...seen].sort()).toEqual(expected);
  });

  it('breaks ties the same way for the same seed', () => {
    const options = ['a', 'b', 'c', 'd'].map((item) => ({ item, score: 1 }));
    for (let seed = 0; seed < 20; seed++) {
      expect(pickBest(options, mulberry32(seed))).toBe(pickBest(options, mulberry32(seed)));
    }
  });
});

import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseFactor } from './group';

describe('parseFactor', () => {
  it('takes whole and decimal numbers greater than 0', () => {
    expect(parseFactor('2')).toBe(2);
    expect(parseFactor(' 1.5 ')).toBe(1.5);
    expect(parseFactor('.5')).toBe(0.5);
    expect(parseFactor('3.')).toBe(3);
  });

  it('refuses 0, negative numbers and anything else', () => {
    for (const bad of ['0', '0.0', '-1', 'two', '', '1e3', '0x2', 'Infinity', 'NaN', '1.2.3'])
      expect(() => parseFactor(bad), bad).toThrow(InvalidArgumentError);
    expect(() => parseFactor('0')).toThrow('It must be a number greater than 0.');
  });

  it('refuses a number too large to be one', () => {
    expect(() => parseFactor('9'.repeat(400))).toThrow('It is too large.');
  });
});

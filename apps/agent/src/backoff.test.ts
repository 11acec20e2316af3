import { describe, expect, it } from 'vitest';
import { backoffDelay, reconnectBackoff } from './backoff';

describe('backoffDelay', () => {
  it.each([
    { attempt: 0, low: 125, high: 250 },
    { attempt: 1, low: 250, high: 500 },
    { attempt: 3, low: 1000, high: 2000 },
    { attempt: 6, low: 5000, high: 10000 },
    { attempt: 50, low: 5000, high: 10000 },
  ])('attempt $attempt lies in [$low, $high]', ({ attempt, low, high }) => {
    expect(backoffDelay(attempt, reconnectBackoff, () => 0)).toBe(low);
    expect(backoffDelay(attempt, reconnectBackoff, () => 1)).toBe(high);
  });

  it('never exceeds the cap', () => {
    for (let a = 0; a < 100; a++) expect(backoffDelay(a)).toBeLessThanOrEqual(reconnectBackoff.capMs);
  });

  it('treats a negative attempt as the first', () => {
    expect(backoffDelay(-3, reconnectBackoff, () => 0)).toBe(125);
  });
});

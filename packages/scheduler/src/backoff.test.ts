import { describe, expect, it } from 'vitest';
import { launchDelaySeconds } from './backoff';

const marathon = { backoffSeconds: 1, backoffFactor: 1.15, maxLaunchDelaySeconds: 300 };

describe('launchDelaySeconds', () => {
  it.each([
    { name: 'no failures, no delay', failures: 0, app: marathon, delay: 0 },
    { name: 'negative failures', failures: -1, app: marathon, delay: 0 },
    { name: 'first failure waits backoffSeconds', failures: 1, app: marathon, delay: 1 },
    { name: 'second failure', failures: 2, app: marathon, delay: 1.15 },
    { name: 'third failure', failures: 3, app: marathon, delay: 1.15 ** 2 },
    { name: 'capped', failures: 100, app: marathon, delay: 300 },
    {
      name: 'doubling',
      failures: 4,
      app: { backoffSeconds: 2, backoffFactor: 2, maxLaunchDelaySeconds: 3600 },
      delay: 16,
    },
    {
      name: 'an overflowing power still caps',
      failures: 10_000,
      app: { ...marathon, backoffFactor: 10 },
      delay: 300,
    },
    {
      name: 'zero backoff',
      failures: 10_000,
      app: { ...marathon, backoffSeconds: 0, backoffFactor: 10 },
      delay: 0,
    },
    {
      name: 'a cap below backoffSeconds',
      failures: 1,
      app: { ...marathon, backoffSeconds: 10, maxLaunchDelaySeconds: 5 },
      delay: 5,
    },
  ])('$name', ({ failures, app, delay }) => {
    expect(launchDelaySeconds(failures, app)).toBeCloseTo(delay, 9);
  });
});

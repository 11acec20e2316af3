/** How a VIP picks the backend of a new connection. */
export const balanceStrategies = ['round-robin', 'least-connections'] as const;
export type BalanceStrategy = (typeof balanceStrategies)[number];

/** What the balancer needs to know of a backend. */
export interface Candidate {
  /** Connections open through this VIP right now. */
  active: number;
  /** Until when (ms) the backend is passed over after a failed connect (0: not). */
  downUntilMs: number;
}

/**
 * The order in which backends are tried for one new connection: the first is the pick, the rest
 * are the retries after a connect error. Backends that failed a connect in the last moments
 * (`downUntilMs` in the future) go last, so a dead task the view has not dropped yet costs at most
 * one retry, then none until it is tried again.
 *
 * - round-robin: starting at `cursor` (which the caller advances by one per connection);
 * - least-connections: fewest active connections first; ties in round-robin order from `cursor`,
 *   so equally loaded backends still share the new connections.
 *
 * Pure: no clock, no randomness (`nowMs` and `cursor` are arguments).
 */
export function tryOrder<T extends Candidate>(
  backends: readonly T[],
  strategy: BalanceStrategy,
  cursor: number,
  nowMs: number,
): T[] {
  const n = backends.length;
  if (n === 0) return [];
  const start = ((cursor % n) + n) % n;
  const rotated: Array<{ b: T; rank: number }> = [];
  for (let i = 0; i < n; i++) rotated.push({ b: backends[(start + i) % n]!, rank: i });
  const down = (b: T) => (b.downUntilMs > nowMs ? 1 : 0);
  rotated.sort((x, y) => {
    const d = down(x.b) - down(y.b);
    if (d !== 0) return d;
    if (strategy === 'least-connections' && x.b.active !== y.b.active) return x.b.active - y.b.active;
    return x.rank - y.rank;
  });
  return rotated.map((r) => r.b);
}

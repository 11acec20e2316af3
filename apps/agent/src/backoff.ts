export interface BackoffOptions {
  /** Delay ceiling for the first retry. */
  baseMs: number;
  /** No delay is ever longer than this. */
  capMs: number;
}

export const reconnectBackoff: BackoffOptions = { baseMs: 250, capMs: 10_000 };

/**
 * Delay before retry number `attempt` (0-based): exponential growth capped at `capMs`, with "equal
 * jitter" (half fixed, half random) so that many agents losing control at once do not reconnect in
 * lock-step, while each still waits at least half the nominal delay. `random` is injected so tests
 * are deterministic.
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = reconnectBackoff,
  random: () => number = Math.random,
): number {
  const exp = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  const half = exp / 2;
  return Math.round(half + random() * half);
}

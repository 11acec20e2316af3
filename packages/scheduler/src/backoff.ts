/**
 * Marathon's launch delay after consecutive failures: backoffSeconds * backoffFactor^(failures-1),
 * capped at maxLaunchDelaySeconds; no delay before the first failure.
 */
export function launchDelaySeconds(
  failures: number,
  app: { backoffSeconds: number; backoffFactor: number; maxLaunchDelaySeconds: number },
): number {
  const n = Math.floor(failures);
  if (!(n > 0) || !(app.backoffSeconds > 0)) return 0;
  const max = Math.max(0, app.maxLaunchDelaySeconds);
  // factor^(n-1) overflows to Infinity for long failure streaks; the cap still holds.
  const delay = app.backoffSeconds * Math.max(1, app.backoffFactor) ** (n - 1);
  return Math.min(max, delay);
}

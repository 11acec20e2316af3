/**
 * Health as the console shows it, from Marathon's task `healthCheckResults` and app
 * `tasksHealthy` / `tasksUnhealthy`. Pure and defensive: the API types the results as unknown[].
 */

export type HealthState = 'healthy' | 'unhealthy' | 'unknown' | 'none';

export interface TaskHealth {
  state: HealthState;
  /** Why the last failing check failed, when one fails. */
  cause: string | null;
  consecutiveFailures: number;
  lastSuccess: string | null;
  lastFailure: string | null;
}

interface CheckResult {
  alive?: unknown;
  consecutiveFailures?: unknown;
  lastSuccess?: unknown;
  lastFailure?: unknown;
  lastFailureCause?: unknown;
}

function asResult(v: unknown): CheckResult | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as CheckResult) : null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * Healthy when every check has answered alive; unhealthy as soon as one check fails; unknown
 * while a check has not answered yet (grace period, or a task that is not running). `none` when
 * the app defines no health checks and no result came.
 */
export function taskHealth(results: readonly unknown[] | undefined, checks: number): TaskHealth {
  const list = (results ?? []).map(asResult);
  const known = list.filter((r): r is CheckResult => r !== null);
  const failing = known.filter((r) => r.alive === false);
  const worst = failing.reduce<CheckResult | null>(
    (w, r) => (w === null || num(r.consecutiveFailures) > num(w.consecutiveFailures) ? r : w),
    null,
  );
  const base = {
    cause: worst ? (str(worst.lastFailureCause) ?? 'health check failed') : null,
    consecutiveFailures: worst ? num(worst.consecutiveFailures) : 0,
    lastSuccess: latest(known.map((r) => str(r.lastSuccess))),
    lastFailure: latest(known.map((r) => str(r.lastFailure))),
  };
  if (checks === 0 && known.length === 0) return { state: 'none', ...base };
  if (failing.length > 0) return { state: 'unhealthy', ...base };
  const expected = Math.max(checks, list.length);
  const alive = known.filter((r) => r.alive === true).length;
  return { state: alive === expected && expected > 0 ? 'healthy' : 'unknown', ...base };
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function latest(values: Array<string | null>): string | null {
  let best: string | null = null;
  for (const v of values) if (v !== null && (best === null || Date.parse(v) > Date.parse(best))) best = v;
  return best;
}

export interface AppHealth {
  /** False when the app defines no health checks: the column shows a dash. */
  checked: boolean;
  healthy: number;
  unhealthy: number;
  /** Running tasks whose checks have not answered yet. */
  unknown: number;
}

export function appHealth(app: {
  healthChecks?: unknown;
  tasksRunning: number;
  tasksHealthy: number;
  tasksUnhealthy: number;
}): AppHealth {
  const checked = Array.isArray(app.healthChecks) && app.healthChecks.length > 0;
  return {
    checked,
    healthy: app.tasksHealthy,
    unhealthy: app.tasksUnhealthy,
    unknown: Math.max(0, app.tasksRunning - app.tasksHealthy - app.tasksUnhealthy),
  };
}

/**
 * Sort value for a health column, ascending = worst first: apps with unhealthy tasks (by their
 * share, negative), then by the share of healthy tasks; apps without checks sort last (null).
 */
export function appHealthRank(h: AppHealth): number | null {
  if (!h.checked) return null;
  const total = h.healthy + h.unhealthy + h.unknown;
  if (total === 0) return 0;
  return h.unhealthy > 0 ? -h.unhealthy / total : h.healthy / total;
}

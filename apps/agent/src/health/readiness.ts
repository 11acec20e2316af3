/**
 * Readiness (Marathon's readinessChecks), as pure functions: a check is ready when its last HTTP
 * response had a status in `httpStatusCodesForReady`; a task is ready when every check is.
 */

export interface ReadinessCheckResult {
  name: string;
  ready: boolean;
  /** The last HTTP response, when one arrived. */
  lastResponse?: { status: number };
  /** Why no response arrived (connection refused, timeout). Not reported. */
  error?: string;
}

export function readyStatus(status: number, httpStatusCodesForReady: readonly number[]): boolean {
  return httpStatusCodesForReady.includes(status);
}

export interface ReadinessSummary {
  ready: boolean;
  results: Array<{ name: string; ready: boolean; lastResponse?: { status: number } }>;
}

/**
 * The task's readiness once every check has a result (undefined before: nothing to report yet).
 * The `error` of a result stays local.
 */
export function summarizeReadiness(
  latest: ReadonlyArray<ReadinessCheckResult | undefined>,
): ReadinessSummary | undefined {
  if (latest.length === 0 || latest.some((r) => r === undefined)) return undefined;
  const results = (latest as ReadinessCheckResult[]).map((r) => ({
    name: r.name,
    ready: r.ready,
    ...(r.lastResponse ? { lastResponse: { status: r.lastResponse.status } } : {}),
  }));
  return { ready: results.every((r) => r.ready), results };
}

/** Whether `next` must be reported after `prev` was: first summary, or any ready flag changed. */
export function readinessChanged(prev: ReadinessSummary | undefined, next: ReadinessSummary): boolean {
  if (!prev) return true;
  if (prev.ready !== next.ready || prev.results.length !== next.results.length) return true;
  return next.results.some((r, i) => prev.results[i]?.ready !== r.ready || prev.results[i]?.name !== r.name);
}

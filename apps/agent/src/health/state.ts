/**
 * Marathon's health bookkeeping for one check of one task, as pure functions (time is an argument).
 *
 * - A task's health is unknown until a result counts; one counted failure makes it unhealthy, one
 *   success healthy again (Marathon's `alive`: last success after last failure).
 * - Failures are ignored while the task is within `gracePeriodSeconds` of starting and has never
 *   been healthy; after the first success, or once the grace period is over, every failure counts.
 * - With `maxConsecutiveFailures` > 0, the failure that brings the consecutive count to it kills
 *   the task (0: never kill).
 */

export type ProbeOutcome =
  | { kind: 'healthy' }
  | { kind: 'unhealthy'; message: string }
  /** Discarded result (an HTTP 1xx with ignoreHttp1xx): health stays as it was. */
  | { kind: 'ignored'; message?: string };

export interface CheckHealth {
  /** Undefined while unknown. */
  healthy: boolean | undefined;
  consecutiveFailures: number;
  /** A success was seen since the task started: the grace period no longer hides failures. */
  everHealthy: boolean;
  /** Why the last counted failure failed. */
  lastFailure?: string;
}

export const initialCheckHealth: CheckHealth = {
  healthy: undefined,
  consecutiveFailures: 0,
  everHealthy: false,
};

export interface HealthContext {
  nowMs: number;
  /** When the task started running. */
  startedAtMs: number;
  gracePeriodSeconds: number;
  maxConsecutiveFailures: number;
}

/** A report the agent sends: the health of the check became known or changed, or a kill starts. */
export interface HealthChange {
  healthy: boolean;
  consecutiveFailures: number;
  message?: string;
  killing: boolean;
}

export interface HealthStep {
  next: CheckHealth;
  /** Present when something must be reported. */
  change?: HealthChange;
  /** The task must be killed for failing its check too often. */
  kill: boolean;
}

export function withinGracePeriod(ctx: HealthContext): boolean {
  return ctx.nowMs < ctx.startedAtMs + ctx.gracePeriodSeconds * 1000;
}

export function applyProbe(prev: CheckHealth, outcome: ProbeOutcome, ctx: HealthContext): HealthStep {
  if (outcome.kind === 'ignored') return { next: prev, kill: false };
  if (outcome.kind === 'healthy') {
    const next: CheckHealth = { healthy: true, consecutiveFailures: 0, everHealthy: true };
    return {
      next,
      kill: false,
      ...(prev.healthy !== true ? { change: { healthy: true, consecutiveFailures: 0, killing: false } } : {}),
    };
  }
  if (!prev.everHealthy && withinGracePeriod(ctx)) return { next: prev, kill: false };
  const consecutiveFailures = prev.consecutiveFailures + 1;
  const next: CheckHealth = {
    healthy: false,
    consecutiveFailures,
    everHealthy: prev.everHealthy,
    lastFailure: outcome.message,
  };
  const kill = ctx.maxConsecutiveFailures > 0 && consecutiveFailures >= ctx.maxConsecutiveFailures;
  const report = prev.healthy !== false || kill;
  return {
    next,
    kill,
    ...(report
      ? { change: { healthy: false, consecutiveFailures, message: outcome.message, killing: kill } }
      : {}),
  };
}

/** The kill message (TASK_KILLING / TASK_KILLED) for a task killed by its health check. */
export function healthKillMessage(consecutiveFailures: number): string {
  return `killed: failed ${consecutiveFailures} consecutive health checks`;
}

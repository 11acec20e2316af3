import type { TaskHealth, TaskPort, TaskReadiness } from '@atoll/spec';
import type { Logger } from '../logger';
import { probePort, type TaskChecks } from './checks';
import type { Probes } from './probes';
import {
  readinessChanged,
  summarizeReadiness,
  type ReadinessCheckResult,
  type ReadinessSummary,
} from './readiness';
import {
  applyProbe,
  healthKillMessage,
  initialCheckHealth,
  type CheckHealth,
  type ProbeOutcome,
} from './state';

/** The clock and timers a monitor runs on; tests inject a manual one. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Floors that keep a check of 0 seconds from spinning. */
export const MIN_INTERVAL_MS = 100;
export const MIN_TIMEOUT_MS = 100;
/** A probe that overruns its own timeout by this much counts as failed (probers bound themselves). */
const PROBE_SLACK_MS = 5_000;

export interface HealthMonitorOptions {
  taskId: string;
  checks: TaskChecks;
  /** The task's ports as bound (host ports resolved). */
  ports: readonly TaskPort[];
  /** When the task started running: delays and the grace period count from here. */
  startedAtMs: number;
  probes: Probes;
  onHealth(msg: TaskHealth): void;
  onReadiness(msg: TaskReadiness): void;
  /** The task failed a health check `maxConsecutiveFailures` times; the monitor has stopped. */
  onKill(reason: string): void;
  timers?: Timers;
  log?: Logger;
}

/**
 * Runs one task's health and readiness checks next to it, from RUNNING until `stop()`.
 *
 * Health check i: first probe `delaySeconds` after the task started, then one every
 * `intervalSeconds` (counted from the start of the previous probe, never overlapping), each bounded
 * by `timeoutSeconds`. Results follow Marathon's rules (see state.ts); a `taskHealth` is sent when
 * a check's health becomes known or flips, and with `killing` when the task must die.
 *
 * Readiness: every check probed from RUNNING, every `intervalSeconds`; a `taskReadiness` is sent
 * once all checks have a result and whenever a check's readiness flips. Probing continues after
 * the task is ready, so a later change is seen.
 */
export class HealthMonitor {
  private readonly timers: Timers;
  private readonly handles = new Set<unknown>();
  private readonly health: CheckHealth[];
  private readonly readiness: Array<ReadinessCheckResult | undefined>;
  private readonly lastHealth: Array<TaskHealth | undefined>;
  private lastReadiness: { summary: ReadinessSummary; msg: TaskReadiness } | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly opts: HealthMonitorOptions) {
    this.timers = opts.timers ?? realTimers;
    this.health = opts.checks.healthChecks.map(() => ({ ...initialCheckHealth }));
    this.lastHealth = opts.checks.healthChecks.map(() => undefined);
    this.readiness = opts.checks.readinessChecks.map(() => undefined);
  }

  get taskId(): string {
    return this.opts.taskId;
  }

  get running(): boolean {
    return this.started && !this.stopped;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const now = this.timers.now();
    this.opts.checks.healthChecks.forEach((check, i) => {
      const first = this.opts.startedAtMs + check.delaySeconds * 1000;
      this.later(Math.max(0, first - now), () => void this.probeHealth(i));
    });
    this.opts.checks.readinessChecks.forEach((_, j) => this.later(0, () => void this.probeReadiness(j)));
  }

  stop(): void {
    this.stopped = true;
    for (const h of this.handles) this.timers.clearTimeout(h);
    this.handles.clear();
  }

  /** The latest known health of each check and the latest readiness, to send again after a reconnect. */
  snapshot(): Array<TaskHealth | TaskReadiness> {
    const out: Array<TaskHealth | TaskReadiness> = [];
    for (const h of this.lastHealth) if (h) out.push(h);
    if (this.lastReadiness) out.push(this.lastReadiness.msg);
    return out;
  }

  /** Current health bookkeeping per check (tests, debugging). */
  healthState(): readonly CheckHealth[] {
    return this.health.map((h) => ({ ...h }));
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const handle = this.timers.setTimeout(() => {
      this.handles.delete(handle);
      if (!this.stopped) fn();
    }, ms);
    this.handles.add(handle);
  }

  /** The probe, or a failure if it overruns its timeout by far (a prober must not hold a check). */
  private bounded<T>(probe: Promise<T>, timeoutMs: number, overrun: T): Promise<T> {
    return new Promise<T>((resolve) => {
      let done = false;
      const settle = (v: T) => {
        if (done) return;
        done = true;
        this.timers.clearTimeout(handle);
        this.handles.delete(handle);
        resolve(v);
      };
      const handle = this.timers.setTimeout(() => settle(overrun), timeoutMs + PROBE_SLACK_MS);
      this.handles.add(handle);
      probe.then(settle, () => settle(overrun));
    });
  }

  private async probeHealth(i: number): Promise<void> {
    const check = this.opts.checks.healthChecks[i];
    const prev = this.health[i];
    if (!check || !prev || this.stopped) return;
    const startedMs = this.timers.now();
    const timeoutMs = Math.max(check.timeoutSeconds * 1000, MIN_TIMEOUT_MS);
    const overrun: ProbeOutcome = { kind: 'unhealthy', message: 'the check did not finish in time' };
    let outcome: ProbeOutcome;
    try {
      outcome = await this.bounded(
        this.opts.probes.health(check, { port: probePort(check, this.opts.ports), timeoutMs }),
        timeoutMs,
        overrun,
      );
    } catch {
      outcome = overrun;
    }
    if (this.stopped) return;
    const nowMs = this.timers.now();
    const step = applyProbe(this.health[i] ?? prev, outcome, {
      nowMs,
      startedAtMs: this.opts.startedAtMs,
      gracePeriodSeconds: check.gracePeriodSeconds,
      maxConsecutiveFailures: check.maxConsecutiveFailures,
    });
    this.health[i] = step.next;
    if (step.change) {
      const msg: TaskHealth = {
        type: 'taskHealth',
        taskId: this.opts.taskId,
        checkIndex: i,
        healthy: step.change.healthy,
        consecutiveFailures: step.change.consecutiveFailures,
        ...(step.change.message !== undefined ? { message: step.change.message } : {}),
        killing: step.change.killing,
        at: new Date(nowMs).toISOString(),
      };
      // A re-sent snapshot describes the state, not the kill order.
      this.lastHealth[i] = { ...msg, killing: false };
      this.opts.log?.info(
        {
          taskId: this.opts.taskId,
          checkIndex: i,
          healthy: msg.healthy,
          failures: msg.consecutiveFailures,
          reason: msg.message,
        },
        msg.killing ? 'health check failed too often; killing the task' : 'task health changed',
      );
      this.opts.onHealth(msg);
    }
    if (step.kill) {
      this.stop();
      this.opts.onKill(healthKillMessage(step.next.consecutiveFailures));
      return;
    }
    const intervalMs = Math.max(check.intervalSeconds * 1000, MIN_INTERVAL_MS);
    this.later(Math.max(0, intervalMs - (nowMs - startedMs)), () => void this.probeHealth(i));
  }

  private async probeReadiness(j: number): Promise<void> {
    const check = this.opts.checks.readinessChecks[j];
    if (!check || this.stopped) return;
    const startedMs = this.timers.now();
    const timeoutMs = Math.max(check.timeoutSeconds * 1000, MIN_TIMEOUT_MS);
    const overrun: ReadinessCheckResult = {
      name: check.name,
      ready: false,
      error: 'the check did not finish in time',
    };
    let result: ReadinessCheckResult;
    try {
      result = await this.bounded(
        this.opts.probes.readiness(check, { port: probePort(check, this.opts.ports), timeoutMs }),
        timeoutMs,
        overrun,
      );
    } catch {
      result = overrun;
    }
    if (this.stopped) return;
    const nowMs = this.timers.now();
    this.readiness[j] = result;
    const summary = summarizeReadiness(this.readiness);
    if (summary && readinessChanged(this.lastReadiness?.summary, summary)) {
      const msg: TaskReadiness = {
        type: 'taskReadiness',
        taskId: this.opts.taskId,
        ready: summary.ready,
        results: summary.results,
        at: new Date(nowMs).toISOString(),
      };
      this.lastReadiness = { summary, msg };
      this.opts.log?.info({ taskId: this.opts.taskId, ready: msg.ready }, 'task readiness changed');
      this.opts.onReadiness(msg);
    }
    const intervalMs = Math.max(check.intervalSeconds * 1000, MIN_INTERVAL_MS);
    this.later(Math.max(0, intervalMs - (nowMs - startedMs)), () => void this.probeReadiness(j));
  }
}

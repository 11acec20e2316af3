import {
  healthCheckSpecSchema,
  readinessCheckSpecSchema,
  type HealthCheckSpec,
  type ReadinessCheckSpec,
  type TaskHealth,
  type TaskReadiness,
} from '@atoll/spec';
import { describe, expect, it } from 'vitest';
import type { TaskChecks } from './checks';
import { HealthMonitor, type Timers } from './monitor';
import type { ProbeTarget, Probes } from './probes';
import type { ReadinessCheckResult } from './readiness';
import type { ProbeOutcome } from './state';

/** A clock that only moves when told to; due callbacks run in time order. */
class ManualTimers implements Timers {
  private t = 0;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.due.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  get pending(): number {
    return this.due.size;
  }

  /** Moves the clock forward by `ms`, running what falls due (and letting probes settle). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.due)
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.due.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function healthCheck(overrides: Partial<HealthCheckSpec> = {}): HealthCheckSpec {
  return healthCheckSpecSchema.parse({
    protocol: 'HTTP',
    path: '/health',
    port: 31000,
    gracePeriodSeconds: 10,
    intervalSeconds: 2,
    timeoutSeconds: 1,
    maxConsecutiveFailures: 3,
    delaySeconds: 5,
    ...overrides,
  });
}

function readinessCheck(overrides: Partial<ReadinessCheckSpec> = {}): ReadinessCheckSpec {
  return readinessCheckSpecSchema.parse({
    name: 'ready',
    protocol: 'HTTP',
    path: '/ready',
    port: 31000,
    intervalSeconds: 3,
    timeoutSeconds: 1,
    httpStatusCodesForReady: [200],
    ...overrides,
  });
}

/** Probes that answer from scripts and note when (clock time) they were asked. */
function scripted(timers: ManualTimers, health: ProbeOutcome[][], readiness: number[][] = []) {
  const healthCalls: Array<{ check: number; at: number; target: ProbeTarget }> = [];
  const readinessCalls: Array<{ check: number; at: number }> = [];
  const probes: Probes = {
    health(check, target) {
      const i = checks.healthChecks.indexOf(check);
      healthCalls.push({ check: i, at: timers.now(), target });
      return Promise.resolve(health[i]?.shift() ?? { kind: 'healthy' });
    },
    readiness(check) {
      const j = checks.readinessChecks.indexOf(check);
      readinessCalls.push({ check: j, at: timers.now() });
      const status = readiness[j]?.shift() ?? 200;
      const r: ReadinessCheckResult = {
        name: check.name,
        ready: check.httpStatusCodesForReady.includes(status),
        lastResponse: { status },
      };
      return Promise.resolve(r);
    },
  };
  let checks: TaskChecks = { healthChecks: [], readinessChecks: [], killGracePeriodSeconds: 3 };
  return {
    probes,
    healthCalls,
    readinessCalls,
    use(c: TaskChecks) {
      checks = c;
    },
  };
}

function monitorFor(checks: TaskChecks, timers: ManualTimers, probes: Probes, startedAtMs = 0) {
  const health: TaskHealth[] = [];
  const readiness: TaskReadiness[] = [];
  const kills: string[] = [];
  const monitor = new HealthMonitor({
    taskId: 'task-1',
    checks,
    ports: [{ hostPort: 32000, containerPort: 80, protocol: 'tcp' }],
    startedAtMs,
    probes,
    timers,
    onHealth: (m) => health.push(m),
    onReadiness: (m) => readiness.push(m),
    onKill: (reason) => kills.push(reason),
  });
  return { monitor, health, readiness, kills };
}

const bad: ProbeOutcome = { kind: 'unhealthy', message: 'HTTP 404' };
const good: ProbeOutcome = { kind: 'healthy' };

describe('HealthMonitor scheduling', () => {
  it('probes first after delaySeconds, then every intervalSeconds, and reports only changes', async () => {
    const timers = new ManualTimers();
    const s = scripted(timers, [[good, good, bad, bad, good]]);
    const checks = {
      healthChecks: [healthCheck({ maxConsecutiveFailures: 0 })],
      readinessChecks: [],
      killGracePeriodSeconds: 3,
    };
    s.use(checks);
    const { monitor, health } = monitorFor(checks, timers, s.probes);
    monitor.start();
    await timers.advance(4_999);
    expect(s.healthCalls).toEqual([]);
    await timers.advance(1);
    await timers.advance(8_000);
    expect(s.healthCalls.map((c) => c.at)).toEqual([5_000, 7_000, 9_000, 11_000, 13_000]);
    expect(s.healthCalls[0]?.target).toEqual({ port: 31000, timeoutMs: 1_000 });
    expect(health.map((h) => [h.healthy, h.consecutiveFailures, h.killing, h.checkIndex])).toEqual([
      [true, 0, false, 0],
      [false, 1, false, 0],
      [true, 0, false, 0],
    ]);
    expect(health[1]).toMatchObject({
      taskId: 'task-1',
      message: 'HTTP 404',
      at: new Date(9_000).toISOString(),
    });
    monitor.stop();
    expect(timers.pending).toBe(0);
  });

  it('ignores failures in the grace period, then kills at maxConsecutiveFailures and stops probing', async () => {
    const timers = new ManualTimers();
    const s = scripted(timers, [[bad, bad, bad, bad, bad, bad, bad, bad]]);
    const checks = {
      healthChecks: [healthCheck({ delaySeconds: 0, gracePeriodSeconds: 5, maxConsecutiveFailures: 2 })],
      readinessChecks: [],
      killGracePeriodSeconds: 3,
    };
    s.use(checks);
    const { monitor, health, kills } = monitorFor(checks, timers, s.probes);
    monitor.start();
    await timers.advance(30_000);
    // Probes at 0, 2, 4 fall in the grace period (unknown); 6 and 8 count.
    expect(s.healthCalls.map((c) => c.at)).toEqual([0, 2_000, 4_000, 6_000, 8_000]);
    expect(health.map((h) => [h.healthy, h.consecutiveFailures, h.killing])).toEqual([
      [false, 1, false],
      [false, 2, true],
    ]);
    expect(kills).toEqual(['killed: failed 2 consecutive health checks']);
    expect(monitor.running).toBe(false);
    expect(timers.pending).toBe(0);
  });

  it('treats a re-adopted task that started long ago as past its delay and grace period', async () => {
    const timers = new ManualTimers();
    await timers.advance(3_600_000);
    const s = scripted(timers, [[bad]]);
    const checks = {
      healthChecks: [healthCheck({ maxConsecutiveFailures: 1 })],
      readinessChecks: [],
      killGracePeriodSeconds: 3,
    };
    s.use(checks);
    const { monitor, kills, health } = monitorFor(checks, timers, s.probes, 0);
    monitor.start();
    await timers.advance(0);
    expect(s.healthCalls.map((c) => c.at)).toEqual([3_600_000]);
    expect(health).toEqual([expect.objectContaining({ healthy: false, killing: true })]);
    expect(kills).toHaveLength(1);
  });

  it('runs several checks independently, reporting each by its index', async () => {
    const timers = new ManualTimers();
    const s = scripted(timers, [[good], [bad]]);
    const checks = {
      healthChecks: [
        healthCheck({ delaySeconds: 0, gracePeriodSeconds: 0, maxConsecutiveFailures: 0 }),
        healthCheck({
          protocol: 'TCP',
          port: 0,
          delaySeconds: 1,
          gracePeriodSeconds: 0,
          maxConsecutiveFailures: 0,
        }),
      ],
      readinessChecks: [],
      killGracePeriodSeconds: 3,
    };
    s.use(checks);
    const { monitor, health } = monitorFor(checks, timers, s.probes);
    monitor.start();
    await timers.advance(1_000);
    expect(health.map((h) => [h.checkIndex, h.healthy])).toEqual([
      [0, true],
      [1, false],
    ]);
    // Port 0: the task's first bound port.
    expect(s.healthCalls.find((c) => c.check === 1)?.target.port).toBe(32000);
    expect(monitor.snapshot()).toEqual([
      expect.objectContaining({ type: 'taskHealth', checkIndex: 0, healthy: true }),
      expect.objectContaining({ type: 'taskHealth', checkIndex: 1, healthy: false, killing: false }),
    ]);
    monitor.stop();
  });

  it('fails a probe that never settles, once its timeout is far exceeded', async () => {
    const timers = new ManualTimers();
    const checks = {
      healthChecks: [healthCheck({ delaySeconds: 0, gracePeriodSeconds: 0, maxConsecutiveFailures: 0 })],
      readinessChecks: [],
      killGracePeriodSeconds: 3,
    };
    const probes: Probes = {
      health: () => new Promise<ProbeOutcome>(() => undefined),
      readiness: () => new Promise<ReadinessCheckResult>(() => undefined),
    };
    const { monitor, health } = monitorFor(checks, timers, probes);
    monitor.start();
    await timers.advance(10_000);
    expect(health).toEqual([
      expect.objectContaining({ healthy: false, message: 'the check did not finish in time' }),
    ]);
    monitor.stop();
  });
});

describe('HealthMonitor readiness', () => {
  it('probes from RUNNING every intervalSeconds and reports the first result and each flip', async () => {
    const timers = new ManualTimers();
    const s = scripted(timers, [], [[503, 503, 200, 200, 503]]);
    const checks = { healthChecks: [], readinessChecks: [readinessCheck()], killGracePeriodSeconds: 3 };
    s.use(checks);
    const { monitor, readiness, health } = monitorFor(checks, timers, s.probes);
    monitor.start();
    await timers.advance(12_000);
    expect(s.readinessCalls.map((c) => c.at)).toEqual([0, 3_000, 6_000, 9_000, 12_000]);
    expect(readiness.map((r) => [r.ready, r.results])).toEqual([
      [false, [{ name: 'ready', ready: false, lastResponse: { status: 503 } }]],
      [true, [{ name: 'ready', ready: true, lastResponse: { status: 200 } }]],
      [false, [{ name: 'ready', ready: false, lastResponse: { status: 503 } }]],
    ]);
    expect(health).toEqual([]);
    monitor.stop();
  });

  it('is ready only when every check is', async () => {
    const timers = new ManualTimers();
    const s = scripted(
      timers,
      [],
      [
        [200, 200],
        [503, 200],
      ],
    );
    const checks = {
      healthChecks: [],
      readinessChecks: [readinessCheck({ name: 'a' }), readinessCheck({ name: 'b' })],
      killGracePeriodSeconds: 3,
    };
    s.use(checks);
    const { monitor, readiness } = monitorFor(checks, timers, s.probes);
    monitor.start();
    await timers.advance(3_000);
    expect(readiness.map((r) => r.ready)).toEqual([false, true]);
    expect(readiness[1]?.results.map((r) => r.name)).toEqual(['a', 'b']);
    monitor.stop();
  });

  it('sends nothing without checks', async () => {
    const timers = new ManualTimers();
    const s = scripted(timers, []);
    const checks = { healthChecks: [], readinessChecks: [], killGracePeriodSeconds: 3 };
    const { monitor, readiness, health } = monitorFor(checks, timers, s.probes);
    monitor.start();
    await timers.advance(60_000);
    expect([...readiness, ...health]).toEqual([]);
    expect(timers.pending).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import {
  applyProbe,
  healthKillMessage,
  initialCheckHealth,
  type CheckHealth,
  type HealthContext,
  type ProbeOutcome,
} from './state';

const ok: ProbeOutcome = { kind: 'healthy' };
const bad: ProbeOutcome = { kind: 'unhealthy', message: 'HTTP 404' };
const ignored: ProbeOutcome = { kind: 'ignored', message: 'HTTP 102' };

/** Task started at 0 with a 10 s grace period; probes at the given seconds. */
function run(outcomes: Array<[number, ProbeOutcome]>, max = 3, grace = 10) {
  let state: CheckHealth = initialCheckHealth;
  const steps = outcomes.map(([atSeconds, outcome]) => {
    const ctx: HealthContext = {
      nowMs: atSeconds * 1000,
      startedAtMs: 0,
      gracePeriodSeconds: grace,
      maxConsecutiveFailures: max,
    };
    const step = applyProbe(state, outcome, ctx);
    state = step.next;
    return step;
  });
  return { steps, state };
}

describe('applyProbe (Marathon health semantics)', () => {
  it('stays unknown while failures fall in the grace period before any success', () => {
    const { steps, state } = run([
      [1, bad],
      [2, bad],
      [3, bad],
      [4, bad],
    ]);
    expect(steps.every((s) => s.change === undefined && !s.kill)).toBe(true);
    expect(state).toEqual(initialCheckHealth);
  });

  it('reports healthy at the first success, and counts failures from then on even within the grace period', () => {
    const { steps } = run([
      [1, bad],
      [2, ok],
      [3, bad],
      [4, bad],
      [5, bad],
    ]);
    expect(steps.map((s) => s.change)).toEqual([
      undefined,
      { healthy: true, consecutiveFailures: 0, killing: false },
      { healthy: false, consecutiveFailures: 1, message: 'HTTP 404', killing: false },
      undefined,
      { healthy: false, consecutiveFailures: 3, message: 'HTTP 404', killing: true },
    ]);
    expect(steps.map((s) => s.kill)).toEqual([false, false, false, false, true]);
  });

  it('counts failures once the grace period is over, reporting the first and the kill', () => {
    const { steps, state } = run(
      [
        [9, bad],
        [10, bad],
        [11, bad],
      ],
      2,
    );
    expect(steps.map((s) => s.change?.healthy)).toEqual([undefined, false, false]);
    expect(steps.map((s) => s.change?.killing)).toEqual([undefined, false, true]);
    expect(state.consecutiveFailures).toBe(2);
    expect(healthKillMessage(state.consecutiveFailures)).toBe('killed: failed 2 consecutive health checks');
  });

  it('never kills with maxConsecutiveFailures 0, and reports only changes', () => {
    const { steps, state } = run(
      [
        [20, bad],
        [21, bad],
        [22, bad],
        [23, ok],
        [24, ok],
        [25, bad],
      ],
      0,
    );
    expect(steps.some((s) => s.kill)).toBe(false);
    expect(steps.map((s) => s.change?.healthy)).toEqual([
      false,
      undefined,
      undefined,
      true,
      undefined,
      false,
    ]);
    expect(state).toMatchObject({ healthy: false, consecutiveFailures: 1, everHealthy: true });
  });

  it('a success resets the consecutive failures', () => {
    const { steps } = run(
      [
        [20, bad],
        [21, bad],
        [22, ok],
        [23, bad],
        [24, bad],
      ],
      3,
    );
    expect(steps.some((s) => s.kill)).toBe(false);
  });

  it('ignored results change nothing', () => {
    const { steps, state } = run([
      [20, ok],
      [21, ignored],
      [22, ignored],
    ]);
    expect(steps.map((s) => s.change?.healthy)).toEqual([true, undefined, undefined]);
    expect(state).toMatchObject({ healthy: true, consecutiveFailures: 0 });
  });

  it('with no grace period the first failure counts', () => {
    const { steps } = run([[0, bad]], 1, 0);
    expect(steps[0]).toMatchObject({
      kill: true,
      change: { healthy: false, consecutiveFailures: 1, killing: true },
    });
  });
});

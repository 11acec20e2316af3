import { describe, expect, it } from 'vitest';
import { appHealth, appHealthRank, taskHealth } from './health';

const ok = {
  alive: true,
  consecutiveFailures: 0,
  lastSuccess: '2024-01-01T00:00:05.000Z',
  lastFailure: null,
  lastFailureCause: null,
};
const bad = {
  alive: false,
  consecutiveFailures: 2,
  lastSuccess: null,
  lastFailure: '2024-01-01T00:00:06.000Z',
  lastFailureCause: 'HTTP 404',
};

describe('taskHealth', () => {
  it('is none without checks or results', () => {
    expect(taskHealth([], 0).state).toBe('none');
    expect(taskHealth(undefined, 0).state).toBe('none');
  });

  it('is unknown while a defined check has not answered', () => {
    expect(taskHealth([], 1).state).toBe('unknown');
    expect(taskHealth([ok], 2).state).toBe('unknown');
    // Results are stored by check index; a hole serialises as null.
    expect(taskHealth([null, ok], 2).state).toBe('unknown');
    expect(taskHealth([{ alive: undefined }], 1).state).toBe('unknown');
  });

  it('is healthy when every check answers alive', () => {
    const h = taskHealth([ok, ok], 2);
    expect(h.state).toBe('healthy');
    expect(h.cause).toBeNull();
    expect(h.lastSuccess).toBe(ok.lastSuccess);
  });

  it('is unhealthy as soon as one check fails, with the cause', () => {
    const h = taskHealth([ok, bad], 2);
    expect(h).toMatchObject({
      state: 'unhealthy',
      cause: 'HTTP 404',
      consecutiveFailures: 2,
      lastFailure: bad.lastFailure,
    });
    expect(taskHealth([{ alive: false }], 1).cause).toBe('health check failed');
  });

  it('trusts results even when the definition no longer lists checks', () => {
    expect(taskHealth([ok], 0).state).toBe('healthy');
  });
});

describe('appHealth', () => {
  it('counts unknown as running tasks without a verdict', () => {
    expect(appHealth({ healthChecks: [{}], tasksRunning: 4, tasksHealthy: 2, tasksUnhealthy: 1 })).toEqual({
      checked: true,
      healthy: 2,
      unhealthy: 1,
      unknown: 1,
    });
    expect(appHealth({ healthChecks: [], tasksRunning: 1, tasksHealthy: 0, tasksUnhealthy: 0 }).checked).toBe(
      false,
    );
  });

  it('ranks unhealthy apps first and unchecked apps last', () => {
    const rank = (healthy: number, unhealthy: number, checks = 1) =>
      appHealthRank(
        appHealth({
          healthChecks: Array(checks).fill({}),
          tasksRunning: healthy + unhealthy,
          tasksHealthy: healthy,
          tasksUnhealthy: unhealthy,
        }),
      );
    expect(rank(1, 1)!).toBeLessThan(rank(2, 0)!);
    expect(rank(0, 2)!).toBeLessThan(rank(1, 1)!);
    expect(rank(2, 0, 0)).toBeNull();
  });
});

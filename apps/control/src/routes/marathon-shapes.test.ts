import type { appsService } from '@atoll/api';
import { describe, expect, it } from 'vitest';
import {
  listEmbed,
  marathonApp,
  marathonTask,
  matchesLabelSelector,
  resolveAppEmbed,
  singleEmbed,
  streamsEvent,
} from './marathon-shapes';

const T0 = '2026-01-01T00:00:00.000Z';

function makeTask(over: Partial<appsService.MarathonTask> = {}): appsService.MarathonTask {
  return {
    id: 'web.1',
    appId: '/web',
    host: '10.0.0.1',
    ports: [31000],
    servicePorts: [10000],
    stagedAt: T0,
    startedAt: '2026-01-01T00:00:10.000Z',
    version: T0,
    state: 'TASK_RUNNING',
    slaveId: 'node-1',
    agentId: 'node-1',
    healthCheckResults: [],
    portMappings: [{ hostPort: 31000, containerPort: 80, protocol: 'tcp' }],
    message: null,
    ...over,
  };
}

function makeApp(over: Partial<appsService.AppView> = {}): appsService.AppView {
  return {
    id: '/web',
    cmd: 'sleep 1',
    instances: 1,
    cpus: 0.1,
    mem: 32,
    disk: 0,
    version: T0,
    versionInfo: { lastScalingAt: T0, lastConfigChangeAt: T0 },
    tasksStaged: 0,
    tasksRunning: 1,
    tasksHealthy: 0,
    tasksUnhealthy: 0,
    deployments: [],
    tasks: [makeTask()],
    atoll: { status: 'Running', placementIssue: null, delayUntil: null, backoffFailures: 0 },
    ...over,
  };
}

describe('resolveAppEmbed', () => {
  it.each([
    ['app. prefix (marathon-python)', ['app.tasks'], ['tasks', 'deployments']],
    ['apps. prefix', ['apps.tasks'], ['tasks', 'deployments']],
    ['group.apps. prefix', ['group.apps.lastTaskFailure'], ['lastTaskFailure']],
    ['no prefix', ['taskStats'], ['taskStats']],
    ['failures', ['apps.failures'], ['tasks', 'lastTaskFailure', 'deployments']],
    ['unknown values are ignored', ['apps.bogus', 'app.readiness'], ['readiness']],
  ])('%s', (_name, values, expected) => {
    expect([...resolveAppEmbed(values)].sort()).toEqual([...expected].sort());
  });

  it('lists embed counts and deployments always; one app also its tasks and last failure', () => {
    expect([...listEmbed([])].sort()).toEqual(['counts', 'deployments']);
    expect([...singleEmbed([])].sort()).toEqual(['counts', 'deployments', 'lastTaskFailure', 'tasks']);
  });
});

describe('marathonTask', () => {
  it("keeps Marathon's EnrichedTask fields only", () => {
    const task = marathonTask(
      makeTask({
        healthCheckResults: [null, { alive: true, consecutiveFailures: 0, taskId: 'web.1' }],
      }),
    );
    expect(Object.keys(task).sort()).toEqual(
      [
        'appId',
        'healthCheckResults',
        'host',
        'id',
        'ports',
        'servicePorts',
        'slaveId',
        'stagedAt',
        'startedAt',
        'state',
        'version',
      ].sort(),
    );
    // A check that has not reported leaves no null behind; instanceId as Marathon 1.4+.
    expect(task.healthCheckResults).toEqual([
      { alive: true, consecutiveFailures: 0, taskId: 'web.1', instanceId: 'web.1' },
    ]);
  });

  it('leaves startedAt out until the task started', () => {
    expect(marathonTask(makeTask({ startedAt: null }))).not.toHaveProperty('startedAt');
  });
});

describe('marathonApp', () => {
  const now = new Date('2026-01-01T00:01:10.000Z');

  it('drops Atoll’s additions and embeds only what was asked', () => {
    const app = marathonApp(
      makeApp({ lastTaskFailure: { taskId: 'web.0', state: 'TASK_FAILED' } }),
      listEmbed([]),
      now,
    );
    expect(app).not.toHaveProperty('atoll');
    expect(app).not.toHaveProperty('tasks');
    expect(app).not.toHaveProperty('lastTaskFailure');
    expect(app).toMatchObject({ tasksRunning: 1, deployments: [] });
  });

  it('embeds the last failure with its app id, and a message even when none was recorded', () => {
    const app = marathonApp(
      makeApp({ lastTaskFailure: { taskId: 'web.0', state: 'TASK_FAILED', message: null } }),
      singleEmbed([]),
      now,
    );
    expect(app.lastTaskFailure).toEqual({
      appId: '/web',
      taskId: 'web.0',
      state: 'TASK_FAILED',
      message: '',
    });
  });

  it('computes taskStats: counts and the life time of started tasks', () => {
    const app = marathonApp(makeApp(), resolveAppEmbed(['app.taskStats']), now);
    expect(app.taskStats).toEqual({
      startedAfterLastScaling: {
        stats: {
          counts: { staged: 0, running: 1, healthy: 0, unhealthy: 0 },
          lifeTime: { averageSeconds: 60, medianSeconds: 60 },
        },
      },
      withLatestConfig: {
        stats: {
          counts: { staged: 0, running: 1, healthy: 0, unhealthy: 0 },
          lifeTime: { averageSeconds: 60, medianSeconds: 60 },
        },
      },
      totalSummary: {
        stats: {
          counts: { staged: 0, running: 1, healthy: 0, unhealthy: 0 },
          lifeTime: { averageSeconds: 60, medianSeconds: 60 },
        },
      },
    });
  });
});

describe('matchesLabelSelector', () => {
  const labels = { team: 'atoll', tier: 'web' };
  it.each([
    ['team', true],
    ['owner', false],
    ['team==atoll', true],
    ['team==other', false],
    ['team!=other', true],
    ['tier in (web, db)', true],
    ['tier notin (web, db)', false],
    ['owner notin (x)', true],
    ['team==atoll,tier in (db)', false],
    ['team==atoll, tier', true],
  ])('%s → %s', (selector, expected) => {
    expect(matchesLabelSelector(selector, labels)).toBe(expected);
  });
});

describe('streamsEvent', () => {
  it("streams Marathon's event types; Atoll's only when asked", () => {
    const none = new Set<string>();
    expect(streamsEvent('status_update_event', { wanted: none, atollEvents: false })).toBe(true);
    expect(streamsEvent('node_drained', { wanted: none, atollEvents: false })).toBe(false);
    expect(streamsEvent('node_drained', { wanted: none, atollEvents: true })).toBe(true);
    expect(streamsEvent('node_drained', { wanted: new Set(['node_drained']), atollEvents: false })).toBe(
      true,
    );
    expect(
      streamsEvent('status_update_event', { wanted: new Set(['node_drained']), atollEvents: false }),
    ).toBe(false);
  });
});

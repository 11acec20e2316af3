import { parseAppDefinition, type AppDefinition } from '@atoll/spec';
import { describe, expect, it } from 'vitest';
import { decide, KILL_RESEND_MS, type AppState, type NodeState, type ReconcileInput, type TaskStateRow } from './decide';

const NOW = new Date('2026-01-01T00:00:00Z');
const V1 = '2025-12-31T00:00:00.000Z';
const V2 = '2025-12-31T12:00:00.000Z';

function def(overrides: Record<string, unknown> = {}): AppDefinition {
  const r = parseAppDefinition({ id: '/web', cmd: 'sleep 100', cpus: 1, mem: 128, instances: 1, ...overrides });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

function makeApp(overrides: Partial<AppState> & { def?: Record<string, unknown> } = {}): AppState {
  const { def: d, ...rest } = overrides;
  return { id: '/web', configVersion: V1, deleting: false, delayUntil: null, placementIssue: null, definition: def(d), ...rest };
}

let seq = 0;
function makeTask(overrides: Partial<TaskStateRow> = {}): TaskStateRow {
  seq += 1;
  return {
    id: `web.${seq}`,
    appId: '/web',
    appVersion: V1,
    nodeId: 'n1',
    state: 'TASK_RUNNING',
    stagedAt: new Date(NOW.getTime() - 60_000 + seq),
    killRequestedAt: null,
    cpus: 1,
    memMb: 128,
    diskMb: 0,
    ports: [],
    ...overrides,
  };
}

function makeNode(overrides: Partial<NodeState> = {}): NodeState {
  return {
    id: 'n1',
    hostname: 'h1',
    address: '10.0.0.1',
    status: 'ACTIVE',
    connected: true,
    attributes: {},
    cpus: 4,
    memMb: 4096,
    diskMb: 10_000,
    portRange: [10000, 10100],
    ...overrides,
  };
}

const input = (i: Partial<ReconcileInput>): ReconcileInput => ({ now: NOW, apps: [], tasks: [], nodes: [makeNode()], ...i });

describe('reconciler decisions', () => {
  it.each([
    ['launches what is missing', { instances: 3 }, 1, 2, 0],
    ['does nothing when the count is right', { instances: 1 }, 1, 0, 0],
    ['kills the surplus', { instances: 1 }, 3, 0, 2],
    ['stops every task at 0 instances', { instances: 0 }, 2, 0, 2],
  ])('%s', (_name, d, existing, launches, kills) => {
    const tasks = Array.from({ length: existing }, () => makeTask());
    const r = decide(input({ apps: [makeApp({ def: d })], tasks }));
    expect(r.launches).toHaveLength(launches);
    expect(r.kills).toHaveLength(kills);
  });

  it('kills the youngest first by default, the oldest with OLDEST_FIRST', () => {
    const old = makeTask({ stagedAt: new Date(NOW.getTime() - 100_000) });
    const young = makeTask({ stagedAt: new Date(NOW.getTime() - 1_000) });
    expect(decide(input({ apps: [makeApp()], tasks: [old, young] })).kills.map((k) => k.taskId)).toEqual([young.id]);
    const r = decide(input({ apps: [makeApp({ def: { killSelection: 'OLDEST_FIRST' } })], tasks: [old, young] }));
    expect(r.kills.map((k) => k.taskId)).toEqual([old.id]);
  });

  it('does not launch while the app is in its back-off delay', () => {
    const r = decide(input({ apps: [makeApp({ delayUntil: new Date(NOW.getTime() + 5_000) })] }));
    expect(r.launches).toEqual([]);
  });

  it('launches again once the delay has passed', () => {
    const r = decide(input({ apps: [makeApp({ delayUntil: new Date(NOW.getTime() - 1) })] }));
    expect(r.launches).toHaveLength(1);
  });

  it('a task being killed does not count toward instances, but still holds its resources', () => {
    const dying = makeTask({ killRequestedAt: NOW, cpus: 4 });
    const r = decide(input({ apps: [makeApp({ def: { cpus: 1 } })], tasks: [dying] }));
    expect(r.launches).toHaveLength(0);
    expect(r.placementIssues[0]?.issue?.summary).toMatch(/needs 1 cpus?, largest free is 0/);
  });

  it('explains why an app cannot be placed, and clears it once it can', () => {
    const r = decide(input({ apps: [makeApp({ def: { cpus: 8 } })] }));
    expect(r.placementIssues).toEqual([{ appId: '/web', issue: expect.objectContaining({ summary: 'needs 8 cpus, largest free is 4', count: 1 }) }]);
    const placed = decide(input({ apps: [makeApp({ placementIssue: { summary: 'x' } })], tasks: [makeTask()] }));
    expect(placed.placementIssues).toEqual([{ appId: '/web', issue: null }]);
  });

  it('never places on a disconnected node', () => {
    const r = decide(input({ apps: [makeApp()], nodes: [makeNode({ connected: false })] }));
    expect(r.launches).toHaveLength(0);
    expect(r.placementIssues[0]?.issue?.summary).toBeTruthy();
  });

  it('kills every task of a deleted app, and removes it once none is left', () => {
    const t = makeTask();
    const r = decide(input({ apps: [makeApp({ deleting: true })], tasks: [t] }));
    expect(r.kills.map((k) => k.reason)).toEqual(['app deleted']);
    expect(r.removeApps).toEqual([]);
    expect(decide(input({ apps: [makeApp({ deleting: true })] })).removeApps).toEqual(['/web']);
  });

  it('replaces old-version tasks only as new ones run', () => {
    const app = makeApp({ configVersion: V2, def: { instances: 2 } });
    const old = [makeTask(), makeTask()];
    // No new task yet: launch two, kill none of the old (room permitting).
    const first = decide(input({ apps: [app], tasks: old }));
    expect(first.launches).toHaveLength(2);
    expect(first.kills).toHaveLength(0);
    // One new task running: one old task steps down.
    const second = decide(input({ apps: [app], tasks: [...old, makeTask({ appVersion: V2 }), makeTask({ appVersion: V2, state: 'TASK_STAGING' })] }));
    expect(second.kills.map((k) => k.reason)).toEqual(['replaced by a new version']);
    expect(second.launches).toHaveLength(0);
  });

  it('sends an unacknowledged kill again', () => {
    const t = makeTask({ killRequestedAt: new Date(NOW.getTime() - KILL_RESEND_MS - 1) });
    const r = decide(input({ apps: [makeApp({ def: { instances: 0 } })], tasks: [t] }));
    expect(r.kills).toEqual([expect.objectContaining({ taskId: t.id, reason: 'kill not acknowledged, sent again' })]);
  });

  it('gives bridged tasks distinct host ports from the node range, container port kept', () => {
    const app = makeApp({
      def: {
        instances: 3,
        cpus: 0.1,
        cmd: undefined,
        container: { docker: { image: 'x' }, portMappings: [{ containerPort: 80, hostPort: 0 }] },
        networks: [{ mode: 'container/bridge' }],
      },
    });
    const r = decide(input({ apps: [app] }));
    const ports = r.launches.map((l) => l.ports[0]!);
    expect(new Set(ports.map((p) => p.hostPort)).size).toBe(3);
    for (const p of ports) {
      expect(p.containerPort).toBe(80);
      expect(p.hostPort).toBeGreaterThanOrEqual(10000);
      expect(p.hostPort).toBeLessThanOrEqual(10100);
    }
  });

  it('two apps in one pass never over-commit a node', () => {
    const a = makeApp({ id: '/a', def: { id: '/a', cpus: 3 } });
    const b = makeApp({ id: '/b', def: { id: '/b', cpus: 3 } });
    const r = decide(input({ apps: [a, b] }));
    expect(r.launches).toHaveLength(1);
    expect(r.placementIssues.find((p) => p.appId === '/b')?.issue).not.toBeNull();
  });
});

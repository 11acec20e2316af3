import { parseAppDefinition, type AppDefinition } from '@atoll/spec';
import { describe, expect, it } from 'vitest';
import {
  decide,
  KILL_RESEND_MS,
  type AppState,
  type NodeState,
  type ReconcileInput,
  type TaskStateRow,
} from './decide';

const NOW = new Date('2026-01-01T00:00:00Z');
const V1 = '2025-12-31T00:00:00.000Z';
const V2 = '2025-12-31T12:00:00.000Z';

function def(overrides: Record<string, unknown> = {}): AppDefinition {
  const r = parseAppDefinition({
    id: '/web',
    cmd: 'sleep 100',
    cpus: 1,
    mem: 128,
    instances: 1,
    ...overrides,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

function makeApp(overrides: Partial<AppState> & { def?: Record<string, unknown> } = {}): AppState {
  const { def: d, ...rest } = overrides;
  return {
    id: '/web',
    configVersion: V1,
    deleting: false,
    delayUntil: null,
    placementIssue: null,
    definition: def(d),
    ...rest,
  };
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
    updatedAt: new Date(NOW.getTime() - 60_000 + seq),
    killRequestedAt: null,
    cpus: 1,
    memMb: 128,
    diskMb: 0,
    ports: [],
    healthy: null,
    ready: null,
    ...overrides,
  };
}

function makeNode(overrides: Partial<NodeState> = {}): NodeState {
  return {
    id: 'n1',
    hostname: 'h1',
    address: '10.0.0.1',
    status: 'ACTIVE',
    mode: 'ACTIVE',
    drain: null,
    connected: true,
    attributes: {},
    cpus: 4,
    memMb: 4096,
    diskMb: 10_000,
    reservedCpus: 0,
    reservedMemMb: 0,
    portRange: [10000, 10100],
    ...overrides,
  };
}

const input = (i: Partial<ReconcileInput>): ReconcileInput => ({
  now: NOW,
  apps: [],
  tasks: [],
  nodes: [makeNode()],
  ...i,
});

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
    expect(decide(input({ apps: [makeApp()], tasks: [old, young] })).kills.map((k) => k.taskId)).toEqual([
      young.id,
    ]);
    const r = decide(
      input({ apps: [makeApp({ def: { killSelection: 'OLDEST_FIRST' } })], tasks: [old, young] }),
    );
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
    expect(r.placementIssues).toEqual([
      {
        appId: '/web',
        issue: expect.objectContaining({ summary: 'needs 8 cpus, largest free is 4', count: 1 }),
      },
    ]);
    const placed = decide(
      input({ apps: [makeApp({ placementIssue: { summary: 'x' } })], tasks: [makeTask()] }),
    );
    expect(placed.placementIssues).toEqual([{ appId: '/web', issue: null }]);
  });

  it('does not write an unchanged issue again when jsonb has reordered its keys', () => {
    const first = decide(input({ apps: [makeApp({ def: { cpus: 8 } })] })).placementIssues[0]!.issue!;
    // What PostgreSQL's jsonb hands back: shorter keys first (count, reasons, summary, excluded).
    const stored = Object.fromEntries(
      Object.entries(first).sort(([a], [b]) => a.length - b.length || (a < b ? -1 : 1)),
    );
    expect(JSON.stringify(stored)).not.toBe(JSON.stringify(first));
    const again = decide(input({ apps: [makeApp({ def: { cpus: 8 }, placementIssue: stored })] }));
    expect(again.placementIssues).toEqual([]);
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

  it.each([
    // [name, minimumHealthCapacity, maximumOverCapacity, launched first, old killed first]
    ['default 1/1: start all new, keep all old', 1, 1, 4, 0],
    ['0/0: stop all old, start all new', 0, 0, 4, 4],
    ['0.5/0: stop half, start half', 0.5, 0, 2, 2],
    ['1/0.5: start two over capacity, stop none', 1, 0.5, 2, 0],
  ])('rolling upgrade of 4, %s', (_name, minimumHealthCapacity, maximumOverCapacity, launches, kills) => {
    const app = makeApp({
      configVersion: V2,
      def: { instances: 4, cpus: 0.1, upgradeStrategy: { minimumHealthCapacity, maximumOverCapacity } },
    });
    const old = Array.from({ length: 4 }, () => makeTask({ cpus: 0.1 }));
    const r = decide(input({ apps: [app], tasks: old }));
    expect(r.launches).toHaveLength(launches);
    expect(r.kills).toHaveLength(kills);
  });

  it.each([
    ['1 instance at 0.5/0.5', 1, 0.5, 0.5],
    ['3 instances at 1/0', 3, 1, 0],
  ])(
    'a rolling upgrade whose health floor meets its capacity (%s) starts one over capacity, as Marathon',
    (_name, instances, minimumHealthCapacity, maximumOverCapacity) => {
      const app = makeApp({
        configVersion: V2,
        def: { instances, cpus: 0.1, upgradeStrategy: { minimumHealthCapacity, maximumOverCapacity } },
      });
      const old = Array.from({ length: instances }, () => makeTask({ cpus: 0.1 }));
      const r = decide(input({ apps: [app], tasks: old }));
      expect(r.launches).toHaveLength(1);
      expect(r.kills).toHaveLength(0);
    },
  );

  it('a resident app whose health floor meets its capacity stops one old task first', () => {
    const app = makeApp({
      configVersion: V2,
      def: {
        instances: 1,
        cpus: 0.1,
        container: {
          type: 'MESOS',
          volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 10 } }],
        },
        upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 },
      },
    });
    const r = decide(input({ apps: [app], tasks: [makeTask({ cpus: 0.1 })] }));
    expect(r.kills.map((k) => k.reason)).toEqual(['replaced by a new version']);
  });

  it('a rolling upgrade never drops below minimumHealthCapacity × instances healthy', () => {
    // Simulate passes: new tasks become healthy one pass after launch; kills take effect at once.
    const app = makeApp({
      configVersion: V2,
      def: {
        instances: 4,
        cpus: 0.1,
        healthChecks: [{ protocol: 'TCP' }],
        upgradeStrategy: { minimumHealthCapacity: 0.75, maximumOverCapacity: 0 },
      },
    });
    let tasks: TaskStateRow[] = Array.from({ length: 4 }, () => makeTask({ cpus: 0.1, healthy: true }));
    for (let pass = 0; pass < 20; pass++) {
      const r = decide(input({ apps: [app], tasks }));
      const killed = new Set(r.kills.map((k) => k.taskId));
      tasks = tasks
        .filter((t) => !killed.has(t.id))
        .map((t) => (t.appVersion === V2 ? { ...t, state: 'TASK_RUNNING', healthy: true } : t));
      tasks.push(
        ...r.launches.map(() =>
          makeTask({ appVersion: V2, cpus: 0.1, state: 'TASK_STAGING', healthy: null }),
        ),
      );
      const healthyCount = tasks.filter((t) => t.state === 'TASK_RUNNING' && t.healthy === true).length;
      expect(healthyCount).toBeGreaterThanOrEqual(3);
      expect(tasks.length).toBeLessThanOrEqual(4);
    }
    expect(tasks.every((t) => t.appVersion === V2 && t.healthy)).toBe(true);
    expect(tasks).toHaveLength(4);
  });

  it('new tasks with readiness checks replace old ones only once ready', () => {
    const app = makeApp({
      configVersion: V2,
      def: {
        instances: 1,
        readinessChecks: [{ name: 'r', portName: 'http' }],
        portDefinitions: [{ port: 0, name: 'http' }],
      },
    });
    const old = makeTask();
    const notReady = decide(input({ apps: [app], tasks: [old, makeTask({ appVersion: V2, ready: false })] }));
    expect(notReady.kills).toHaveLength(0);
    const ready = decide(input({ apps: [app], tasks: [old, makeTask({ appVersion: V2, ready: true })] }));
    expect(ready.kills.map((k) => k.taskId)).toEqual([old.id]);
  });

  it('replaces old-version tasks only as new ones run', () => {
    const app = makeApp({ configVersion: V2, def: { instances: 2 } });
    const old = [makeTask(), makeTask()];
    // No new task yet: launch two, kill none of the old (room permitting).
    const first = decide(input({ apps: [app], tasks: old }));
    expect(first.launches).toHaveLength(2);
    expect(first.kills).toHaveLength(0);
    // One new task running: one old task steps down.
    const second = decide(
      input({
        apps: [app],
        tasks: [...old, makeTask({ appVersion: V2 }), makeTask({ appVersion: V2, state: 'TASK_STAGING' })],
      }),
    );
    expect(second.kills.map((k) => k.reason)).toEqual(['replaced by a new version']);
    expect(second.launches).toHaveLength(0);
  });

  it.each([
    ['default strategy (0/0): replaced and expunged at once', undefined, 0, 1, 1],
    [
      'inactiveAfterSeconds 300: still counts after 10 s',
      { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 },
      10,
      0,
      0,
    ],
    [
      'inactive after 60 s: replaced, not yet expunged',
      { inactiveAfterSeconds: 60, expungeAfterSeconds: 600 },
      61,
      1,
      0,
    ],
    ['disabled: never replaced', 'disabled', 100_000, 0, 0],
  ])('unreachable task, %s', (_name, unreachableStrategy, secondsAgo, launches, expunged) => {
    const t = makeTask({ state: 'TASK_UNREACHABLE', updatedAt: new Date(NOW.getTime() - secondsAgo * 1000) });
    const app = makeApp(unreachableStrategy ? { def: { unreachableStrategy } } : {});
    const r = decide(
      input({ apps: [app], tasks: [t], nodes: [makeNode(), makeNode({ id: 'n2', connected: false })] }),
    );
    expect(r.launches).toHaveLength(launches);
    expect(r.expunge).toHaveLength(expunged);
  });

  it('when an unreachable node returns, the surplus is killed', () => {
    const back = makeTask({ stagedAt: new Date(NOW.getTime() - 100_000) });
    const replacement = makeTask({ nodeId: 'n2' });
    const r = decide(
      input({ apps: [makeApp()], tasks: [back, replacement], nodes: [makeNode(), makeNode({ id: 'n2' })] }),
    );
    expect(r.kills).toHaveLength(1);
    expect(r.launches).toHaveLength(0);
  });

  it('an app waits for its dependencies to be healthy, then starts', () => {
    const db = makeApp({
      id: '/prod/db',
      def: { id: '/prod/db', instances: 1, healthChecks: [{ protocol: 'TCP' }] },
    });
    const web = makeApp({ id: '/prod/web', def: { id: '/prod/web', dependencies: ['../db'] } });
    const starting = decide(
      input({ apps: [db, web], tasks: [makeTask({ appId: '/prod/db', healthy: null })] }),
    );
    expect(starting.launches.map((l) => l.appId)).toEqual([]);
    expect(starting.placementIssues).toContainEqual({
      appId: '/prod/web',
      issue: expect.objectContaining({ summary: 'waiting for dependencies: /prod/db' }),
    });
    const healthy = decide(
      input({ apps: [db, web], tasks: [makeTask({ appId: '/prod/db', healthy: true })] }),
    );
    expect(healthy.launches.map((l) => l.appId)).toEqual(['/prod/web']);
  });

  it('sends an unacknowledged kill again', () => {
    const t = makeTask({ killRequestedAt: new Date(NOW.getTime() - KILL_RESEND_MS - 1) });
    const r = decide(input({ apps: [makeApp({ def: { instances: 0 } })], tasks: [t] }));
    expect(r.kills).toEqual([
      expect.objectContaining({ taskId: t.id, reason: 'kill not acknowledged, sent again' }),
    ]);
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

describe('node modes and drains', () => {
  const n1 = (o: Partial<NodeState> = {}) => makeNode({ id: 'n1', hostname: 'h1', ...o });
  const n2 = (o: Partial<NodeState> = {}) =>
    makeNode({ id: 'n2', hostname: 'h2', address: '10.0.0.2', ...o });
  const draining = (o: Partial<NodeState> = {}) =>
    n1({ mode: 'DRAINING', drain: { total: 2, blocked: null }, ...o });

  it.each(['DRAINING', 'DRAINED', 'MAINTENANCE'])('places nothing on a %s node', (mode) => {
    const r = decide(input({ apps: [makeApp({ def: { instances: 2 } })], nodes: [n1({ mode })] }));
    expect(r.launches).toEqual([]);
    expect(r.placementIssues[0]?.issue?.count).toBe(2);
  });

  it('a MAINTENANCE node keeps its tasks', () => {
    const r = decide(
      input({ apps: [makeApp()], tasks: [makeTask()], nodes: [n1({ mode: 'MAINTENANCE' }), n2()] }),
    );
    expect(r.kills).toEqual([]);
    expect(r.launches).toEqual([]);
  });

  it('offers resources minus the host reservation', () => {
    const r = decide(
      input({ apps: [makeApp({ def: { cpus: 3 } })], nodes: [n1({ cpus: 4, reservedCpus: 2 })] }),
    );
    expect(r.launches).toEqual([]);
    expect(r.placementIssues[0]?.issue?.summary).toMatch(/cpu/i);
  });

  it('moves the oldest task of a draining node first, and only one', () => {
    const old = makeTask({ stagedAt: new Date(NOW.getTime() - 100_000) });
    const young = makeTask({ stagedAt: new Date(NOW.getTime() - 1_000) });
    const r = decide(
      input({ apps: [makeApp({ def: { instances: 2 } })], tasks: [young, old], nodes: [draining(), n2()] }),
    );
    expect(r.kills.map((k) => k.taskId)).toEqual([old.id]);
    expect(r.kills[0]?.reason).toMatch(/draining/);
  });

  it('waits while a moved task is being killed or its replacement is not yet up', () => {
    const app = makeApp({ def: { instances: 2 } });
    const killing = makeTask({ killRequestedAt: NOW });
    const other = makeTask();
    expect(decide(input({ apps: [app], tasks: [killing, other], nodes: [draining(), n2()] })).kills).toEqual(
      [],
    );
    // Killed and gone: one task left on the node, the replacement on n2 still starting.
    const starting = makeTask({ nodeId: 'n2', state: 'TASK_STAGING' });
    const r = decide(input({ apps: [app], tasks: [other, starting], nodes: [draining(), n2()] }));
    expect(r.kills).toEqual([]);
    expect(r.nodeUpdates[0]?.drain?.blocked).toMatch(/waiting for \/web/);
    // The replacement runs: the next task moves.
    const running = makeTask({ nodeId: 'n2' });
    expect(
      decide(input({ apps: [app], tasks: [other, running], nodes: [draining(), n2()] })).kills.map(
        (k) => k.taskId,
      ),
    ).toEqual([other.id]);
  });

  it('does not kill a task that has nowhere to go, and says why', () => {
    const t = makeTask();
    const r = decide(
      input({ apps: [makeApp({ def: { cpus: 3 } })], tasks: [t], nodes: [draining(), n2({ cpus: 2 })] }),
    );
    expect(r.kills).toEqual([]);
    expect(r.nodeUpdates).toEqual([
      { nodeId: 'n1', drain: { total: 2, blocked: expect.stringMatching(/cannot move .* of \/web/) } },
    ]);
  });

  it('marks the node DRAINED when no task is left', () => {
    const r = decide(
      input({ apps: [makeApp()], tasks: [makeTask({ nodeId: 'n2' })], nodes: [draining(), n2()] }),
    );
    expect(r.nodeUpdates).toEqual([{ nodeId: 'n1', mode: 'DRAINED', drain: { total: 2, blocked: null } }]);
  });

  it('constraints see the effective attributes', () => {
    const app = makeApp({ def: { constraints: [['rack', 'CLUSTER', 'r2']] } });
    const r = decide(
      input({ apps: [app], nodes: [n1({ attributes: { rack: 'r1' } }), n2({ attributes: { rack: 'r2' } })] }),
    );
    expect(r.launches.map((l) => l.nodeId)).toEqual(['n2']);
  });
});

describe('resident apps (persistent volumes)', () => {
  const resident = {
    def: {
      container: {
        type: 'DOCKER',
        docker: { image: 'redis:7' },
        volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 64 } }],
      },
    },
  };
  // n2 is emptier, so plain bin-packing would pick n1 (fuller) — the volume on n2 wins.
  const nodes = [
    makeNode({ id: 'n1', cpus: 2, memMb: 1024 }),
    makeNode({ id: 'n2', hostname: 'h2', address: '10.0.0.2', cpus: 8, memMb: 8192 }),
  ];

  it('replaces a lost task on the node holding its unused volume', () => {
    const r = decide(
      input({ apps: [makeApp(resident)], tasks: [], nodes, volumeNodes: new Map([['/web', ['n2']]]) }),
    );
    expect(r.launches.map((l) => l.nodeId)).toEqual(['n2']);
  });

  it('without a volume, or with the volume in use, places as usual', () => {
    expect(
      decide(input({ apps: [makeApp(resident)], tasks: [], nodes })).launches.map((l) => l.nodeId),
    ).toEqual(['n1']);
    const r = decide(
      input({
        apps: [makeApp({ ...resident, def: { ...resident.def, instances: 2 } })],
        tasks: [makeTask({ nodeId: 'n2' })],
        nodes,
        volumeNodes: new Map([['/web', ['n2']]]),
      }),
    );
    expect(r.launches.map((l) => l.nodeId)).toEqual(['n1']);
  });
});

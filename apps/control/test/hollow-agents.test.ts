import { startHollowAgents, type HollowAgents } from '@atoll/agent/hollow';
import { nodesService } from '@atoll/api';
import { skipWithoutPostgres } from '@atoll/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, until } from './support';

const skip = await skipWithoutPostgres();

interface Task {
  id: string;
  state: string;
  slaveId: string;
  host: string;
}
interface Node {
  id: string;
  hostname: string;
  connected: boolean;
  status: string;
  attributes: Record<string, string>;
  resources: { cpus: number; memMb: number };
}

/** A seeded random source (mulberry32), so which launches fail is the same every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Hollow agents (apps/agent/src/hollow) against a real control and PostgreSQL: 30 simulated nodes
 * join with one multi-use token, run an app through /v2, answer kills, and when some of them are
 * lost their tasks are replaced on the others. No Docker: hollow agents run nothing.
 */
describe.skipIf(skip)('hollow agents', () => {
  const COUNT = 30;
  let cluster: TestCluster;
  let hollow: HollowAgents;
  let flaky: HollowAgents | null = null;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const tasksOf = async (appId: string) =>
    (await api<{ tasks: Task[] }>('GET', `/v2/apps${appId}/tasks`)).tasks;
  const nodes = () => api<Node[]>('GET', '/api/v1/nodes');
  const running = (appId: string, n: number, extra: (ts: Task[]) => boolean = () => true) =>
    until(
      `${n} running tasks of ${appId}`,
      () => tasksOf(appId),
      (ts) => ts.filter((t) => t.state === 'TASK_RUNNING').length === n && ts.length === n && extra(ts),
    );

  beforeAll(async () => {
    // No real agent; short heartbeats so a lost node is declared within seconds.
    cluster = await startTestCluster({ agents: [], heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 4000 });
    const join = await nodesService.createJoinToken(cluster.control.services, {
      singleUse: false,
      expiresInSeconds: 3600,
      attributes: { pool: 'hollow' },
    });
    hollow = startHollowAgents({
      url: cluster.url,
      joinToken: join.token,
      count: COUNT,
      random: seeded(14),
      resources: (i) => ({ cpus: 2 + (i % 3), memMb: 4096, diskMb: 10_240, portRange: [31000, 31999] }),
    });
    await hollow.waitConnected(COUNT, 60_000);
  });

  afterAll(async () => {
    await flaky?.stop();
    await hollow?.stop();
    await cluster?.stop();
  });

  it('joins every hollow agent as its own node with its hostname, attributes and resources', async () => {
    const ns = await until(
      '30 connected nodes',
      nodes,
      (xs) => xs.filter((n) => n.connected).length === COUNT,
    );
    expect(new Set(ns.map((n) => n.hostname)).size).toBe(COUNT);
    const n7 = ns.find((n) => n.hostname === 'hollow-7')!;
    // The token's attributes and the agent's own are merged at join.
    expect(n7.attributes).toMatchObject({ pool: 'hollow', rack: 'r7', zone: 'z1', hollow: 'true' });
    expect(n7.resources.cpus).toBe(3);
    expect(hollow.agents.every((a) => a.nodeId !== undefined)).toBe(true);
  });

  it('runs a /v2 app on them, answers a kill, and replaces the tasks of lost nodes elsewhere', async () => {
    await api('POST', '/v2/apps', {
      id: '/hollow/web',
      instances: 12,
      cpus: 0.5,
      mem: 64,
      cmd: 'exec sleep 3600',
      portDefinitions: [{ port: 0, protocol: 'tcp' }],
      constraints: [['hostname', 'UNIQUE']],
    });
    let ts = await running('/hollow/web', 12);
    expect(new Set(ts.map((t) => t.slaveId)).size).toBe(12);
    expect(hollow.tasks().running).toBe(12);

    // A kill through /v2: the hollow agent answers KILLING → KILLED and control starts a new one.
    const victim = ts[0]!;
    await api('POST', '/v2/tasks/delete', { ids: [victim.id] });
    await running('/hollow/web', 12, (xs) => !xs.some((t) => t.id === victim.id));
    expect(hollow.tasks().killed).toBeGreaterThanOrEqual(1);

    // Three nodes holding tasks vanish (sockets destroyed, no close frame, no reconnect).
    const lost = hollow.kill(3);
    const lostIds = new Set(lost.map((a) => a.nodeId!));
    expect(lost.every((a) => a.liveTasks().length === 1)).toBe(true);
    ts = await running('/hollow/web', 12, (xs) => xs.every((t) => !lostIds.has(t.slaveId)));
    expect(new Set(ts.map((t) => t.slaveId)).size).toBe(12);
    const after = await nodes();
    for (const id of lostIds) expect(after.find((n) => n.id === id)?.connected).toBe(false);
    expect(hollow.connected()).toBe(COUNT - 3);
  });

  it('fails the share of launches it is told to, and control records the failure', async () => {
    const join = await nodesService.createJoinToken(cluster.control.services, {
      singleUse: false,
      expiresInSeconds: 3600,
      attributes: { pool: 'flaky' },
    });
    flaky = startHollowAgents({
      url: cluster.url,
      joinToken: join.token,
      count: 2,
      hostnamePrefix: 'flaky',
      failLaunchRatio: 1,
    });
    await flaky.waitConnected(2, 30_000);
    await api('POST', '/v2/apps', {
      id: '/hollow/doomed',
      instances: 1,
      cpus: 0.1,
      mem: 16,
      cmd: 'exec sleep 3600',
      constraints: [['pool', 'LIKE', 'flaky']],
    });
    const app = await until(
      'a recorded launch failure',
      () =>
        api<{ app: { lastTaskFailure?: { message: string; state: string } } }>(
          'GET',
          '/v2/apps/hollow/doomed?embed=app.lastTaskFailure',
        ),
      (a) => a.app.lastTaskFailure !== undefined,
    );
    expect(app.app.lastTaskFailure).toMatchObject({ state: 'TASK_FAILED' });
    expect(app.app.lastTaskFailure!.message).toContain('failLaunchRatio');
    expect(flaky.tasks().failedLaunches).toBeGreaterThanOrEqual(1);
    await api('DELETE', '/v2/apps/hollow/doomed?force=true');
  });
});

import { nodesService } from '@atoll/api';
import { PROTOCOL_VERSION, type ControlMessage } from '@atoll/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AgentGateway } from '../src/gateway/gateway';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, until } from './support';

const skip = await skipWithoutDocker('agent identity tests');

/** A hand-written agent client: says what a rogue says, keeps what control sends it. */
class RogueAgent {
  readonly received: ControlMessage[] = [];
  private readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/agent/v1`);
    this.ws.on('message', (raw: Buffer) =>
      this.received.push(JSON.parse(raw.toString('utf8')) as ControlMessage),
    );
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
  }

  send(message: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  hello(identity: Record<string, string>, tasks: unknown[] = []): void {
    this.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      agentVersion: 'rogue',
      ...identity,
      hostname: 'rogue',
      address: '127.0.0.1',
      runtime: 'exec',
      // Nothing to offer: the scheduler never places a task here.
      resources: { cpus: 0, memMb: 0, diskMb: 0, portRange: [29000, 29000] },
      attributes: {},
      tasks,
    });
  }

  /** The first message of `type` control sent (waits for it). */
  next<T extends ControlMessage['type']>(type: T): Promise<Extract<ControlMessage, { type: T }>> {
    return until(
      `a ${type} message`,
      async () => this.received.find((m) => m.type === type),
      (m) => m !== undefined,
      20_000,
    ) as Promise<Extract<ControlMessage, { type: T }>>;
  }

  close(): void {
    this.ws.terminate();
  }
}

describe.skipIf(skip)('an agent connection speaks only for its own node', () => {
  let cluster: TestCluster;
  let nodeB: string;
  let victimTask: string;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  // The gateway: services.agents is the replica cluster in front of it (replicas/cluster.ts).
  const gateway = () => cluster.control.replicas.local as AgentGateway;
  const taskRow = (id: string) => cluster.control.db.prisma.task.findUniqueOrThrow({ where: { id } });
  const rogues: RogueAgent[] = [];

  /** A rogue that joined with a real join token (a compromised host, or a stolen token). */
  async function joinedRogue(): Promise<{ rogue: RogueAgent; nodeId: string; credential: string }> {
    const { token } = await nodesService.createJoinToken(cluster.control.services, {
      singleUse: true,
      expiresInSeconds: 300,
      attributes: {},
    });
    const rogue = new RogueAgent(cluster.url);
    rogues.push(rogue);
    await rogue.opened;
    rogue.hello({ joinToken: token });
    const welcome = await rogue.next('welcome');
    expect(welcome.credential).toBeTruthy();
    return { rogue, nodeId: welcome.nodeId, credential: welcome.credential! };
  }

  /** Waits until every message the rogue sent before is written (or dropped) by control. */
  async function settled(rogue: RogueAgent, nodeId: string): Promise<void> {
    const at = new Date();
    rogue.send({ type: 'heartbeat', at: at.toISOString() });
    await until(
      'the heartbeat written',
      async () =>
        (await cluster.control.db.prisma.node.findUniqueOrThrow({ where: { id: nodeId } })).lastHeartbeatAt,
      (t) => t !== null && t.getTime() >= at.getTime() - 1000,
      20_000,
    );
    // The heartbeat came after the reports: their batch is queued; wait for it to be written.
    await new Promise((r) => setTimeout(r, 100));
    await gateway().batcher.flush();
  }

  beforeAll(async () => {
    cluster = await startTestCluster({ agents: [{ hostname: 'node-b' }] });
    const nodes = await until(
      'node B connected',
      () => api<Array<{ id: string; connected: boolean }>>('GET', '/api/v1/nodes'),
      (ns) => ns.some((n) => n.connected),
    );
    nodeB = nodes.find((n) => n.connected)!.id;
    await api('POST', '/v2/apps', {
      id: '/victim',
      instances: 1,
      cpus: 0.01,
      mem: 8,
      cmd: 'sleep 1000',
      constraints: [['hostname', 'CLUSTER', 'node-b']],
    });
    const tasks = await until(
      'the victim task running on node B',
      async () =>
        (await api<{ tasks: Array<{ id: string; state: string }> }>('GET', '/v2/apps/victim/tasks')).tasks,
      (ts) => ts.some((t) => t.state === 'TASK_RUNNING'),
    );
    victimTask = tasks[0]!.id;
    expect((await taskRow(victimTask)).nodeId).toBe(nodeB);
  }, 120_000);

  afterAll(async () => {
    for (const r of rogues) r.close();
    await cluster?.stop();
  }, 120_000);

  it("drops status, health and readiness reports about another node's task", async () => {
    const { rogue, nodeId } = await joinedRogue();
    expect(nodeId).not.toBe(nodeB);
    const before = await taskRow(victimTask);
    const at = new Date().toISOString();
    rogue.send({
      type: 'taskStatus',
      report: { taskId: victimTask, state: 'TASK_FAILED', message: 'forged', exitCode: 1, at },
    });
    rogue.send({
      type: 'taskHealth',
      taskId: victimTask,
      checkIndex: 0,
      healthy: false,
      consecutiveFailures: 9,
      message: 'forged',
      at,
    });
    rogue.send({ type: 'taskReadiness', taskId: victimTask, ready: false, results: [], at });
    await settled(rogue, nodeId);
    const after = await taskRow(victimTask);
    expect(after.state).toBe('TASK_RUNNING');
    expect(after.message).toBe(before.message);
    expect(after.health).toEqual(before.health);
    expect(after.ready).toBe(before.ready);
    const forged = await cluster.control.db.prisma.event.findMany({
      where: { type: 'status_update_event', payload: { path: ['taskId'], equals: victimTask } },
    });
    expect(forged.map((e) => (e.payload as { taskStatus: string }).taskStatus)).not.toContain('TASK_FAILED');
  });

  it("stores no metrics a node reports for another node's task", async () => {
    const { rogue, nodeId } = await joinedRogue();
    const zero = { cpuUsedCores: 0, memUsedBytes: 0, netRxBytesPerSec: 0, netTxBytesPerSec: 0 };
    rogue.send({
      type: 'metrics',
      at: new Date().toISOString(),
      intervalMs: 1000,
      node: {
        ...zero,
        cpuCores: 1,
        memTotalBytes: 1,
        diskUsedBytes: 0,
        diskTotalBytes: 1,
        netRxBytesTotal: 0,
        netTxBytesTotal: 0,
        cpuSecondsTotal: 0,
        load1: 0,
        load5: 0,
        load15: 0,
      },
      tasks: [
        {
          ...zero,
          taskId: victimTask,
          cpuUsedCores: 63,
          cpuSecondsTotal: 0,
          memLimitBytes: null,
          netRxBytesTotal: 0,
          netTxBytesTotal: 0,
          restarts: 0,
        },
      ],
    });
    await settled(rogue, nodeId);
    await cluster.control.services.metrics.flush();
    const { rows } = await cluster.control.db.pool.query<{ node_id: string }>(
      'SELECT DISTINCT node_id::text FROM task_metrics WHERE task_id = $1',
      [victimTask],
    );
    expect(rows.map((r) => r.node_id)).not.toContain(nodeId);
  });

  it("a hello listing another node's tasks changes nothing there", async () => {
    const { rogue, nodeId, credential } = await joinedRogue();
    rogue.close();
    const again = new RogueAgent(cluster.url);
    rogues.push(again);
    await again.opened;
    again.hello({ nodeId, credential }, [
      { taskId: victimTask, state: 'TASK_KILLED', at: new Date().toISOString() },
    ]);
    await again.next('welcome');
    await settled(again, nodeId);
    const row = await taskRow(victimTask);
    expect(row.state).toBe('TASK_RUNNING');
    expect(row.nodeId).toBe(nodeB);
    expect(row.killRequestedAt).toBeNull();
  });

  it("refuses a hello as node B with another node's credential, and B stays connected", async () => {
    const { credential } = await joinedRogue();
    const impostor = new RogueAgent(cluster.url);
    rogues.push(impostor);
    await impostor.opened;
    impostor.hello({ nodeId: nodeB, credential });
    const error = await impostor.next('error');
    expect(error.code).toBe('UNAUTHORIZED');
    expect(await impostor.closed).toBe(4003);
    expect(impostor.received.some((m) => m.type === 'welcome')).toBe(false);
    expect(gateway().isConnected(nodeB)).toBe(true);
  });

  it('refuses a second hello that switches a connection to another node', async () => {
    const { rogue } = await joinedRogue();
    rogue.hello({ nodeId: nodeB, credential: 'node_guessed' });
    const error = await rogue.next('error');
    expect(error.code).toBe('UNAUTHORIZED');
    expect(await rogue.closed).toBe(4003);
    expect(gateway().isConnected(nodeB)).toBe(true);
  });

  it("never receives another node's launches or kills", async () => {
    const { rogue, nodeId } = await joinedRogue();
    await api('PUT', '/v2/apps/victim', { instances: 2 });
    const tasks = await until(
      'two victim tasks running',
      async () =>
        (await api<{ tasks: Array<{ id: string; state: string }> }>('GET', '/v2/apps/victim/tasks')).tasks,
      (ts) => ts.filter((t) => t.state === 'TASK_RUNNING').length === 2,
    );
    await api('POST', `/v2/tasks/delete`, { ids: [victimTask] });
    await until(
      'the first victim task killed',
      () => taskRow(victimTask),
      (t) => t.state === 'TASK_KILLED',
    );
    await settled(rogue, nodeId);
    const types = rogue.received.map((m) => m.type);
    expect(types).not.toContain('launchTask');
    expect(types).not.toContain('killTask');
    const seen = JSON.stringify(rogue.received);
    for (const t of tasks) expect(seen).not.toContain(t.id);
    expect(seen).not.toContain('sleep 1000');
  });
});

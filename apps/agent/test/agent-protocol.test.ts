import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION, type TaskSpec } from '@atoll/spec';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../src/agent';
import { loadAgentConfig, type AgentConfig } from '../src/env';
import { startAgent } from '../src/index';
import { ControlPeer, type AgentConnection } from './control-peer';
import { dockerForTests, eventually, httpStatus, removeNodeContainers } from './docker-support';
import { makeTaskSpec } from './factories';

const available = await dockerForTests('agent protocol integration tests');
const logger = pino({ level: process.env.ATOLL_TEST_LOG_LEVEL ?? 'silent' });

describe.skipIf(!available)('agent speaking the protocol to a control peer', () => {
  const nodeId = `test-node-${randomUUID()}`;
  let control: ControlPeer;
  let stateDir: string;
  let config: AgentConfig;
  const agents: Agent[] = [];
  let conn: AgentConnection;

  async function newAgent(): Promise<Agent> {
    const agent = await startAgent(config, { logger });
    agents.push(agent);
    return agent;
  }

  function launch(c: AgentConnection, task: TaskSpec): void {
    c.send({ type: 'launchTask', task });
  }

  function order(c: AgentConnection, taskId: string): string[] {
    return c.all.flatMap((m) =>
      m.type === 'taskStatus' && m.report.taskId === taskId ? [m.report.state] : [],
    );
  }

  beforeAll(async () => {
    control = await ControlPeer.start();
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'atoll-agent-test-'));
    config = loadAgentConfig({
      ATOLL_CONTROL_URL: control.url,
      ATOLL_JOIN_TOKEN: 'join-secret',
      ATOLL_AGENT_STATE_DIR: stateDir,
      // One node DNS server per host: these tests do not need it (apps/control/test/dns.test.ts does).
      ATOLL_DNS: 'off',
      ATOLL_RUNTIME: 'docker',
      ATOLL_NODE_ADDRESS: '127.0.0.1',
      ATOLL_NODE_ATTRIBUTES: 'rack=r1',
      ATOLL_LOG_LEVEL: 'silent',
    });
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await control?.close();
    await removeNodeContainers(nodeId);
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('joins with the token and stores the credential privately', async () => {
    await newAgent();
    conn = await control.nextConnection(0);
    const hello = await conn.next('hello');
    expect(hello).toMatchObject({
      protocolVersion: PROTOCOL_VERSION,
      joinToken: 'join-secret',
      address: '127.0.0.1',
      runtime: 'docker',
      attributes: { rack: 'r1' },
      tasks: [],
    });
    expect(hello.nodeId).toBeUndefined();
    expect(hello.credential).toBeUndefined();
    expect(hello.hostname).toBe(os.hostname());
    expect(hello.resources.cpus).toBe(os.cpus().length);
    expect(hello.resources.memMb).toBeGreaterThan(0);
    expect(hello.resources.diskMb).toBeGreaterThan(0);
    expect(hello.resources.portRange).toEqual([10000, 20000]);

    conn.send({
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      nodeId,
      credential: 'cred-1',
      heartbeatIntervalMs: 200,
    });
    await conn.next('heartbeat');
    const file = path.join(stateDir, 'node.json');
    const st = await eventually(() => fs.stat(file), 5_000, 'node.json');
    expect(st.mode & 0o777).toBe(0o600);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual({ nodeId, credential: 'cred-1' });
  });

  it('launches a task and reports STARTING then RUNNING, and survives malformed messages', async () => {
    const task = makeTaskSpec({
      cmd: 'httpd -f -p 8080',
      ports: [{ hostPort: 0, containerPort: 8080, protocol: 'tcp', name: 'http' }],
      killGracePeriodSeconds: 1,
    });
    launch(conn, task);
    await conn.status(task.taskId, 'TASK_STARTING');
    const running = await conn.status(task.taskId, 'TASK_RUNNING');
    expect(running.runtimeId).toMatch(/^[0-9a-f]{64}$/);
    const hostPort = running.ports?.[0]?.hostPort ?? 0;
    expect(hostPort).toBeGreaterThan(0);
    const status = await eventually(() => httpStatus(hostPort), 30_000, 'httpd to answer');
    expect([200, 404]).toContain(status);

    conn.send('this is not json');
    conn.send(JSON.stringify({ type: 'launchTask', task: { taskId: '' } }));
    conn.send(JSON.stringify({ type: 'selfDestruct' }));
    // Still alive: heartbeats go on and the next valid message is obeyed.
    const seen = conn.all.length;
    await conn.next('heartbeat', () => conn.all.length > seen);
    conn.send({ type: 'killTask', taskId: task.taskId, gracePeriodSeconds: 1 });
    await conn.status(task.taskId, 'TASK_KILLING');
    await conn.status(task.taskId, 'TASK_KILLED');
    expect(order(conn, task.taskId)).toEqual([
      'TASK_STARTING',
      'TASK_RUNNING',
      'TASK_KILLING',
      'TASK_KILLED',
    ]);
    expect(conn.invalid).toEqual([]);
  });

  it('reports exits: FINISHED for 0, FAILED with the code otherwise', async () => {
    const ok = makeTaskSpec({ cmd: 'sleep 1; exit 0' });
    const bad = makeTaskSpec({ cmd: 'sleep 1; exit 3' });
    launch(conn, ok);
    launch(conn, bad);
    expect(await conn.status(ok.taskId, 'TASK_FINISHED')).toMatchObject({ exitCode: 0 });
    expect(await conn.status(bad.taskId, 'TASK_FAILED')).toMatchObject({
      exitCode: 3,
      message: 'exited with code 3',
    });
    expect(order(conn, bad.taskId)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
  });

  it('fails a task the runtime cannot start, and answers a duplicate launch with the current state', async () => {
    const broken = makeTaskSpec({
      image: 'atoll-test-busybox:latest',
      cmd: 'true',
      ports: [{ hostPort: 1, containerPort: 1, protocol: 'quic' }],
    });
    launch(conn, broken);
    expect(await conn.status(broken.taskId, 'TASK_FAILED')).toMatchObject({
      message: expect.stringContaining('quic'),
    });
    launch(conn, broken);
    await conn.status(broken.taskId, 'TASK_FAILED');
    expect(order(conn, broken.taskId)).toEqual(['TASK_STARTING', 'TASK_FAILED', 'TASK_FAILED']);
  });

  it('answers a kill of an unknown task with KILLED', async () => {
    conn.send({ type: 'killTask', taskId: 'never-launched', gracePeriodSeconds: 0 });
    expect(await conn.status('never-launched', 'TASK_KILLED')).toMatchObject({
      message: 'no such task on this node',
    });
  });

  it('reconnects after losing control, presenting its credential and current tasks', async () => {
    const task = makeTaskSpec({ cmd: 'sleep 600', killGracePeriodSeconds: 0 });
    launch(conn, task);
    await conn.status(task.taskId, 'TASK_RUNNING');
    const seen = control.connections.length;
    conn.ws.terminate();
    conn = await control.nextConnection(seen);
    const hello = await conn.next('hello');
    expect(hello).toMatchObject({ nodeId, credential: 'cred-1' });
    expect(hello.joinToken).toBeUndefined();
    expect(hello.tasks).toContainEqual(
      expect.objectContaining({ taskId: task.taskId, state: 'TASK_RUNNING' }),
    );
    conn.send({ type: 'welcome', protocolVersion: PROTOCOL_VERSION, nodeId, heartbeatIntervalMs: 200 });
    await conn.next('heartbeat');
  });

  it('retries with backoff when control refuses it as UNAUTHORIZED', async () => {
    const seen = control.connections.length;
    conn.ws.terminate();
    const refused = await control.nextConnection(seen);
    await refused.next('hello');
    refused.send({ type: 'error', code: 'UNAUTHORIZED', message: 'unknown node' });
    refused.ws.close();
    conn = await control.nextConnection(seen + 1);
    await conn.next('hello');
    conn.send({ type: 'welcome', protocolVersion: PROTOCOL_VERSION, nodeId, heartbeatIntervalMs: 200 });
    await conn.next('heartbeat');
  });

  it('re-adopts running containers after its own restart and never restarts them', async () => {
    const first = agents[0];
    const running = first?.taskReports().find((t) => t.state === 'TASK_RUNNING');
    expect(running).toBeDefined();
    const taskId = running?.taskId ?? '';
    await first?.stop();
    const seen = control.connections.length;

    await newAgent();
    conn = await control.nextConnection(seen);
    const hello = await conn.next('hello');
    expect(hello).toMatchObject({ nodeId, credential: 'cred-1' });
    const again = hello.tasks.find((t) => t.taskId === taskId);
    expect(again).toMatchObject({ state: 'TASK_RUNNING', runtimeId: running?.runtimeId });
    // Ended tasks whose containers remain are reported with their final state.
    expect(hello.tasks).toContainEqual(expect.objectContaining({ state: 'TASK_FAILED', exitCode: 3 }));
    conn.send({ type: 'welcome', protocolVersion: PROTOCOL_VERSION, nodeId, heartbeatIntervalMs: 200 });
    conn.send({ type: 'killTask', taskId, gracePeriodSeconds: 0 });
    await conn.status(taskId, 'TASK_KILLED');
  });
});

describe('agent on the exec runtime (no Docker needed)', () => {
  const nodeId = `exec-node-${randomUUID()}`;
  let control: ControlPeer;
  let stateDir: string;
  let config: AgentConfig;
  const agents: Agent[] = [];

  beforeAll(async () => {
    control = await ControlPeer.start();
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'atoll-agent-exec-test-'));
    config = loadAgentConfig({
      ATOLL_CONTROL_URL: control.url,
      ATOLL_JOIN_TOKEN: 'join-secret',
      ATOLL_AGENT_STATE_DIR: stateDir,
      // One node DNS server per host: these tests do not need it (apps/control/test/dns.test.ts does).
      ATOLL_DNS: 'off',
      ATOLL_RUNTIME: 'exec',
      ATOLL_LOG_LEVEL: 'silent',
      PATH: process.env.PATH,
    });
  });

  afterAll(async () => {
    for (const a of agents) {
      for (const t of a.taskReports())
        if (t.state === 'TASK_RUNNING' && t.runtimeId) killGroup(Number(t.runtimeId));
      await a.stop();
    }
    await control?.close();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  function killGroup(pgid: number): void {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  async function connect(welcome: boolean, credential?: string): Promise<AgentConnection> {
    const seen = control.connections.length;
    agents.push(await startAgent(config, { logger }));
    const c = await control.nextConnection(seen);
    const hello = await c.next('hello');
    expect(hello.runtime).toBe('exec');
    if (welcome) {
      c.send({
        type: 'welcome',
        protocolVersion: PROTOCOL_VERSION,
        nodeId,
        heartbeatIntervalMs: 200,
        ...(credential ? { credential } : {}),
      });
    }
    return c;
  }

  it('runs, re-adopts after a restart and kills a plain process', async () => {
    let c = await connect(true, 'cred-exec');
    const task = makeTaskSpec({ image: undefined, cmd: 'exec sleep 600', killGracePeriodSeconds: 1 });
    c.send({ type: 'launchTask', task });
    const running = await c.status(task.taskId, 'TASK_RUNNING');
    expect(Number(running.runtimeId)).toBeGreaterThan(0);

    const image = makeTaskSpec({ image: 'atoll-test-busybox:latest' });
    c.send({ type: 'launchTask', task: image });
    expect(await c.status(image.taskId, 'TASK_FAILED')).toMatchObject({
      message: expect.stringContaining('no Docker Engine'),
    });

    await agents[0]?.stop();
    const seen = control.connections.length;
    c = await connect(false);
    expect(control.connections.length).toBe(seen + 1);
    const hello = c.all.find((m) => m.type === 'hello');
    expect(hello).toMatchObject({ nodeId, credential: 'cred-exec' });
    expect(hello?.type === 'hello' ? hello.tasks : []).toContainEqual(
      expect.objectContaining({ taskId: task.taskId, state: 'TASK_RUNNING', runtimeId: running.runtimeId }),
    );
    c.send({ type: 'welcome', protocolVersion: PROTOCOL_VERSION, nodeId, heartbeatIntervalMs: 200 });
    c.send({ type: 'killTask', taskId: task.taskId, gracePeriodSeconds: 1 });
    expect(await c.status(task.taskId, 'TASK_KILLED')).toMatchObject({ exitCode: 143 });
  });
});

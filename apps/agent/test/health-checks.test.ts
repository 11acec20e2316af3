import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  healthCheckSpecSchema,
  PROTOCOL_VERSION,
  readinessCheckSpecSchema,
  type AgentMessage,
  type HealthCheckSpec,
  type ReadinessCheckSpec,
  type TaskSpec,
} from '@atoll/spec';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../src/agent';
import { loadAgentConfig, type AgentConfig } from '../src/env';
import { startAgent } from '../src/index';
import { ControlPeer, type AgentConnection } from './control-peer';
import { dockerForTests, removeNodeContainers } from './docker-support';
import { makeTaskSpec } from './factories';

const available = await dockerForTests('health check integration tests');
const logger = pino({ level: process.env.ATOLL_TEST_LOG_LEVEL ?? 'silent' });

function healthCheck(overrides: Partial<HealthCheckSpec>): HealthCheckSpec {
  return healthCheckSpecSchema.parse({
    protocol: 'HTTP',
    gracePeriodSeconds: 0,
    intervalSeconds: 0.3,
    timeoutSeconds: 2,
    maxConsecutiveFailures: 0,
    delaySeconds: 0,
    ...overrides,
  });
}

function readinessCheck(overrides: Partial<ReadinessCheckSpec>): ReadinessCheckSpec {
  return readinessCheckSpecSchema.parse({
    name: 'readiness',
    protocol: 'HTTP',
    path: '/',
    port: 0,
    intervalSeconds: 0.3,
    timeoutSeconds: 2,
    httpStatusCodesForReady: [200],
    ...overrides,
  });
}

/** busybox httpd serving /www (index.html present) on container port 8080, published on a port Docker picks. */
function httpdTask(overrides: Partial<TaskSpec> = {}, before = ''): TaskSpec {
  return makeTaskSpec({
    cmd: `mkdir -p /www; echo ok > /www/index.html; ${before} exec httpd -f -p 8080 -h /www`,
    ports: [{ hostPort: 0, containerPort: 8080, protocol: 'tcp', name: 'http' }],
    killGracePeriodSeconds: 1,
    ...overrides,
  });
}

function messagesFor(c: AgentConnection, taskId: string): AgentMessage[] {
  return c.all.filter(
    (m) =>
      (m.type === 'taskStatus' && m.report.taskId === taskId) ||
      ((m.type === 'taskHealth' || m.type === 'taskReadiness') && m.taskId === taskId),
  );
}

describe.skipIf(!available)('health and readiness checks next to Docker tasks', () => {
  const nodeId = `health-node-${randomUUID()}`;
  let control: ControlPeer;
  let stateDir: string;
  let config: AgentConfig;
  const agents: Agent[] = [];
  let conn: AgentConnection;

  async function connect(): Promise<AgentConnection> {
    const seen = control.connections.length;
    agents.push(await startAgent(config, { logger }));
    const c = await control.nextConnection(seen);
    const hello = await c.next('hello');
    c.send({
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      nodeId,
      heartbeatIntervalMs: 500,
      ...(hello.credential ? {} : { credential: 'cred-health' }),
    });
    await c.next('heartbeat');
    return c;
  }

  beforeAll(async () => {
    control = await ControlPeer.start();
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'atoll-agent-health-'));
    config = loadAgentConfig({
      ATOLL_CONTROL_URL: control.url,
      ATOLL_JOIN_TOKEN: 'join-secret',
      ATOLL_AGENT_STATE_DIR: stateDir,
      // One node DNS server per host: these tests do not need it (apps/control/test/dns.test.ts does).
      ATOLL_DNS: 'off',
      ATOLL_RUNTIME: 'docker',
      ATOLL_NODE_ADDRESS: '127.0.0.1',
      ATOLL_NODE_HOSTNAME: 'health-node-1',
      ATOLL_LOG_LEVEL: 'silent',
    });
    conn = await connect();
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await control?.close();
    await removeNodeContainers(nodeId);
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('reports the hostname from ATOLL_NODE_HOSTNAME', () => {
    const hello = conn.all.find((m) => m.type === 'hello');
    expect(hello).toMatchObject({ hostname: 'health-node-1' });
  });

  it('an HTTP check of a busybox httpd task becomes healthy, reported once', async () => {
    // Port 0: the task's port as Docker bound it.
    const task = httpdTask({
      healthChecks: [
        healthCheck({ path: '/index.html', port: 0, gracePeriodSeconds: 30, maxConsecutiveFailures: 3 }),
      ],
    });
    conn.send({ type: 'launchTask', task });
    await conn.status(task.taskId, 'TASK_RUNNING');
    const health = await conn.next('taskHealth', (m) => m.taskId === task.taskId);
    expect(health).toMatchObject({ checkIndex: 0, healthy: true, consecutiveFailures: 0, killing: false });
    // Healthy stays healthy: a later change would be a second message, and there is none after more probes.
    const heartbeats = conn.all.filter((m) => m.type === 'heartbeat').length;
    await conn.next(
      'heartbeat',
      () => conn.all.filter((m) => m.type === 'heartbeat').length > heartbeats + 2,
    );
    expect(messagesFor(conn, task.taskId).filter((m) => m.type === 'taskHealth')).toHaveLength(1);
    conn.send({ type: 'killTask', taskId: task.taskId, gracePeriodSeconds: 1 });
    await conn.status(task.taskId, 'TASK_KILLED');
  });

  it('kills a task whose HTTP check fails (404) maxConsecutiveFailures times', async () => {
    const task = httpdTask({
      healthChecks: [healthCheck({ path: '/missing.html', port: 0, maxConsecutiveFailures: 2 })],
    });
    conn.send({ type: 'launchTask', task });
    await conn.status(task.taskId, 'TASK_RUNNING');
    // httpd may refuse the very first probe before it listens: that failure counts too.
    const first = await conn.next('taskHealth', (m) => m.taskId === task.taskId);
    expect(first).toMatchObject({ healthy: false, consecutiveFailures: 1, killing: false });
    const killing = await conn.next('taskHealth', (m) => m.taskId === task.taskId && m.killing);
    expect(killing).toMatchObject({ healthy: false, consecutiveFailures: 2 });
    const reason = 'killed: failed 2 consecutive health checks';
    expect(await conn.status(task.taskId, 'TASK_KILLING')).toMatchObject({ message: reason });
    expect(await conn.status(task.taskId, 'TASK_KILLED')).toMatchObject({ message: reason });
    expect(
      messagesFor(conn, task.taskId).map((m) => (m.type === 'taskStatus' ? m.report.state : m.type)),
    ).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'taskHealth', 'taskHealth', 'TASK_KILLING', 'TASK_KILLED']);
  });

  it('runs COMMAND checks inside the container: a passing one is healthy, `exit 1` gets the task killed', async () => {
    const good = httpdTask({
      healthChecks: [
        healthCheck({ protocol: 'COMMAND', command: 'test -f /www/index.html && test "$GREETING" = hi' }),
      ],
      env: { GREETING: 'hi' },
    });
    const bad = makeTaskSpec({
      cmd: 'sleep 600',
      healthChecks: [
        healthCheck({ protocol: 'COMMAND', command: 'echo failing >&2; exit 1', maxConsecutiveFailures: 2 }),
      ],
      killGracePeriodSeconds: 1,
    });
    conn.send({ type: 'launchTask', task: good });
    conn.send({ type: 'launchTask', task: bad });
    expect(await conn.next('taskHealth', (m) => m.taskId === good.taskId)).toMatchObject({ healthy: true });
    expect(await conn.next('taskHealth', (m) => m.taskId === bad.taskId)).toMatchObject({
      healthy: false,
      consecutiveFailures: 1,
      message: 'command exited with code 1: failing',
    });
    expect(await conn.next('taskHealth', (m) => m.taskId === bad.taskId && m.killing)).toMatchObject({
      consecutiveFailures: 2,
    });
    expect(await conn.status(bad.taskId, 'TASK_KILLED')).toMatchObject({
      message: 'killed: failed 2 consecutive health checks',
    });
    conn.send({ type: 'killTask', taskId: good.taskId, gracePeriodSeconds: 1 });
    await conn.status(good.taskId, 'TASK_KILLED');
  });

  it('readiness flips to ready when the endpoint starts answering 200', async () => {
    const task = httpdTask(
      { readinessChecks: [readinessCheck({ name: 'ready-file', path: '/ready.html' })] },
      '(sleep 2; echo ok > /www/ready.html) &',
    );
    conn.send({ type: 'launchTask', task });
    await conn.status(task.taskId, 'TASK_RUNNING');
    const first = await conn.next('taskReadiness', (m) => m.taskId === task.taskId);
    expect(first).toMatchObject({ ready: false, results: [{ name: 'ready-file', ready: false }] });
    const ready = await conn.next('taskReadiness', (m) => m.taskId === task.taskId && m.ready);
    expect(ready.results).toEqual([{ name: 'ready-file', ready: true, lastResponse: { status: 200 } }]);
    conn.send({ type: 'killTask', taskId: task.taskId, gracePeriodSeconds: 1 });
    await conn.status(task.taskId, 'TASK_KILLED');
    // Nothing is probed after the task ended.
    const count = messagesFor(conn, task.taskId).length;
    const heartbeats = conn.all.filter((m) => m.type === 'heartbeat').length;
    await conn.next(
      'heartbeat',
      () => conn.all.filter((m) => m.type === 'heartbeat').length > heartbeats + 2,
    );
    expect(messagesFor(conn, task.taskId)).toHaveLength(count);
  });

  it('checks re-adopted containers again after an agent restart, past their grace period', async () => {
    const task = httpdTask({
      healthChecks: [
        healthCheck({ path: '/index.html', port: 0 }),
        healthCheck({ protocol: 'COMMAND', command: 'test -f /www/index.html' }),
      ],
      readinessChecks: [readinessCheck({ path: '/index.html' })],
    });
    conn.send({ type: 'launchTask', task });
    await conn.next('taskHealth', (m) => m.taskId === task.taskId && m.checkIndex === 0 && m.healthy);
    await conn.next('taskHealth', (m) => m.taskId === task.taskId && m.checkIndex === 1 && m.healthy);
    await conn.next('taskReadiness', (m) => m.taskId === task.taskId && m.ready);

    await agents[agents.length - 1]?.stop();
    conn = await connect();
    // The new agent reads the checks from the container's label and probes again.
    expect(
      await conn.next('taskHealth', (m) => m.taskId === task.taskId && m.checkIndex === 0),
    ).toMatchObject({
      healthy: true,
    });
    expect(
      await conn.next('taskHealth', (m) => m.taskId === task.taskId && m.checkIndex === 1),
    ).toMatchObject({
      healthy: true,
    });
    expect(await conn.next('taskReadiness', (m) => m.taskId === task.taskId)).toMatchObject({ ready: true });
    conn.send({ type: 'killTask', taskId: task.taskId, gracePeriodSeconds: 1 });
    await conn.status(task.taskId, 'TASK_KILLED');
  });

  it('fails a task whose image is missing and cannot be pulled, naming the image', async () => {
    const image = `atoll-missing-${randomUUID().slice(0, 8)}:never`;
    const task = makeTaskSpec({ image });
    conn.send({ type: 'launchTask', task });
    const failed = await conn.status(task.taskId, 'TASK_FAILED', 90_000);
    expect(failed.message).toMatch(new RegExp(`^image ${image} not found and no registry reachable: .+`));
  });
});

describe('health checks next to plain processes (exec runtime, no Docker needed)', () => {
  const nodeId = `health-exec-node-${randomUUID()}`;
  let control: ControlPeer;
  let stateDir: string;
  let agent: Agent | undefined;
  let conn: AgentConnection;

  beforeAll(async () => {
    control = await ControlPeer.start();
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'atoll-agent-health-exec-'));
    const config = loadAgentConfig({
      ATOLL_CONTROL_URL: control.url,
      ATOLL_JOIN_TOKEN: 'join-secret',
      ATOLL_AGENT_STATE_DIR: stateDir,
      // One node DNS server per host: these tests do not need it (apps/control/test/dns.test.ts does).
      ATOLL_DNS: 'off',
      ATOLL_RUNTIME: 'exec',
      ATOLL_LOG_LEVEL: 'silent',
      PATH: process.env.PATH,
    });
    agent = await startAgent(config, { logger });
    conn = await control.nextConnection(0);
    await conn.next('hello');
    conn.send({ type: 'welcome', protocolVersion: PROTOCOL_VERSION, nodeId, heartbeatIntervalMs: 500 });
    await conn.next('heartbeat');
  });

  afterAll(async () => {
    for (const t of agent?.taskReports() ?? []) {
      if (t.state !== 'TASK_RUNNING' || !t.runtimeId) continue;
      try {
        process.kill(-Number(t.runtimeId), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await agent?.stop();
    await control?.close();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('a TCP check of a listening process is healthy; a failing COMMAND check kills its task', async () => {
    const port = await freePort();
    const server = `require('net').createServer((s) => s.end()).listen(${port}, '127.0.0.1')`;
    const listening = makeTaskSpec({
      image: undefined,
      cmd: `exec ${JSON.stringify(process.execPath)} -e ${JSON.stringify(server)}`,
      ports: [{ hostPort: port, protocol: 'tcp' }],
      healthChecks: [healthCheck({ protocol: 'TCP', port, gracePeriodSeconds: 30 })],
      killGracePeriodSeconds: 1,
    });
    const failing = makeTaskSpec({
      image: undefined,
      cmd: 'exec sleep 600',
      env: { WANTED: 'missing-file' },
      healthChecks: [
        healthCheck({ protocol: 'COMMAND', command: 'test -f "$WANTED"', maxConsecutiveFailures: 2 }),
      ],
      killGracePeriodSeconds: 1,
    });
    conn.send({ type: 'launchTask', task: listening });
    conn.send({ type: 'launchTask', task: failing });
    expect(await conn.next('taskHealth', (m) => m.taskId === listening.taskId)).toMatchObject({
      healthy: true,
    });
    expect(await conn.next('taskHealth', (m) => m.taskId === failing.taskId && m.killing)).toMatchObject({
      healthy: false,
      consecutiveFailures: 2,
      message: 'command exited with code 1',
    });
    expect(await conn.status(failing.taskId, 'TASK_KILLED')).toMatchObject({
      exitCode: 143,
      message: 'killed: failed 2 consecutive health checks',
    });
    conn.send({ type: 'killTask', taskId: listening.taskId, gracePeriodSeconds: 1 });
    await conn.status(listening.taskId, 'TASK_KILLED');
  });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

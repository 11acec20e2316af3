import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION } from '@atoll/spec';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../src/agent';
import { loadAgentConfig, type AgentConfig } from '../src/env';
import { startAgent } from '../src/index';
import { ControlPeer, type AgentConnection } from './control-peer';
import { dockerForTests, removeNodeContainers } from './docker-support';
import { makeTaskSpec } from './factories';

const available = await dockerForTests('side-by-side agent tests');
const logger = pino({ level: process.env.ATOLL_TEST_LOG_LEVEL ?? 'silent' });

describe.skipIf(!available)('two agents side by side on one Docker Engine', () => {
  const nodes = [`side-a-${randomUUID()}`, `side-b-${randomUUID()}`];
  let control: ControlPeer;
  const stateDirs: string[] = [];
  const configs: AgentConfig[] = [];
  const agents: Agent[] = [];

  async function connect(
    index: number,
  ): Promise<{ conn: AgentConnection; hostname: string; portRange: number[] }> {
    const seen = control.connections.length;
    const config = configs[index];
    if (!config) throw new Error('no config');
    agents.push(await startAgent(config, { logger }));
    const conn = await control.nextConnection(seen);
    const hello = await conn.next('hello');
    conn.send({
      type: 'welcome',
      protocolVersion: PROTOCOL_VERSION,
      nodeId: nodes[index] ?? '',
      heartbeatIntervalMs: 500,
      ...(hello.credential ? {} : { credential: `cred-${index}` }),
    });
    await conn.next('heartbeat');
    return { conn, hostname: hello.hostname, portRange: hello.resources.portRange };
  }

  beforeAll(async () => {
    control = await ControlPeer.start();
    for (let i = 0; i < 2; i++) {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), `atoll-agent-side-${i}-`));
      stateDirs.push(dir);
      configs.push(
        loadAgentConfig({
          ATOLL_CONTROL_URL: control.url,
          ATOLL_JOIN_TOKEN: 'join-secret',
          ATOLL_AGENT_STATE_DIR: dir,
          ATOLL_DNS: 'off',
          ATOLL_RUNTIME: 'docker',
          ATOLL_NODE_ADDRESS: '127.0.0.1',
          ATOLL_NODE_HOSTNAME: `side-${i + 1}`,
          ATOLL_PORT_RANGE: `${23000 + i * 1000}-${23999 + i * 1000}`,
          ATOLL_LOG_LEVEL: 'silent',
        }),
      );
    }
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await control?.close();
    for (const n of nodes) await removeNodeContainers(n);
    await Promise.all(stateDirs.map((d) => fs.rm(d, { recursive: true, force: true })));
  });

  it('report distinct hostnames and port ranges, and never touch each other’s containers', async () => {
    const a = await connect(0);
    let b = await connect(1);
    expect([a.hostname, b.hostname]).toEqual(['side-1', 'side-2']);
    expect([a.portRange, b.portRange]).toEqual([
      [23000, 23999],
      [24000, 24999],
    ]);

    const task = makeTaskSpec({ cmd: 'sleep 600', killGracePeriodSeconds: 0 });
    a.conn.send({ type: 'launchTask', task });
    const running = await a.conn.status(task.taskId, 'TASK_RUNNING');

    // B is told to kill a task it does not have: it answers, and A's container keeps running.
    b.conn.send({ type: 'killTask', taskId: task.taskId, gracePeriodSeconds: 0 });
    expect(await b.conn.status(task.taskId, 'TASK_KILLED')).toMatchObject({
      message: 'no such task on this node',
    });

    // A restarted B does not adopt A's container either.
    await agents[1]?.stop();
    b = await connect(1);
    const hello = b.conn.all.find((m) => m.type === 'hello');
    expect(hello?.type === 'hello' ? hello.tasks : undefined).toEqual([]);

    // A still has its task, untouched, and kills it itself.
    expect(agents[0]?.taskReports().find((t) => t.taskId === task.taskId)).toMatchObject({
      state: 'TASK_RUNNING',
      runtimeId: running.runtimeId,
    });
    a.conn.send({ type: 'killTask', taskId: task.taskId, gracePeriodSeconds: 0 });
    await a.conn.status(task.taskId, 'TASK_KILLED');
    expect(
      a.conn.all.some(
        (m) => m.type === 'taskStatus' && m.report.taskId === task.taskId && m.report.state === 'TASK_FAILED',
      ),
    ).toBe(false);
  });
});

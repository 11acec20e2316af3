import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { appsService, authService, nodesService } from '@atoll/api';
import { createTestDatabase } from '@atoll/db/testing';
import { containerLabels } from '@atoll/spec';
import Docker from 'dockerode';
import pino from 'pino';
import { startControl, type Control } from './control';
import { spawnLocalAgent, type LocalAgent } from './local-agent';

export interface TestCluster {
  url: string;
  adminPassword: string;
  /** An API token of the admin, for `Authorization: Bearer`. */
  token: string;
  control: Control;
  agent: LocalAgent | null;
  /** Starts (or restarts) the cluster's agent with the same state dir, so it is the same node. */
  startAgent(): Promise<LocalAgent>;
  stop(): Promise<void>;
}

/**
 * A real control (fresh PostgreSQL database, random port) and, with `agent`, one real agent
 * process on this host. `stop()` removes everything it started: processes, containers, database.
 */
export async function startTestCluster(opts: { agent?: boolean; console?: boolean; runtime?: 'docker' | 'exec' } = {}): Promise<TestCluster> {
  const database = await createTestDatabase();
  const log = pino({ level: process.env.ATOLL_TEST_LOG ?? 'silent' });
  const control = await startControl({
    databaseUrl: database.url,
    bind: '127.0.0.1',
    port: 0,
    clusterName: 'test',
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 5000,
    console: opts.console ?? false,
    log,
  });
  const adminPassword = `pw-${Math.random().toString(36).slice(2)}-test`;
  await authService.ensureFirstAdmin(control.services, adminPassword);
  const admin = await control.db.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
  const { token } = await authService.createApiToken(control.services, admin.id, 'test');
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'atoll-agent-'));
  const joinToken = `join_${path.basename(stateDir)}_${Math.random().toString(36).slice(2)}`;
  await nodesService.ensureLocalJoinToken(control.services, joinToken);

  const cluster: TestCluster = {
    url: control.url,
    adminPassword,
    token,
    control,
    agent: null,
    async startAgent() {
      await cluster.agent?.stop();
      cluster.agent = spawnLocalAgent({
        controlUrl: control.url,
        joinToken,
        stateDir,
        log,
        env: { ATOLL_RUNTIME: opts.runtime ?? 'docker', ATOLL_LOG_LEVEL: process.env.ATOLL_TEST_LOG ?? 'warn' },
      });
      return cluster.agent;
    },
    async stop() {
      // Delete what the test left running while the agent can still kill it, then sweep.
      await removeAllApps(control);
      await cluster.agent?.stop();
      const nodes = await control.db.prisma.node.findMany({ select: { id: true } });
      await control.stop();
      await removeContainers(nodes.map((n) => n.id));
      await killExecTasks(stateDir);
      await database.drop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  if (opts.agent) await cluster.startAgent();
  return cluster;
}

async function removeAllApps(control: Control): Promise<void> {
  const apps = await control.db.prisma.app.findMany({ select: { id: true, deleting: true } });
  for (const app of apps) if (!app.deleting) await appsService.deleteApp(control.services, app.id);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && (await control.db.prisma.app.count()) > 0) {
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Exec tasks are process groups recorded by the agent in `<state>/exec/tasks.json`. */
async function killExecTasks(stateDir: string): Promise<void> {
  let records: Array<{ pid: number }>;
  try {
    records = (JSON.parse(await readFile(path.join(stateDir, 'exec', 'tasks.json'), 'utf8')) as { tasks: Array<{ pid: number }> }).tasks;
  } catch {
    return;
  }
  for (const r of records) {
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function removeContainers(nodeIds: string[]): Promise<void> {
  if (nodeIds.length === 0) return;
  const docker = new Docker();
  try {
    await docker.ping();
  } catch {
    return; // no Docker Engine: nothing was started there
  }
  for (const nodeId of nodeIds) {
    const list = await docker.listContainers({ all: true, filters: { label: [`${containerLabels.nodeId}=${nodeId}`] } });
    await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  }
}

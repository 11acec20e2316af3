import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { appsService, authService, nodesService, SecretKeyring } from '@atoll/api';
import { createTestDatabase } from '@atoll/db/testing';
import { containerLabels } from '@atoll/spec';
import Docker from 'dockerode';
import pino from 'pino';
import { startControl, type Control } from './control';
import { spawnLocalAgent, type LocalAgent } from './local-agent';

export interface TestAgentOptions {
  /** Reported hostname (several agents on one machine need distinct ones for hostname constraints). */
  hostname?: string;
  attributes?: Record<string, string>;
  /** Host ports this agent hands out; agents on one machine need disjoint ranges. */
  portRange?: [number, number];
  /** More agent settings (ATOLL_*), e.g. ATOLL_RESERVED_CPUS. */
  env?: Record<string, string>;
  /**
   * Run the agent inside this network namespace (`ip netns exec`), so the node has its own address;
   * it reaches control at `controlHost` (control must then bind 0.0.0.0).
   */
  netns?: { name: string; controlHost: string };
}

export interface TestCluster {
  url: string;
  adminPassword: string;
  /** An API token of the admin, for `Authorization: Bearer`. */
  token: string;
  control: Control;
  /** The first agent (null when none runs). */
  agent: LocalAgent | null;
  /** Every agent, by index; null while stopped. */
  agents: Array<LocalAgent | null>;
  /** Starts (or restarts) agent `index` with the same state dir, so it is the same node. */
  startAgent(index?: number): Promise<LocalAgent>;
  /** The node id agent `index` joined as (read from its state dir), or null before it joined. */
  nodeIdOf(index: number): Promise<string | null>;
  /** Stops agent `index`: with 'SIGKILL' as a crash, otherwise gracefully. Its tasks keep running. */
  stopAgent(index?: number, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  /** Start one agent (the default for `agents` when it is not given). */
  agent?: boolean;
  /** Several agents, each a separate process with its own state dir, hostname and port range. */
  agents?: number | TestAgentOptions[];
  console?: boolean;
  runtime?: 'docker' | 'exec';
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** Address control listens on (default 127.0.0.1; 0.0.0.0 for hosts in network namespaces). */
  bind?: string;
}

/**
 * A real control (fresh PostgreSQL database, random port) and real agent processes on this host.
 * `stop()` removes everything it started: processes, containers, exec tasks, the database.
 */
export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const database = await createTestDatabase();
  const adminPassword = `pw-${Math.random().toString(36).slice(2)}-test`;
  const log = pino({ level: process.env.ATOLL_TEST_LOG ?? 'silent' });
  const control = await startControl({
    databaseUrl: database.url,
    bind: opts.bind ?? '127.0.0.1',
    port: 0,
    clusterName: 'test',
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1000,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 5000,
    console: opts.console ?? false,
    log,
    adminPassword,
    dnsPort: 0,
    // A random key per test cluster (the secret store's; docs/secrets.md).
    secretKeys: SecretKeyring.random(),
  });
  const admin = await control.db.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
  const { token } = await authService.createApiToken(control.services, admin.id, 'test');
  const joinToken = `join_test_${Math.random().toString(36).slice(2)}`;
  await nodesService.ensureLocalJoinToken(control.services, joinToken);

  const agentOpts: TestAgentOptions[] =
    typeof opts.agents === 'number'
      ? Array.from({ length: opts.agents }, (_, i) => ({ hostname: `node-${i + 1}` }))
      : (opts.agents ?? [{}]);
  const stateDirs: string[] = [];
  for (let i = 0; i < agentOpts.length; i++)
    stateDirs.push(await mkdtemp(path.join(os.tmpdir(), 'atoll-agent-')));

  const cluster: TestCluster = {
    url: control.url,
    adminPassword,
    token,
    control,
    agent: null,
    agents: agentOpts.map(() => null),
    async startAgent(index = 0) {
      await cluster.agents[index]?.stop();
      const o = agentOpts[index] ?? {};
      // Disjoint port ranges per agent index, so agents on one machine never hand out the same port.
      const range = o.portRange ?? [21000 + index * 1000, 21999 + index * 1000];
      const agent = spawnLocalAgent({
        controlUrl: o.netns ? control.url.replace(/\/\/[^:/]+/, `//${o.netns.controlHost}`) : control.url,
        ...(o.netns ? { netns: o.netns.name } : {}),
        joinToken,
        stateDir: stateDirs[index]!,
        log,
        env: {
          ATOLL_RUNTIME: opts.runtime ?? 'docker',
          ATOLL_LOG_LEVEL: process.env.ATOLL_TEST_LOG ?? 'warn',
          ATOLL_PORT_RANGE: `${range[0]}-${range[1]}`,
          // One node DNS server per host: tests that need it turn it on for one agent.
          ATOLL_DNS: 'off',
          ...(o.hostname ? { ATOLL_NODE_HOSTNAME: o.hostname } : {}),
          ...(o.attributes
            ? {
                ATOLL_NODE_ATTRIBUTES: Object.entries(o.attributes)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(','),
              }
            : {}),
          ...o.env,
        },
      });
      cluster.agents[index] = agent;
      if (index === 0) cluster.agent = agent;
      return agent;
    },
    async nodeIdOf(index) {
      try {
        const identity = JSON.parse(await readFile(path.join(stateDirs[index]!, 'node.json'), 'utf8')) as {
          nodeId?: string;
        };
        return identity.nodeId ?? null;
      } catch {
        return null;
      }
    },
    async stopAgent(index = 0, signal = 'SIGTERM') {
      const agent = cluster.agents[index];
      if (!agent) return;
      if (signal === 'SIGKILL') {
        await new Promise<void>((resolve) => {
          if (agent.process.exitCode !== null || agent.process.signalCode !== null) return resolve();
          agent.process.once('exit', () => resolve());
          agent.process.kill('SIGKILL');
        });
      } else {
        await agent.stop();
      }
      cluster.agents[index] = null;
      if (index === 0) cluster.agent = null;
    },
    async stop() {
      // Delete what the test left running while the agents can still kill it, then sweep.
      if (cluster.agents.some(Boolean)) await removeAllApps(control);
      for (let i = 0; i < cluster.agents.length; i++) await cluster.stopAgent(i);
      const nodes = await control.db.prisma.node.findMany({ select: { id: true } });
      await control.stop();
      await removeContainers(nodes.map((n) => n.id));
      for (const dir of stateDirs) {
        await killExecTasks(dir);
        await rm(dir, { recursive: true, force: true });
      }
      await database.drop();
    },
  };
  const start = opts.agents !== undefined || opts.agent;
  if (start) for (let i = 0; i < agentOpts.length; i++) await cluster.startAgent(i);
  return cluster;
}

async function removeAllApps(control: Control): Promise<void> {
  const apps = await control.db.prisma.app.findMany({ select: { id: true, deleting: true } });
  for (const app of apps)
    if (!app.deleting) await appsService.deleteApp(control.services, app.id, { force: true });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && (await control.db.prisma.app.count()) > 0) {
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Exec tasks are process groups recorded by the agent in `<state>/exec/tasks.json`. */
async function killExecTasks(stateDir: string): Promise<void> {
  let records: Array<{ pid: number }>;
  try {
    records = (
      JSON.parse(await readFile(path.join(stateDir, 'exec', 'tasks.json'), 'utf8')) as {
        tasks: Array<{ pid: number }>;
      }
    ).tasks;
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
    const label = `${containerLabels.nodeId}=${nodeId}`;
    const list = await docker.listContainers({ all: true, filters: { label: [label] } });
    await Promise.all(
      list.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    // Pod instances' ephemeral volumes carry the node label too.
    const { Volumes } = await docker.listVolumes({ filters: { label: [label] } });
    await Promise.all(
      (Volumes ?? []).map((v) =>
        docker
          .getVolume(v.Name)
          .remove()
          .catch(() => undefined),
      ),
    );
  }
}

/** Polls control until `count` nodes are connected (tests start agents and go on at once). */
export async function waitForNodes(
  cluster: Pick<TestCluster, 'url' | 'token'>,
  count = 1,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${cluster.url}/api/v1/nodes`, {
      headers: { authorization: `Bearer ${cluster.token}` },
    });
    const nodes = res.ok ? ((await res.json()) as Array<{ connected: boolean }>) : [];
    if (nodes.filter((n) => n.connected).length >= count) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} connected node(s)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** One Redis command over its inline protocol (the catalog's tests install a real Redis); the reply, trimmed. */
export function redisCommand(port: number, command = 'PING', host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let out = '';
    sock.setTimeout(5_000, () => sock.destroy(new Error('timeout')));
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      out += d.toString();
      // A bulk reply ($n) has a second line.
      const bulk = out.startsWith('$') && !out.startsWith('$-1');
      if (out.endsWith('\r\n') && (!bulk || out.split('\r\n').length >= 3)) sock.end();
    });
    sock.on('close', () => resolve(out.trim()));
    sock.on('error', reject);
  });
}

/** A loopback HTTP server of JSON documents (repository indexes, for the catalog's tests). */
export interface JsonServer {
  /** The URL of the document served at `p` (`/repo.json`). */
  url: (p: string) => string;
  close: () => Promise<void>;
}

/** Serves `docs` (path → JSON document) on 127.0.0.1 on a port the OS picks; 404 for anything else. */
export async function serveJson(docs: Record<string, unknown>): Promise<JsonServer> {
  const server = createServer((req, res) => {
    const doc = req.url === undefined ? undefined : docs[req.url];
    if (doc === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (p) => base + p,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/**
 * A Universe index Atoll can read only in part: the package `name` (one small app), then an entry
 * of a packaging version from the future (6.0) and one without a name. Adding it loads the first
 * and lists the other two as skipped.
 */
export function partlyReadableIndex(name: string): { packages: Array<Record<string, unknown>> } {
  const readable = {
    packagingVersion: '4.0',
    name,
    version: '1.0.0',
    releaseVersion: 0,
    description: 'The one package of its repository Atoll can read',
    tags: ['test'],
    maintainer: 'atoll',
    config: { type: 'object', properties: {} },
    resource: {},
    marathon: {
      v2AppMustacheTemplate: Buffer.from(
        JSON.stringify({ id: `/${name}`, cpus: 0.05, mem: 32, cmd: 'exec sleep 3600' }),
      ).toString('base64'),
    },
  };
  const { name: _nameless, ...withoutName } = readable;
  return {
    packages: [
      readable,
      { ...readable, name: `${name}-next`, version: '2.0.0', packagingVersion: '6.0' },
      { ...withoutName, version: '0.0.1' },
    ],
  };
}

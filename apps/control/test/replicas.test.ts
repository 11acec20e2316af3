import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { newTaskId } from '@atoll/api';
import { createTestDatabase } from '@atoll/db/testing';
import { containerLabels } from '@atoll/spec';
import Docker from 'dockerode';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../src/embedded-postgres';
import { spawnLocalAgent, type LocalAgent } from '../src/local-agent';
import { restClient, skipWithoutDocker, spawnControl, TEST_IMAGE, until } from './support';

const skip = await skipWithoutDocker('control replicas test');

interface Task {
  id: string;
  appId: string;
  state: string;
  host: string;
}

/**
 * Three control replicas as real processes on one PostgreSQL database and three real agents
 * (Docker runtime), one on each replica, so the leader reaches two of them only through the
 * replicas' links. Logs and exec are asked of every replica; then the leader is SIGKILLed while
 * /v2 deployments and scales are in flight, and its agent moves to another replica
 * (ATOLL_CONTROL_URLS).
 */
describe.skipIf(skip)('several control replicas', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const password = 'replicas-test-password';
  const ports: number[] = [];
  const controls: Array<ChildProcess | null> = [];
  const agents: LocalAgent[] = [];
  const stateDirs: string[] = [];
  let token = '';
  const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
  /** Clients of each replica (0 leads at first; agent i starts on replica i). */
  const api = [0, 1, 2].map((i) =>
    restClient(
      () => url(i),
      () => token,
    ),
  );
  const auth = () => ({ authorization: `Bearer ${token}` });

  const exited = (p: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
    });

  beforeAll(async () => {
    database = await createTestDatabase();
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    // Replica 0 first, so it takes the leader lock.
    controls.push(
      await spawnControl({ databaseUrl: database.url, port: ports[0]!, adminPassword: password }),
    );
    const login = await fetch(`${url(0)}/acs/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: 'admin', password }),
    });
    token = ((await login.json()) as { token: string }).token;
    await until(
      'replica 0 to lead',
      () => api[0]!<{ leader: string }>('GET', '/v2/leader'),
      (l) => l.leader.endsWith(`:${ports[0]}`),
    );
    for (const i of [1, 2])
      controls.push(
        await spawnControl({ databaseUrl: database.url, port: ports[i]!, adminPassword: password }),
      );
    const join = await api[1]!<{ token: string }>('POST', '/api/v1/nodes/join-tokens', { singleUse: false });
    for (const i of [0, 1, 2]) {
      const stateDir = await mkdtemp(path.join(os.tmpdir(), 'atoll-agent-'));
      stateDirs.push(stateDir);
      agents.push(
        spawnLocalAgent({
          controlUrl: url(i),
          joinToken: join.token,
          stateDir,
          log: pino({ level: 'silent' }),
          env: {
            ATOLL_RUNTIME: 'docker',
            ATOLL_NODE_HOSTNAME: `replica-node-${i}`,
            ATOLL_PORT_RANGE: `${25000 + i * 1000}-${25999 + i * 1000}`,
            ATOLL_LOG_LEVEL: 'warn',
            ATOLL_DNS: 'off',
            // The other replicas, tried in turn when the connection to the first is lost.
            ATOLL_CONTROL_URLS: [0, 1, 2]
              .filter((j) => j !== i)
              .map(url)
              .join(','),
          },
        }),
      );
    }
    // Every replica sees the three nodes connected, each held by the replica it joined.
    for (const i of [0, 1, 2])
      await until(
        `three connected nodes seen by replica ${i}`,
        () => api[i]!<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
        (ns) => ns.filter((n) => n.connected).length === 3,
      );
    const held = await database.db.pool.query<{ n: number }>(
      'SELECT count(DISTINCT replica_id)::int AS n FROM nodes WHERE replica_id IS NOT NULL',
    );
    expect(held.rows[0]!.n).toBe(3);
  }, 180_000);

  afterAll(async () => {
    const live = [0, 1, 2].find(
      (i) => controls[i] && controls[i]!.exitCode === null && !controls[i]!.signalCode,
    );
    if (live !== undefined) {
      const apps = await api[live]!<{ apps: Array<{ id: string }> }>('GET', '/v2/apps').catch(() => ({
        apps: [],
      }));
      for (const a of apps.apps)
        await api[live]!('DELETE', `/v2/apps${a.id}?force=true`).catch(() => undefined);
      await until(
        'the apps to be gone',
        () => api[live]!<{ apps: unknown[] }>('GET', '/v2/apps').catch(() => ({ apps: [] })),
        (r) => r.apps.length === 0,
        30_000,
      ).catch(() => undefined);
    }
    for (const a of agents) await a.stop();
    for (const c of controls) {
      if (!c) continue;
      c.kill('SIGTERM');
      await Promise.race([exited(c), new Promise((r) => setTimeout(r, 10_000))]);
      c.kill('SIGKILL');
    }
    const docker = new Docker();
    for (const dir of stateDirs) {
      const nodeId = await readFile(path.join(dir, 'node.json'), 'utf8')
        .then((t) => (JSON.parse(t) as { nodeId?: string }).nodeId)
        .catch(() => undefined);
      if (nodeId) {
        const left = await docker.listContainers({
          all: true,
          filters: { label: [`${containerLabels.nodeId}=${nodeId}`] },
        });
        await Promise.all(
          left.map((c) =>
            docker
              .getContainer(c.Id)
              .remove({ force: true })
              .catch(() => undefined),
          ),
        );
      }
      await rm(dir, { recursive: true, force: true });
    }
    await database?.drop();
  }, 120_000);

  const app = (id: string, instances: number, cmd = 'exec sleep 3600') => ({
    id,
    instances,
    cpus: 0.01,
    mem: 8,
    cmd,
    container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
  });

  it('relays logs and exec to the replica holding the agent', async () => {
    await api[0]!(
      'POST',
      '/v2/apps',
      app('/ha/talker', 1, 'echo hello-from-the-task; echo oops >&2; exec sleep 3600'),
    );
    const [task] = await until(
      'the talker to run',
      async () => (await api[0]!<{ tasks: Task[] }>('GET', '/v2/apps/ha/talker/tasks')).tasks,
      (ts) => ts.length === 1 && ts[0]!.state === 'TASK_RUNNING',
    );
    // Two of the three replicas do not hold the task's node: they relay.
    const holders = await database.db.pool.query<{ replica_id: string | null }>(
      'SELECT n.replica_id FROM nodes n JOIN tasks t ON t.node_id = n.id WHERE t.id = $1',
      [task!.id],
    );
    expect(holders.rows[0]?.replica_id).toBeTruthy();
    const logsAt = async (i: number) => {
      const res = await fetch(`${url(i)}/api/v1/tasks/${encodeURIComponent(task!.id)}/logs?lines=all`, {
        headers: auth(),
      });
      expect(res.status).toBe(200);
      return res.text();
    };
    for (const i of [0, 1, 2]) {
      const text = await until(
        `the log through replica ${i}`,
        () => logsAt(i),
        (t) => t.includes('oops'),
        20_000,
      );
      expect(text).toContain('hello-from-the-task');
    }
    const stderrOnly = await fetch(
      `${url(0)}/api/v1/tasks/${encodeURIComponent(task!.id)}/logs?lines=all&stream=stderr`,
      { headers: auth() },
    );
    expect(await stderrOnly.text()).toBe('oops\n');

    const exec = (i: number, input: string) =>
      new Promise<{ out: string; err: string; exitCode: number | null }>((resolve, reject) => {
        const q = new URLSearchParams([
          ['command', 'sh'],
          ['command', '-c'],
          ['command', 'read line; echo "got $line"; echo bad >&2; exit 4'],
        ]);
        const ws = new WebSocket(
          `${url(i).replace('http', 'ws')}/api/v1/tasks/${encodeURIComponent(task!.id)}/exec?${q.toString()}`,
          { headers: auth() },
        );
        let out = '';
        let err = '';
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (isBinary) {
            if (data[0] === 2) err += data.subarray(1).toString();
            else out += data.subarray(1).toString();
            return;
          }
          const msg = JSON.parse(data.toString()) as { type: string; exitCode?: number | null };
          if (msg.type === 'started') {
            ws.send(Buffer.from(`${input}\n`), { binary: true });
            ws.send(JSON.stringify({ type: 'eof' }));
          }
          if (msg.type === 'exit') resolve({ out, err, exitCode: msg.exitCode ?? null });
        });
        ws.on('unexpected-response', (_req, res) => reject(new Error(`exec refused: ${res.statusCode}`)));
        ws.on('error', reject);
      });
    for (const i of [0, 1, 2]) {
      const r = await exec(i, `stdin-${i}`);
      expect(r).toEqual({ out: `got stdin-${i}\n`, err: 'bad\n', exitCode: 4 });
    }

    // The link is for replicas only: a caller without the holder's token is refused.
    const outsider = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${url(1).replace('http', 'ws')}/internal/v1/replicas/link`, {
        headers: { ...auth(), 'x-atoll-replica-token': 'guessed' },
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', reject);
    });
    expect(outsider).toBe(401);
    await api[0]!('DELETE', '/v2/apps/ha/talker?force=true');
  }, 120_000);

  it('loses and duplicates nothing when the leader is killed under load', async () => {
    // An app whose second task the leader staged but dies before sending (below).
    await api[0]!('POST', '/v2/apps', app('/ha/lost', 1));
    await until(
      'the first task of /ha/lost to run',
      async () => (await api[0]!<{ tasks: Task[] }>('GET', '/v2/apps/ha/lost/tasks')).tasks,
      (ts) => ts.length === 1 && ts[0]!.state === 'TASK_RUNNING',
    );
    const apps = Array.from({ length: 5 }, (_, i) => `/ha/load-${i}`);
    // Deployments and scales in flight, through every replica.
    for (const [i, id] of apps.entries()) await api[i % 3]!('POST', '/v2/apps', app(id, 2));
    await api[1]!('PUT', '/v2/apps/ha/load-0?force=true', { instances: 3 });
    await api[2]!('PUT', '/v2/apps/ha/load-1?force=true', { instances: 1 });
    await until(
      'the first tasks to be staged',
      async () => (await api[1]!<{ tasks: Task[] }>('GET', '/v2/tasks')).tasks.length,
      (n) => n >= 1,
      30_000,
    );
    // What the leader's reconciler leaves when it dies between writing a task and sending its
    // launch: one more instance wanted and its task STAGING, unknown to every agent. The state is
    // consistent, so a pass of the old leader in between changes nothing.
    const lostTaskId = newTaskId('/ha/lost');
    // On a node a surviving replica holds (the dead one's agent is not back when the next leader
    // is elected; its hello would mark the task GONE, and the reconciler replace it).
    await database.db.pool.query(
      `WITH scaled AS (
         UPDATE apps SET definition = jsonb_set(definition, '{instances}', '2') WHERE id = '/ha/lost' RETURNING id),
       node AS (
         SELECT n.id, n.address FROM nodes n JOIN control_replicas r ON r.id = n.replica_id
         WHERE r.url <> $2 LIMIT 1)
       INSERT INTO tasks (id, app_id, app_version, node_id, state, host, ports, cpus, mem_mb, disk_mb, staged_at, updated_at)
       SELECT $1, t.app_id, t.app_version, node.id, 'TASK_STAGING', node.address, '[]', t.cpus, t.mem_mb, t.disk_mb, now(), now()
       FROM tasks t JOIN scaled ON scaled.id = t.app_id, node LIMIT 1`,
      [lostTaskId, url(0)],
    );
    const leader = controls[0]!;
    leader.kill('SIGKILL');
    await exited(leader);
    controls[0] = null;
    await api[2]!('PUT', '/v2/apps/ha/load-2?force=true', { instances: 4 });

    await until(
      'another replica to lead',
      () => api[1]!<{ leader: string }>('GET', '/v2/leader').catch(() => ({ leader: '' })),
      (l) => l.leader.endsWith(`:${ports[1]}`) || l.leader.endsWith(`:${ports[2]}`),
      30_000,
    );
    // The killed replica's agent says hello to another one; its tasks keep running meanwhile.
    await until(
      'three connected nodes after the kill',
      () => api[1]!<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
      (ns) => ns.filter((n) => n.connected).length === 3,
      60_000,
    );
    const want: Record<string, number> = {
      '/ha/load-0': 3,
      '/ha/load-1': 1,
      '/ha/load-2': 4,
      '/ha/load-3': 2,
      '/ha/load-4': 2,
      '/ha/lost': 2,
    };
    await until(
      'every deployment to finish',
      () => api[2]!<unknown[]>('GET', '/v2/deployments'),
      (d) => d.length === 0,
      120_000,
    );
    const { tasks } = await until(
      'every app at its instance count, all running',
      () => api[1]!<{ tasks: Task[] }>('GET', '/v2/tasks'),
      (r) =>
        Object.entries(want).every(
          ([id, n]) => r.tasks.filter((t) => t.appId === id && t.state === 'TASK_RUNNING').length === n,
        ) && r.tasks.filter((t) => t.appId in want).length === 14,
      120_000,
    );
    for (const [id, n] of Object.entries(want)) expect(tasks.filter((t) => t.appId === id)).toHaveLength(n);
    // The staged task was launched by the next leader, under its own id (not replaced by another).
    expect(tasks.find((t) => t.id === lostTaskId)?.state).toBe('TASK_RUNNING');

    // No task launched twice: one container per task id on the Docker Engine, and the running
    // containers are exactly the running tasks.
    const docker = new Docker();
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${containerLabels.appId}`] },
    });
    const ours = containers.filter((c) => (c.Labels[containerLabels.appId] ?? '') in want);
    const perTask = new Map<string, number>();
    for (const c of ours) {
      const id = c.Labels[containerLabels.taskId]!;
      perTask.set(id, (perTask.get(id) ?? 0) + 1);
    }
    expect([...perTask.values()].every((n) => n === 1)).toBe(true);
    const runningContainers = ours
      .filter((c) => c.State === 'running')
      .map((c) => c.Labels[containerLabels.taskId]);
    expect(runningContainers.sort()).toEqual(
      tasks
        .filter((t) => t.appId in want)
        .map((t) => t.id)
        .sort(),
    );

    // Events were not recorded twice: one task_staged per task, one deployment_success per deployment.
    const dup = await database.db.pool.query<{ type: string; key: string; n: number }>(
      `SELECT type, COALESCE(payload->>'taskId', payload->>'id') AS key, count(*)::int AS n FROM events
       WHERE type IN ('task_staged', 'deployment_success') GROUP BY 1, 2 HAVING count(*) > 1`,
    );
    expect(dup.rows).toEqual([]);
    // The killed replica's row is gone, and no agent is said to be held by it.
    const replicas = await database.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM control_replicas',
    );
    expect(replicas.rows[0]!.n).toBe(2);
    const orphans = await database.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM nodes WHERE replica_id IS NULL OR replica_id NOT IN (SELECT id FROM control_replicas)',
    );
    expect(orphans.rows[0]!.n).toBe(0);
  }, 300_000);
});

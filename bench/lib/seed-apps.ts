/**
 * Seeds a cluster's database directly with N nodes and M apps of K RUNNING tasks each, in a few
 * raw SQL statements, so the read path can be measured at datacenter size without placing 10,000
 * tasks first. The rows are the ones the real path writes: the definition as `POST /v2/apps`
 * stores it (parsed and normalised by @atoll/spec), its app version, a finished StartApplication
 * deployment, and tasks as the reconciler creates them (task ids, ports from the node's range, the
 * app's version) after the agent reported TASK_RUNNING (runtime id, started_at). read-seed.test.ts
 * checks that a seeded app reads exactly like one deployed through an agent.
 *
 * The nodes have no agent: they look connected with a fresh heartbeat, so a control started with
 * a long heartbeat timeout leaves them (and their tasks) alone.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseAppDefinition, requestedPorts, type AppDefinition, type TaskPort } from '@atoll/spec';
import { newTaskId } from '@atoll/api';
import type { Pool, PoolClient } from 'pg';

export interface SeedOptions {
  apps: number;
  instances: number;
  nodes: number;
  /** App i's Marathon definition (default: a 1-port busybox web server under /bench/reads). */
  definition?: (i: number) => Record<string, unknown>;
  now?: Date;
}

export interface Seeded {
  appIds: string[];
  nodeIds: string[];
  taskCount: number;
}

export function defaultDefinition(i: number, instances: number): Record<string, unknown> {
  return {
    id: `/bench/reads/group-${String(Math.floor(i / 100)).padStart(2, '0')}/web-${String(i).padStart(4, '0')}`,
    cmd: 'httpd -f -p 8080',
    cpus: 0.01,
    mem: 16,
    instances,
    container: {
      type: 'DOCKER',
      docker: { image: 'atoll-test-busybox:latest' },
      portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }],
    },
    networks: [{ mode: 'container/bridge' }],
    labels: { team: `team-${i % 7}`, tier: i % 2 ? 'web' : 'api' },
    env: { APP_INDEX: String(i) },
  };
}

/** The ports a task of `def` gets, as the scheduler hands them out: a free one for each 0. */
function taskPorts(def: AppDefinition, hostPort: () => number): TaskPort[] {
  return requestedPorts(def).map((p) => ({ ...p, hostPort: p.hostPort === 0 ? hostPort() : p.hostPort }));
}

export async function seedApps(pool: Pool, opts: SeedOptions): Promise<Seeded> {
  // One transaction: a leader's reconciler must never see the apps without their tasks (it would
  // try to place them, and write a placement issue on every app until the tasks appear).
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    const seeded = await insertSeed(db, opts);
    await db.query('COMMIT');
    await db.query('ANALYZE nodes, apps, app_versions, deployments, tasks');
    return seeded;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

async function insertSeed(db: PoolClient, opts: SeedOptions): Promise<Seeded> {
  const now = opts.now ?? new Date();
  const nodes = Array.from({ length: opts.nodes }, (_, i) => ({
    id: randomUUID(),
    hostname: `seed-${String(i).padStart(4, '0')}`,
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    nextPort: 20000,
  }));
  await db.query(
    `INSERT INTO nodes (id, hostname, address, runtime, status, mode, cpus, mem_mb, disk_mb,
        port_range_start, port_range_end, attributes, agent_version, credential_hash, connected,
        registered_at, last_heartbeat_at)
     SELECT id, hostname, address, 'docker', 'ACTIVE', 'ACTIVE', 64, 262144, 1048576, 20000, 29999,
        jsonb_build_object('rack', 'r' || (ord % 10)), 'seed', hash, true, $4, $4
     FROM unnest($1::uuid[], $2::text[], $3::text[], $5::text[]) WITH ORDINALITY AS n(id, hostname, address, hash, ord)`,
    [
      nodes.map((n) => n.id),
      nodes.map((n) => n.hostname),
      nodes.map((n) => n.address),
      now,
      nodes.map(() => randomBytes(32).toString('hex')),
    ],
  );

  const apps: Array<{ id: string; def: AppDefinition; version: string }> = [];
  for (let i = 0; i < opts.apps; i++) {
    const raw = opts.definition?.(i) ?? defaultDefinition(i, opts.instances);
    const r = parseAppDefinition(raw);
    if (!r.ok) throw new Error(`seed definition ${i} does not parse: ${JSON.stringify(r.issues)}`);
    // Versions are ISO timestamps, unique per app (apps.ts nextVersion); spread a little.
    const version = new Date(now.getTime() - (opts.apps - i) * 10).toISOString();
    apps.push({ id: r.value.id, def: r.value, version });
  }
  const defs = apps.map((a) => JSON.stringify(a.def));
  await db.query(
    `INSERT INTO apps (id, version, config_version, definition, created_at, updated_at)
     SELECT id, version, version, definition, created, $4 FROM unnest($1::text[], $2::text[], $3::jsonb[], $5::timestamptz[])
       AS a(id, version, definition, created)`,
    [apps.map((a) => a.id), apps.map((a) => a.version), defs, now, apps.map((a) => new Date(a.version))],
  );
  await db.query(
    `INSERT INTO app_versions (app_id, version, definition, created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::timestamptz[])`,
    [apps.map((a) => a.id), apps.map((a) => a.version), defs, apps.map((a) => new Date(a.version))],
  );
  await db.query(
    `INSERT INTO deployments (id, affected_apps, steps, current_step, original, status, version, created_at, finished_at)
     SELECT gen_random_uuid(), ARRAY[app_id], jsonb_build_array(jsonb_build_object('actions',
              jsonb_build_array(jsonb_build_object('action', 'StartApplication', 'app', app_id)))),
            1, '{}'::jsonb, 'FINISHED', version, created, $3
     FROM unnest($1::text[], $2::text[], $4::timestamptz[]) AS d(app_id, version, created)`,
    [apps.map((a) => a.id), apps.map((a) => a.version), now, apps.map((a) => new Date(a.version))],
  );

  // Tasks, spread round-robin over the nodes (what the scheduler's spread does on equal nodes).
  const t = {
    id: [] as string[],
    appId: [] as string[],
    version: [] as string[],
    nodeId: [] as string[],
    host: [] as string[],
    ports: [] as string[],
    cpus: [] as number[],
    mem: [] as number[],
    disk: [] as number[],
    runtimeId: [] as string[],
    stagedAt: [] as Date[],
    startedAt: [] as Date[],
  };
  let k = 0;
  for (const app of apps) {
    for (let j = 0; j < opts.instances; j++, k++) {
      const node = nodes[k % nodes.length]!;
      const staged = new Date(new Date(app.version).getTime() + 5);
      t.id.push(newTaskId(app.id));
      t.appId.push(app.id);
      t.version.push(app.version);
      t.nodeId.push(node.id);
      t.host.push(node.address);
      t.ports.push(JSON.stringify(taskPorts(app.def, () => node.nextPort++)));
      t.cpus.push(app.def.cpus);
      t.mem.push(app.def.mem);
      t.disk.push(app.def.disk);
      t.runtimeId.push(randomBytes(32).toString('hex'));
      t.stagedAt.push(staged);
      t.startedAt.push(new Date(staged.getTime() + 400));
    }
  }
  // In slices: one statement's parameters stay small even at 100,000 tasks.
  const slice = 5000;
  for (let from = 0; from < t.id.length; from += slice) {
    const part = <T>(xs: T[]) => xs.slice(from, from + slice);
    await db.query(
      `INSERT INTO tasks (id, app_id, app_version, node_id, state, host, ports, cpus, mem_mb, disk_mb,
          runtime_id, staged_at, started_at, updated_at)
       SELECT id, app_id, version, node_id, 'TASK_RUNNING', host, ports, cpus, mem, disk, runtime_id,
          staged, started, started
       FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::jsonb[],
          $7::float8[], $8::float8[], $9::float8[], $10::text[], $11::timestamptz[], $12::timestamptz[])
         AS t(id, app_id, version, node_id, host, ports, cpus, mem, disk, runtime_id, staged, started)`,
      [
        part(t.id),
        part(t.appId),
        part(t.version),
        part(t.nodeId),
        part(t.host),
        part(t.ports),
        part(t.cpus),
        part(t.mem),
        part(t.disk),
        part(t.runtimeId),
        part(t.stagedAt),
        part(t.startedAt),
      ],
    );
  }
  return { appIds: apps.map((a) => a.id), nodeIds: nodes.map((n) => n.id), taskCount: t.id.length };
}

/**
 * `npm run bench:reads [-- --apps 1000 --instances 10 --nodes 100 --samples 100 --clients 16]`:
 * the read path at datacenter size. Starts a control on PostgreSQL (its own database, dropped at
 * the end) without an agent, seeds apps × instances RUNNING tasks on fake nodes straight into the
 * database (bench/lib/seed-apps.ts), and measures p50/p99 of sequential reads and req/s with
 * concurrent clients (bench/lib/read-latency.ts). The baseline is the same reads on the same
 * control at 1 app / 1 task, measured first in the same run; the table prints the ratios.
 * Target (issue #14): GET /v2/apps p99 ≤ 50 ms at 1,000 apps.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '@atoll/db/testing';
import pg from 'pg';
import { freePort } from '../apps/control/src/embedded-postgres';
import { formatReads, measureReads } from './lib/read-latency';
import { seedApps } from './lib/seed-apps';
import { spawnBenchControl } from './lib/control-process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { values } = parseArgs({
  options: {
    apps: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '10' },
    nodes: { type: 'string', default: '100' },
    samples: { type: 'string', default: '100' },
    clients: { type: 'string', default: '16' },
  },
});
const apps = Number(values.apps);
const instances = Number(values.instances);
const nodes = Number(values.nodes);
const samples = Number(values.samples);
const clients = Number(values.clients);

/** CPU seconds (user + system) of a process so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const password = `bench-${Math.random().toString(36).slice(2)}`;
  let control: ChildProcess | null = null;
  try {
    // A real control in its own process, as in production (its CPU apart from the clients'),
    // without an agent; a day's heartbeat timeout, so the seeded nodes (no agent behind them) and
    // their tasks stay as seeded: nothing for the reconciler to do while the reads run.
    control = spawnBenchControl({
      databaseUrl: database.url,
      port,
      adminPassword: password,
      env: { ATOLL_HEARTBEAT_TIMEOUT_MS: String(24 * 3600_000) },
      // READS_CPU_PROF=<dir>: control writes a V8 CPU profile there when it exits (node --cpu-prof).
      nodeArgs: process.env.READS_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.READS_CPU_PROF}`]
        : [],
    });
    for (let i = 0; ; i++) {
      if ((await fetch(`${url}/health`).catch(() => null))?.ok) break;
      if (control.exitCode !== null || i > 600) throw new Error('control did not answer');
      await sleep(100);
    }
    const login = await fetch(`${url}/acs/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: 'admin', password }),
    });
    const token = ((await login.json()) as { token: string }).token;
    const pid = control.pid!;

    await seedApps(pool, { apps: 1, instances: 1, nodes: 1 });
    let cpu0 = cpuSeconds(pid);
    const baseline = await measureReads({ baseUrl: url, token, clients, samples });
    const baseCpu = cpuSeconds(pid) - cpu0;
    await pool.query('DELETE FROM apps');
    await pool.query('DELETE FROM deployments');
    await pool.query('DELETE FROM nodes');

    let t0 = performance.now();
    const seeded = await seedApps(pool, { apps, instances, nodes });
    const seedMs = performance.now() - t0;
    const check = (await (
      await fetch(`${url}/v2/apps`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { apps: Array<{ tasksRunning: number }> };
    const running = check.apps.reduce((a, x) => a + x.tasksRunning, 0);
    if (check.apps.length !== apps || running !== seeded.taskCount)
      throw new Error(
        `seeded ${apps} apps / ${seeded.taskCount} tasks, /v2/apps shows ${check.apps.length} / ${running}`,
      );

    t0 = performance.now();
    cpu0 = cpuSeconds(pid);
    const rows = await measureReads({ baseUrl: url, token, clients, samples });
    const cpu = cpuSeconds(pid) - cpu0;
    const measureS = (performance.now() - t0) / 1000;
    console.log(
      `reads at ${apps} apps × ${instances} = ${seeded.taskCount} RUNNING tasks on ${nodes} nodes ` +
        `(seeded in ${(seedMs / 1000).toFixed(1)} s; ${samples} sequential samples per read, ` +
        `then ${Math.max(samples, clients * 2)} requests from ${clients} clients; ${measureS.toFixed(0)} s)`,
    );
    console.log('ratios (×) against the baseline: the same reads on the same control at 1 app / 1 task\n');
    console.log(formatReads(rows, baseline));
    console.log('\nbaseline (1 app / 1 task):\n');
    console.log(formatReads(baseline));
    const v2 = rows.find((r) => r.name === 'GET /v2/apps')!;
    console.log(
      `\ncontrol (child process): CPU ${cpu.toFixed(1)} s for the reads (baseline ${baseCpu.toFixed(1)} s), ` +
        `RSS ${rssMb(pid).toFixed(0)} MiB after them`,
    );
    console.log(
      `GET /v2/apps p99 ${v2.p99Ms.toFixed(1)} ms at ${apps} apps: target ≤ 50 ms ${v2.p99Ms <= 50 ? 'met' : 'NOT met'}`,
    );
  } finally {
    if (control && control.exitCode === null && control.signalCode === null) {
      const exited = new Promise((r) => control!.once('exit', r));
      control.kill('SIGTERM');
      setTimeout(() => control!.kill('SIGKILL'), 10_000).unref();
      await exited;
    }
    await pool.end();
    await database.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

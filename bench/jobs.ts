/**
 * `npm run bench:jobs [-- --jobs N] [-- --parallel P]`: N jobs (default 1,000) all scheduled on
 * the same minute, on a real control (a child process, as in production: its CPU time is read from
 * /proc/<pid>/stat) and one real agent running Docker containers. Each run is `echo job` in
 * atoll-test-busybox:latest (scripts/test-image.sh), cpus 0.01 and mem 32 (Metronome's minimums).
 *
 * Measured:
 * - the fire and start times: each run's container start (Docker's State.StartedAt) minus the
 *   scheduled minute, p50/p99/max, and the spread from the first start to the last;
 * - control's CPU time (user + system) from one second before the minute until every run has
 *   finished, against its idle rate just before; the agent's too;
 * - the baseline, in the same run: the same N containers (same image, command, --cpus, --memory,
 *   host network) started with plain `docker run -d`, at most P at once (default 50); delays
 *   counted from the moment the first `docker run` is issued.
 * Prints the ratios (Atoll / docker run); absolute times on a shared machine are noise.
 *
 * Resources, honestly: the agent offers what the host has (apps/agent/src/resources.ts: all CPUs
 * and memory, no override upwards; ATOLL_RESERVED_* only takes away). On this 2-CPU host 1,000 ×
 * 0.01 CPU is 10 CPUs, so at most 200 runs hold resources at once and the rest wait for a
 * finished run's share, as Metronome's runs would wait for offers; the bench reports the most
 * tasks seen at once and how many runs had to wait. Nothing is faked: no inflated node.
 *
 * Everything it starts goes afterwards: the jobs (deleted through the API), the containers (both
 * sets, by label), the agent, control and its database.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase } from '@atoll/db/testing';
import Docker from 'dockerode';
import pg from 'pg';
import pino from 'pino';
import { freePort } from '../apps/control/src/embedded-postgres';
import { spawnLocalAgent, type LocalAgent } from '../apps/control/src/local-agent';
import { spawnBenchControl } from './lib/control-process';

const IMAGE = 'atoll-test-busybox:latest';
const CMD = 'echo job';
const CPUS = 0.01;
const MEM = 32;
const BENCH_LABEL = `io.atoll.bench=jobs-${process.pid}`;

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`);
  return v;
};
const N = arg('jobs', 1000);
const PARALLEL = arg('parallel', 50);

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** User + system CPU time of a process so far, in ms (/proc/<pid>/stat, fields 14 and 15). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}
const CLK_TCK = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;

/** Runs `fn` over `items`, at most `limit` at once. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Docker's State.StartedAt of each container, in ms since the epoch (nanoseconds cut to ms). */
async function startTimes(docker: Docker, ids: string[]): Promise<number[]> {
  return pool(ids, 16, async (id) => {
    const info = await docker.getContainer(id).inspect();
    const m = /^(.*T\d\d:\d\d:\d\d)(\.\d{1,3})?\d*Z$/.exec(info.State.StartedAt);
    return Date.parse(m ? `${m[1]}${m[2] ?? ''}Z` : info.State.StartedAt);
  });
}

interface Spread {
  first: number;
  p50: number;
  p99: number;
  last: number;
  spread: number;
}
const spreadOf = (delays: number[]): Spread => ({
  first: Math.min(...delays),
  p50: quantile(delays, 0.5),
  p99: quantile(delays, 0.99),
  last: Math.max(...delays),
  spread: Math.max(...delays) - Math.min(...delays),
});

async function main(): Promise<void> {
  const docker = new Docker();
  await docker
    .getImage(IMAGE)
    .inspect()
    .catch(() => {
      throw new Error(`${IMAGE} is missing: run scripts/test-image.sh`);
    });
  const database = await createTestDatabase();
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'atoll-agent-'));
  const password = `bench-${Math.random().toString(36).slice(2)}`;
  let control: ChildProcess | null = null;
  let agent: LocalAgent | null = null;
  let token = '';
  let nodeId = '';
  const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(url + p, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return (text ? JSON.parse(text) : null) as T;
  };
  const ids = Array.from({ length: N }, (_, i) => `bench.job-${String(i).padStart(5, '0')}`);

  try {
    control = spawnBenchControl({ databaseUrl: database.url, port, adminPassword: password });
    for (let i = 0; ; i++) {
      if ((await fetch(`${url}/health`).catch(() => null))?.ok) break;
      if (i > 600) throw new Error('control did not answer');
      await sleep(100);
    }
    const login = await fetch(`${url}/acs/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: 'admin', password }),
    });
    token = ((await login.json()) as { token: string }).token;
    const join = await api<{ token: string }>('POST', '/api/v1/nodes/join-tokens', { singleUse: false });
    agent = spawnLocalAgent({
      controlUrl: url,
      joinToken: join.token,
      stateDir,
      log: pino({ level: 'silent' }),
      env: {
        ATOLL_RUNTIME: 'docker',
        ATOLL_PORT_RANGE: '25000-25999',
        ATOLL_DNS: 'off',
        ATOLL_LOG_LEVEL: 'warn',
      },
    });
    let node: { id: string; connected: boolean; resources: { cpus: number; memMb: number } } | undefined;
    for (let i = 0; !node?.connected; i++) {
      if (i > 600) throw new Error('the agent did not join');
      await sleep(100);
      node = (await api<Array<NonNullable<typeof node>>>('GET', '/api/v1/nodes'))[0];
    }
    nodeId = node.id;
    const fits = Math.min(
      Math.floor(node.resources.cpus / CPUS + 1e-9),
      Math.floor(node.resources.memMb / MEM),
    );
    console.log(
      `node: ${node.resources.cpus} CPUs, ${node.resources.memMb} MiB (as the agent reports the host); ` +
        `${N} runs × ${CPUS} CPU, ${MEM} MiB: at most ${Math.min(fits, N)} hold resources at once` +
        (fits < N ? `, the other ${N - fits} wait for a finished run's share` : ''),
    );

    // The jobs, then their schedules on one minute far enough ahead for all of them to be created.
    let t0 = performance.now();
    await pool(ids, 8, (id) =>
      api('POST', '/v1/jobs', {
        id,
        run: { cmd: CMD, cpus: CPUS, mem: MEM, disk: 0, docker: { image: IMAGE } },
      }),
    );
    const perJobMs = (performance.now() - t0) / N;
    const minute = Math.ceil((Date.now() + 10_000 + 1.5 * perJobMs * N) / 60_000) * 60_000;
    const at = new Date(minute);
    const cron = `${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
    t0 = performance.now();
    await pool(ids, 8, (id) =>
      api('POST', `/v1/jobs/${id}/schedules`, {
        id: 'once',
        cron,
        timezone: 'UTC',
        startingDeadlineSeconds: 300,
      }),
    );
    const { rows: due } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM job_schedules WHERE next_run_at = $1',
      [at],
    );
    if (due[0]!.n !== N || Date.now() > minute - 3_000)
      throw new Error(`schedules not all in place before ${at.toISOString()} (${due[0]!.n} of ${N})`);
    console.log(
      `created ${N} jobs (${perJobMs.toFixed(1)} ms each) and their schedules '${cron}' (UTC) ` +
        `for ${at.toISOString()} (${((performance.now() - t0) / N).toFixed(1)} ms each)`,
    );

    // Control's idle rate just before the minute, then the burst.
    await sleep(minute - 12_000 - Date.now());
    const idle0 = { t: Date.now(), cpu: await cpuMs(control.pid!) };
    await sleep(minute - 1_000 - Date.now());
    const burst0 = { t: Date.now(), cpu: await cpuMs(control.pid!), agent: await cpuMs(agent.process.pid!) };
    const idleRate = (burst0.cpu - idle0.cpu) / (burst0.t - idle0.t);
    let maxLive = 0;
    const deadline = minute + Math.max(300_000, N * 1_000);
    for (;;) {
      await sleep(1_000);
      const { rows } = await db.query<{ finished: number; live: number }>(
        `SELECT (SELECT count(*)::int FROM job_runs WHERE status IN ('SUCCESS', 'FAILED')) AS finished,
                (SELECT count(*)::int FROM tasks WHERE run_id IS NOT NULL
                   AND state IN ('TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING')) AS live`,
      );
      maxLive = Math.max(maxLive, rows[0]!.live);
      if (rows[0]!.finished >= N) break;
      if (Date.now() > deadline)
        throw new Error(
          `only ${rows[0]!.finished} of ${N} runs finished by ${new Date(deadline).toISOString()}`,
        );
    }
    const burst1 = { t: Date.now(), cpu: await cpuMs(control.pid!), agent: await cpuMs(agent.process.pid!) };

    const { rows: runs } = await db.query<{
      status: string;
      reason: string | null;
      created_at: Date;
      staged_at: Date | null;
      attempts: number;
    }>(
      `SELECT r.status, r.reason, r.created_at, r.attempts, min(t.staged_at) AS staged_at
       FROM job_runs r LEFT JOIN tasks t ON t.run_id = r.id GROUP BY r.id`,
    );
    const failed = runs.filter((r) => r.status !== 'SUCCESS').length;
    const reasons = new Map<string, number>();
    for (const r of runs)
      if (r.status !== 'SUCCESS') {
        const why = (r.reason ?? r.status).replace(/task \S+ /, 'task ');
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
    const fired = runs.map((r) => r.created_at.getTime() - minute);
    const staged = runs.flatMap((r) => (r.staged_at ? [r.staged_at.getTime() - minute] : []));
    const atollContainers = await docker.listContainers({
      all: true,
      // Only the runs' containers are on this node (the agent keeps them after they exit).
      filters: { label: [`io.atoll.node-id=${nodeId}`] },
    });
    const atoll = spreadOf(
      (
        await startTimes(
          docker,
          atollContainers.map((c) => c.Id),
        )
      ).map((t) => t - minute),
    );
    const controlCpu = burst1.cpu - burst0.cpu;
    const controlIdle = idleRate * (burst1.t - burst0.t);
    const agentCpu = burst1.agent - burst0.agent;

    // The baseline: the same containers with plain `docker run -d`, at most PARALLEL at once.
    const d0 = Date.now();
    await pool(ids, PARALLEL, (_, i) =>
      run('docker', [
        'run',
        '-d',
        '--network',
        'host',
        '--cpus',
        String(CPUS),
        '--memory',
        `${MEM}m`,
        '--label',
        BENCH_LABEL,
        '--name',
        `atoll-bench-jobs-${process.pid}-${i}`,
        '--entrypoint',
        '/bin/sh',
        IMAGE,
        '-c',
        CMD,
      ]),
    );
    const dockerWall = Date.now() - d0;
    const baselineContainers = await docker.listContainers({ all: true, filters: { label: [BENCH_LABEL] } });
    const base = spreadOf(
      (
        await startTimes(
          docker,
          baselineContainers.map((c) => c.Id),
        )
      ).map((t) => t - d0),
    );

    const row = (name: string, s: Spread) =>
      `  ${name.padEnd(22)} first ${sec(s.first)}, p50 ${sec(s.p50)}, p99 ${sec(s.p99)}, last ${sec(s.last)}; spread first→last ${sec(s.spread)}`;
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
    console.log(
      `\n${N} runs on one minute (${atollContainers.length} Atoll containers, ${baselineContainers.length} docker run):`,
    );
    console.log(
      `  Atoll: fired (run created) p50 ${sec(quantile(fired, 0.5))}, max ${sec(Math.max(...fired))} after the minute; ` +
        `placed (task staged) p50 ${sec(quantile(staged, 0.5))}, max ${sec(Math.max(...staged))}; ` +
        `${failed} not SUCCESS; ${runs.filter((r) => r.attempts > 1).length} restarted; most tasks at once ${maxLive}`,
    );
    for (const [why, n] of reasons) console.log(`    ${n} × ${why}`);
    console.log(row('Atoll (after minute)', atoll));
    console.log(row(`docker run -d ×${PARALLEL}`, base));
    console.log(
      `  ratios Atoll / docker run: spread ${ratio(atoll.spread, base.spread)}, p50 ${ratio(atoll.p50, base.p50)}, ` +
        `p99 ${ratio(atoll.p99, base.p99)}, last start ${ratio(atoll.last, base.last)} ` +
        `(docker run's last command returned after ${sec(dockerWall)})`,
    );
    console.log(
      `  control CPU from 1 s before the minute to the last run finished (${sec(burst1.t - burst0.t)}): ` +
        `${sec(controlCpu)} (${(controlCpu / N).toFixed(1)} ms per run; idle rate would give ${sec(controlIdle)}); ` +
        `agent CPU ${sec(agentCpu)} (${(agentCpu / N).toFixed(1)} ms per run)`,
    );
  } finally {
    // The jobs through the API (so control forgets them), then everything this bench started.
    if (token && control?.exitCode === null)
      await pool(ids, 8, (id) =>
        api('DELETE', `/v1/jobs/${id}?stopCurrentJobRuns=true`).catch(() => undefined),
      );
    await agent?.stop();
    if (control && control.exitCode === null && control.signalCode === null) {
      const exited = new Promise((r) => control!.once('exit', r));
      control.kill('SIGTERM');
      setTimeout(() => control!.kill('SIGKILL'), 10_000).unref();
      await exited;
    }
    const left = [
      ...(nodeId
        ? await docker.listContainers({ all: true, filters: { label: [`io.atoll.node-id=${nodeId}`] } })
        : []),
      ...(await docker.listContainers({ all: true, filters: { label: [BENCH_LABEL] } })),
    ];
    await pool(left, 16, (c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    );
    await db.end();
    await database.drop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

await main();

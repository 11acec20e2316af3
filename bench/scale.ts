/**
 * `npm run bench:scale [-- --counts 100,500,1000,2000] [-- --max N] [-- --window S] [-- --apps A]
 * [-- --instances K] [-- --lose L]`: one control (a child process, as in production, without its
 * local agent; default heartbeat settings) on PostgreSQL (ATOLL_TEST_DATABASE_URL or the local
 * server; its own database, dropped at the end) and hollow agents (apps/agent/src/hollow) in this
 * process. Prints:
 *
 * - the baseline, in the same run: control's idle CPU share and RSS with one agent, and one app of
 *   one instance deploy → RUNNING;
 * - for each N: time until N fresh agents are all connected, then over a window of steady
 *   heartbeats (`--window`, default 30 s) control's CPU share and RSS, and the CPU of the
 *   PostgreSQL backends serving its database (per 1,000 agents);
 * - with W agents (1,000, or the largest N when smaller): A apps × K instances (1,000 × 10)
 *   posted through /v2 by 8 clients → time until all A×K tasks are RUNNING from the first and
 *   from the last POST, placements per second end to end; the read latencies at that size
 *   (bench/lib/read-latency.ts); then L agents (100) lost at once (sockets destroyed, no
 *   reconnect) → time until their tasks run elsewhere, from the kill and from the moment control
 *   declared the last of them UNREACHABLE (its heartbeat timeout).
 *
 * CPU is read from /proc (utime + stime): control's process and the backends in
 * pg_stat_activity for the bench's database. Nodes of an earlier N are deleted (SQL, the bench's own
 * database) before the next N joins, so each N is measured alone. The hollow agents share the
 * machine with control: on a small host their own CPU (printed) competes with it.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startHollowAgents, type HollowAgents } from '@atoll/agent/hollow';
import { createTestDatabase } from '@atoll/db/testing';
import pg from 'pg';
import { freePort } from '../apps/control/src/embedded-postgres';
import { formatReads, measureReads } from './lib/read-latency';
import { spawnBenchControl } from './lib/control-process';

const { values: args } = parseArgs({
  options: {
    counts: { type: 'string', default: '100,500,1000,2000' },
    max: { type: 'string' },
    window: { type: 'string', default: '30' },
    apps: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '10' },
    lose: { type: 'string', default: '100' },
    'skip-reads': { type: 'boolean', default: false },
  },
});
const positive = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number`);
  return n;
};
const MAX = args.max === undefined ? Infinity : positive('max', args.max);
const COUNTS = args
  .counts!.split(',')
  .map((c) => positive('counts', c.trim()))
  .filter((c) => c <= MAX);
if (COUNTS.length === 0) throw new Error('no agent count left to measure (--counts, --max)');
const WINDOW_MS = positive('window', args.window) * 1000;
const APPS = positive('apps', args.apps);
const INSTANCES = positive('instances', args.instances);
const LOSE = positive('lose', args.lose);
/** Agents of the workload phase: 1,000, or the largest count measured when smaller. */
const WORKLOAD_AGENTS = Math.min(1000, Math.max(...COUNTS));

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const CLK_TCK = Number((await run('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
const pct2 = (share: number) => `${(share * 100).toFixed(2)}%`;

/** User + system CPU time of a process so far, in ms (/proc/<pid>/stat, fields 14 and 15); 0 when gone. */
async function cpuMs(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

interface Window {
  ms: number;
  /** Control's CPU time over the window / wall time (1.0 = one core). */
  controlShare: number;
  controlRss: number;
  /** The same for the PostgreSQL backends of the bench's database. */
  pgShare: number;
  /** This process (the hollow agents). */
  hollowShare: number;
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const dbName = new URL(database.url).pathname.slice(1);
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'atoll-scale-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const password = `bench-${Math.random().toString(36).slice(2)}`;
  let control: ChildProcess | null = null;
  let hollow: HollowAgents | null = null;
  let token = '';
  const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return (text ? JSON.parse(text) : null) as T;
  };
  const count = async (sql: string, params: unknown[] = []): Promise<number> =>
    (await db.query<{ n: number }>(sql, params)).rows[0]!.n;
  const runningTasks = () => count(`SELECT count(*)::int AS n FROM tasks WHERE state = 'TASK_RUNNING'`);
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number, stepMs = 100) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(stepMs);
    }
  };
  const pgBackends = async () =>
    (
      await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [dbName])
    ).rows.map((r) => r.pid);
  /**
   * CPU of the PostgreSQL backends of the bench's database: sampled every second, as pools open and
   * close connections during a window. A backend counts from its first sample (0 when it opened
   * during the window) to its last while alive, so a closed one loses at most its last second.
   */
  const pgTracker = async () => {
    const seen = new Map<number, { first: number; last: number }>();
    const sample = async (atStart: boolean) => {
      for (const pid of await pgBackends()) {
        const now = await cpuMs(pid);
        if (now === 0) continue;
        const known = seen.get(pid);
        if (known) known.last = now;
        else seen.set(pid, { first: atStart ? now : 0, last: now });
      }
    };
    await sample(true);
    return {
      sample: () => sample(false),
      totalMs: () => [...seen.values()].reduce((sum, p) => sum + (p.last - p.first), 0),
    };
  };
  const measureWindow = async (ms: number): Promise<Window> => {
    const pid = control!.pid!;
    const pg = await pgTracker();
    const t0 = performance.now();
    const [c0, h0] = [await cpuMs(pid), process.cpuUsage()];
    let rss = 0;
    const end = t0 + ms;
    while (performance.now() < end) {
      rss = Math.max(rss, await rssBytes(pid));
      await pg.sample();
      await sleep(Math.min(1000, end - performance.now()));
    }
    await pg.sample();
    const wall = performance.now() - t0;
    const h = process.cpuUsage(h0);
    return {
      ms: wall,
      controlShare: ((await cpuMs(pid)) - c0) / wall,
      controlRss: Math.max(rss, await rssBytes(pid)),
      pgShare: pg.totalMs() / wall,
      hollowShare: (h.user + h.system) / 1000 / wall,
    };
  };
  const newJoinToken = async () =>
    (await api<{ token: string }>('POST', '/api/v1/nodes/join-tokens', { singleUse: false })).token;
  /** Stops the current hollow set and deletes its nodes, so the next set is measured alone. */
  const dropAgents = async () => {
    await hollow?.stop();
    hollow = null;
    await sleep(500);
    await db.query('DELETE FROM nodes');
  };
  const lines: string[] = [];
  const say = (line: string) => {
    console.log(line);
    lines.push(line);
  };

  try {
    // SCALE_CPU_PROF=<dir>: control writes a V8 CPU profile there when it exits (node --cpu-prof).
    const prof = process.env.SCALE_CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SCALE_CPU_PROF}`]
      : [];
    control = spawnBenchControl({
      databaseUrl: database.url,
      port,
      adminPassword: password,
      env: { ATOLL_DATA_DIR: dataDir },
      nodeArgs: prof,
    });
    await until(
      'control to answer',
      async () => (await fetch(`${url}/health`).catch(() => null))?.ok === true,
      120_000,
    );
    const login = await fetch(`${url}/acs/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: 'admin', password }),
    });
    token = ((await login.json()) as { token: string }).token;
    say(
      `bench:scale — control without local agent, default heartbeat (ATOLL_HEARTBEAT_INTERVAL_MS 2 s, ` +
        `timeout 6 s); ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)} at start; window ${sec(WINDOW_MS)}`,
    );

    // ---- baseline: one agent, one app of one instance ------------------------------------------
    hollow = startHollowAgents({ url, joinToken: await newJoinToken(), count: 1, hostnamePrefix: 'base' });
    await hollow.waitConnected(1, 60_000);
    await sleep(3_000);
    const idle = await measureWindow(WINDOW_MS);
    let t0 = performance.now();
    await api('POST', '/v2/apps', { id: '/bench/base', cpus: 0.1, mem: 32, cmd: 'sleep 3600', instances: 1 });
    await until('the baseline task', async () => (await runningTasks()) === 1, 60_000, 20);
    const baseDeployMs = performance.now() - t0;
    await api('DELETE', '/v2/apps/bench/base?force=true');
    await until(
      'the baseline app to go',
      async () => (await count('SELECT count(*)::int AS n FROM apps')) === 0,
      60_000,
    );
    say(
      `baseline (1 agent): control CPU ${pct(idle.controlShare)}, RSS ${mib(idle.controlRss)}, PostgreSQL ${pct2(idle.pgShare)}; ` +
        `1 app × 1 instance deploy → RUNNING ${(baseDeployMs / 1000).toFixed(2)} s`,
    );
    await dropAgents();

    // ---- N agents at steady heartbeats ---------------------------------------------------------
    for (const n of COUNTS) {
      t0 = performance.now();
      hollow = startHollowAgents({ url, joinToken: await newJoinToken(), count: n, hostnamePrefix: `h${n}` });
      await hollow.waitConnected(n, 300_000 + n * 200);
      const connectMs = performance.now() - t0;
      // Let the join burst's writes drain before measuring steady state.
      await sleep(5_000);
      const w = await measureWindow(WINDOW_MS);
      const lost = n - hollow.connected();
      say(
        `${String(n).padStart(5)} agents: all connected in ${sec(connectMs)}; steady: control CPU ${pct(w.controlShare)} ` +
          `(${(w.controlShare / idle.controlShare).toFixed(1)}× idle), RSS ${mib(w.controlRss)} ` +
          `(${(w.controlRss / idle.controlRss).toFixed(2)}× idle); PostgreSQL ${pct2(w.pgShare)} ` +
          `(${pct2((w.pgShare * 1000) / n)} per 1,000 agents); hollow agents ${pct(w.hollowShare)}` +
          (lost > 0 ? `; ${lost} disconnected during the window` : ''),
      );
      await dropAgents();
    }

    // ---- the workload: A apps × K instances on W agents -------------------------------------
    const total = APPS * INSTANCES;
    // 2 CPUs a node and 0.1 CPU a task: the tasks need half the cluster, so the lost nodes' tasks
    // have somewhere to go, and a node holds at most 20 of them.
    hollow = startHollowAgents({
      url,
      joinToken: await newJoinToken(),
      count: WORKLOAD_AGENTS,
      hostnamePrefix: 'w',
      resources: () => ({ cpus: 2, memMb: 8192, diskMb: 102_400, portRange: [10_000, 20_000] }),
    });
    await hollow.waitConnected(WORKLOAD_AGENTS, 600_000);
    await sleep(5_000);
    const ids = Array.from({ length: APPS }, (_, i) => `/bench/scale/app-${String(i).padStart(4, '0')}`);
    let next = 0;
    let lastPost = 0;
    const postErrors: string[] = [];
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          // A refused POST (5xx, or 409 from concurrent creations in one group) is retried up to 3 times and counted: the run goes on, the count is printed.
          for (let attempt = 0; ; attempt++) {
            try {
              await api('POST', '/v2/apps', {
                id,
                cpus: 0.1,
                mem: 32,
                cmd: 'sleep 3600',
                instances: INSTANCES,
              });
              break;
            } catch (err) {
              if (attempt >= 3 || !/: (5\d\d|409) /.test(String(err))) throw err;
              postErrors.push(String(err).slice(0, 200));
              await sleep(200);
            }
          }
        }
      }),
    );
    lastPost = performance.now();
    let seen = 0;
    await until(
      `${total} RUNNING tasks`,
      async () => (seen = await runningTasks()) >= total,
      Math.max(600_000, total * 100),
      250,
    );
    const allRunning = performance.now();
    if (postErrors.length > 0)
      say(
        `${postErrors.length} POST /v2/apps answered 5xx/409 and were retried; distinct answers: ` +
          [...new Set(postErrors)].slice(0, 5).join(' | '),
      );
    say(
      `${APPS} apps × ${INSTANCES} instances on ${WORKLOAD_AGENTS} agents (8 clients): posted in ${sec(lastPost - t0)}; ` +
        `${seen} RUNNING ${sec(allRunning - t0)} after the first POST, ${sec(allRunning - lastPost)} after the last ` +
        `(${((total * 1000) / (allRunning - t0)).toFixed(0)} placements/s end to end; baseline 1 app × 1: ${(baseDeployMs / 1000).toFixed(2)} s)`,
    );
    await sleep(5_000);
    const loaded = await measureWindow(WINDOW_MS);
    say(
      `steady with ${WORKLOAD_AGENTS} agents and ${total} tasks: control CPU ${pct(loaded.controlShare)}, RSS ${mib(loaded.controlRss)}, ` +
        `PostgreSQL ${pct2(loaded.pgShare)}`,
    );

    // ---- reads at that size (part "reads" of #14: bench/lib/read-latency.ts) -------------------
    if (!args['skip-reads']) {
      const rows = await measureReads({ baseUrl: url, token, clients: 16, samples: 50 });
      say(`reads at ${APPS} apps / ${total} tasks (p50, p99 sequential; req/s with 16 clients):`);
      for (const line of formatReads(rows).split('\n')) say(`  ${line}`);
    }

    // ---- L agents lost at once ---------------------------------------------------------------
    // Every (W/L)th agent, whatever it holds: the scheduler bin-packs, so some hold 20 tasks and
    // some none, as in a real cluster; the tasks they held are counted below.
    const stride = Math.max(1, Math.floor(WORKLOAD_AGENTS / LOSE));
    const lost = hollow.kill(0, (all) =>
      all.filter((a) => a.connected && a.index % stride === 0).slice(0, Math.min(LOSE, WORKLOAD_AGENTS - 1)),
    );
    const tKill = performance.now();
    const lostIds = lost.map((a) => a.nodeId!);
    const lostTasks = lost.reduce((sum, a) => sum + a.liveTasks().length, 0);
    let tFirstDeclared = 0;
    let tDeclared = 0;
    await until(
      `${lostTasks} tasks replaced`,
      async () => {
        if (!tDeclared) {
          const declared = await count(
            `SELECT count(*)::int AS n FROM nodes WHERE id = ANY($1::uuid[]) AND status = 'UNREACHABLE'`,
            [lostIds],
          );
          if (declared > 0 && !tFirstDeclared) tFirstDeclared = performance.now();
          if (declared === lostIds.length) tDeclared = performance.now();
        }
        const elsewhere = await count(
          `SELECT count(*)::int AS n FROM tasks WHERE state = 'TASK_RUNNING' AND node_id <> ALL($1::uuid[])`,
          [lostIds],
        );
        return tDeclared > 0 && elsewhere >= total;
      },
      600_000,
      100,
    );
    const tReplaced = performance.now();
    say(
      `${lost.length} agents lost at once (${lostTasks} tasks): declared UNREACHABLE ${sec(tFirstDeclared - tKill)}–${sec(tDeclared - tKill)} after the kill; ` +
        `all ${total} RUNNING again ${sec(tReplaced - tKill)} after the kill, ${sec(tReplaced - tDeclared)} after the last was declared lost`,
    );
  } finally {
    await hollow?.stop().catch(() => undefined);
    if (control && control.exitCode === null) {
      const exited = new Promise((r) => control!.once('exit', r));
      control.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (control.exitCode === null) control.kill('SIGKILL');
    }
    await db.end();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
  console.log('\nsummary:\n' + lines.join('\n'));
}

await main();
process.exit(0);

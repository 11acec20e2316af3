/**
 * `npm run bench:agent`: the agent's footprint on a host — resident memory and CPU share — idle and
 * with 20 running containers, at the default 10 s metrics interval. Debian's
 * `prometheus-node-exporter`, scraped every 10 s, is measured the same way in the same run as the
 * reference. The agent measured is the bundle hosts run (`node atoll-agent.mjs`), not tsx.
 * Targets: ≤ 60 MB RSS idle, ≤ 1% of a core with 20 containers.
 *
 * WINDOW_SECONDS (default 60) sets each measuring window.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AGENT_NODE_FLAGS, bundleAgent } from '../apps/agent/src/bundle';
import { nodesService } from '@atoll/api';
import { startTestCluster } from '@atoll/control/testing';

const IMAGE = 'atoll-test-busybox:latest';
const WINDOW_S = Number(process.env.WINDOW_SECONDS ?? 60);
const EXPORTER = '/usr/bin/prometheus-node-exporter';
const TICKS = 100;

interface Sample {
  rssMiB: number;
  cpuSeconds: number;
}

async function sample(pid: number): Promise<Sample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
  return { rssMiB: rss, cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS };
}

/** RSS (mean of samples each second) and CPU share of one core over the window. */
async function measure(pids: Record<string, number>, seconds: number, tick?: (s: number) => Promise<void>) {
  const first: Record<string, Sample> = {};
  const rss: Record<string, number[]> = {};
  for (const [k, pid] of Object.entries(pids)) {
    first[k] = await sample(pid);
    rss[k] = [];
  }
  const t0 = performance.now();
  for (let s = 1; s <= seconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    if (tick) await tick(s);
    for (const [k, pid] of Object.entries(pids)) rss[k]!.push((await sample(pid)).rssMiB);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const out: Record<string, { rssMiB: number; cpuPercent: number }> = {};
  for (const [k, pid] of Object.entries(pids)) {
    const last = await sample(pid);
    out[k] = {
      rssMiB: rss[k]!.reduce((a, b) => a + b, 0) / rss[k]!.length,
      cpuPercent: ((last.cpuSeconds - first[k]!.cpuSeconds) / elapsed) * 100,
    };
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function main(): Promise<void> {
  if (!existsSync(EXPORTER))
    throw new Error(`${EXPORTER} is missing: apt-get install -y prometheus-node-exporter`);
  const bundle = await bundleAgent();
  const cluster = await startTestCluster({ agents: 0 });
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'atoll-bench-agent-'));
  const joinToken = `join_bench_${Math.random().toString(36).slice(2)}`;
  await nodesService.ensureLocalJoinToken(cluster.control.services, joinToken);
  const auth = { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' };
  const procs: ChildProcess[] = [];
  try {
    const agent = spawn(process.execPath, [...AGENT_NODE_FLAGS, bundle], {
      env: {
        ...process.env,
        ATOLL_CONTROL_URL: cluster.url,
        ATOLL_JOIN_TOKEN: joinToken,
        ATOLL_AGENT_STATE_DIR: stateDir,
        ATOLL_RUNTIME: 'docker',
        ATOLL_LOG_LEVEL: 'warn',
        ATOLL_PORT_RANGE: '23000-23999',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    procs.push(agent);
    const port = await freePort();
    const exporter = spawn(EXPORTER, [`--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    procs.push(exporter);
    const scrape = async (s: number) => {
      if (s % 10 === 0) await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    };
    for (let i = 0; i < 200; i++) {
      const nodes = (await (await fetch(`${cluster.url}/api/v1/nodes`, { headers: auth })).json()) as Array<{
        connected: boolean;
      }>;
      if (nodes[0]?.connected) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Settle after start (module loading, first connection).
    await new Promise((r) => setTimeout(r, 5000));
    const pids = { agent: agent.pid!, exporter: exporter.pid! };
    console.log(`measuring ${WINDOW_S} s idle…`);
    const idle = await measure(pids, WINDOW_S, scrape);

    const res = await fetch(`${cluster.url}/v2/apps`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        id: '/bench/twenty',
        instances: 20,
        cpus: 0.01,
        mem: 8,
        cmd: 'exec sleep 100000',
        container: { docker: { image: IMAGE } },
      }),
    });
    if (res.status !== 201) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
    for (;;) {
      const { tasks } = (await (
        await fetch(`${cluster.url}/v2/apps/bench/twenty/tasks`, { headers: auth })
      ).json()) as { tasks: Array<{ state: string }> };
      if (tasks.filter((t) => t.state === 'TASK_RUNNING').length === 20) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 5000));
    console.log(`measuring ${WINDOW_S} s with 20 containers…`);
    const busy = await measure(pids, WINDOW_S, scrape);

    const row = (
      name: string,
      a: { rssMiB: number; cpuPercent: number },
      b: { rssMiB: number; cpuPercent: number },
    ) =>
      `${name.padEnd(30)} ${a.rssMiB.toFixed(1).padStart(9)} ${a.cpuPercent.toFixed(2).padStart(8)} ${b.rssMiB.toFixed(1).padStart(9)} ${b.cpuPercent.toFixed(2).padStart(8)}`;
    console.log('');
    console.log(`${''.padEnd(30)} ${'idle'.padStart(18)} ${'20 containers'.padStart(18)}`);
    console.log(
      `${'process'.padEnd(30)} ${'RSS MiB'.padStart(9)} ${'CPU %'.padStart(8)} ${'RSS MiB'.padStart(9)} ${'CPU %'.padStart(8)}`,
    );
    console.log(
      row(`atoll-agent (bundle) ${AGENT_NODE_FLAGS.join(' ')}`.slice(0, 30), idle.agent!, busy.agent!),
    );
    console.log(row('prometheus-node-exporter', idle.exporter!, busy.exporter!));
    console.log('');
    console.log(
      `agent / node-exporter RSS: idle ${(idle.agent!.rssMiB / idle.exporter!.rssMiB).toFixed(2)}×, 20 containers ${(busy.agent!.rssMiB / busy.exporter!.rssMiB).toFixed(2)}×`,
    );
    console.log(
      `agent / node-exporter CPU: idle ${(idle.agent!.cpuPercent / Math.max(idle.exporter!.cpuPercent, 0.001)).toFixed(2)}×, 20 containers ${(busy.agent!.cpuPercent / Math.max(busy.exporter!.cpuPercent, 0.001)).toFixed(2)}×`,
    );
    const mb = idle.agent!.rssMiB * 1.048576;
    console.log(
      `targets: idle RSS ${mb.toFixed(1)} MB (≤ 60 MB: ${mb <= 60 ? 'met' : 'NOT met'}); CPU with 20 containers ${busy.agent!.cpuPercent.toFixed(2)}% of a core (≤ 1%: ${busy.agent!.cpuPercent <= 1 ? 'met' : 'NOT met'})`,
    );
    await fetch(`${cluster.url}/v2/apps/bench/twenty?force=true`, { method: 'DELETE', headers: auth });
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${cluster.url}/v2/apps/bench/twenty`, { headers: auth });
      if (r.status === 404) break;
      await new Promise((r2) => setTimeout(r2, 250));
    }
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 2000));
    await cluster.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

await main();

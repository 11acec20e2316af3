/**
 * `npm run bench:vip`: what the agent's userspace VIP proxy costs. An HTTP task sits behind a named
 * VIP; a plain Node HTTP client on the host measures, in the same run and interleaved, requests to
 * the VIP and directly to the task's host port:
 *
 * - latency (p50/p99) one request at a time, and throughput (requests/s) with CONCURRENCY clients;
 * - keep-alive off (a new TCP connection per request: the proxy's accept + backend connect are
 *   paid each time) and on (connections reused: only the proxy's copying is paid).
 *
 * Two backends: busybox `httpd` in Docker (it closes every connection, so keep-alive does not
 * apply; its direct path already goes through Docker's port publishing) and a Node HTTP server
 * run by the exec runtime (a plain process; keep-alive off and on).
 *
 * REQUESTS (default 3000) per measurement, CONCURRENCY (default 16). Absolute numbers on a shared
 * machine are noise; the ratios are the result.
 */
import http from 'node:http';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';

const IMAGE = 'atoll-test-busybox:latest';
const REQUESTS = Number(process.env.REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);

interface Vip {
  name: string | null;
  ip: string;
  port: number;
  mode: string;
  backends: Array<{ host: string; port: number; healthy: boolean; totalConnections: number; errors: number }>;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

function request(agent: http.Agent, url: URL): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

interface Result {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

/** Latency one at a time, then throughput with `CONCURRENCY` workers, over one agent (keep-alive or not). */
async function measure(url: URL, keepAlive: boolean): Promise<Result> {
  const agent = new http.Agent({ keepAlive, maxSockets: CONCURRENCY });
  let errors = 0;
  try {
    for (let i = 0; i < 50; i++) await request(agent, url).catch(() => errors++); // warm-up
    errors = 0;
    const latencies: number[] = [];
    for (let i = 0; i < Math.min(REQUESTS, 2000); i++) {
      const t0 = performance.now();
      await request(agent, url).then(
        () => latencies.push(performance.now() - t0),
        () => errors++,
      );
    }
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < REQUESTS) await request(agent, url).catch(() => errors++);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), rps: REQUESTS / seconds, errors };
  } finally {
    agent.destroy();
  }
}

async function until<T>(
  what: string,
  get: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 120_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  // Two agents on this host: Docker (it balances the VIPs) and exec (plain processes; VIPs off, as
  // one host holds each VIP address once).
  const cluster: TestCluster = await startTestCluster({
    agents: [
      { hostname: 'bench-docker', portRange: [23000, 23499], env: { ATOLL_VIP_STATS_INTERVAL_SECONDS: '1' } },
      { hostname: 'bench-exec', portRange: [23500, 23999], env: { ATOLL_RUNTIME: 'exec', ATOLL_VIP: 'off' } },
    ],
  });
  const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(cluster.url + p, {
      method,
      headers: {
        authorization: `Bearer ${cluster.token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  try {
    await until(
      'two connected nodes',
      () => api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
      (ns) => ns.filter((n) => n.connected).length === 2,
    );
    await api('POST', '/v2/apps', {
      id: '/bench/httpd',
      cmd: 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www',
      cpus: 0.5,
      mem: 64,
      constraints: [['hostname', 'CLUSTER', 'bench-docker']],
      container: {
        docker: { image: IMAGE },
        portMappings: [{ containerPort: 8080, hostPort: 0, labels: { VIP_0: '/bench/httpd:80' } }],
      },
      networks: [{ mode: 'container/bridge' }],
      healthChecks: [{ protocol: 'TCP', portIndex: 0, intervalSeconds: 1 }],
    });
    await api('POST', '/v2/apps', {
      id: '/bench/node',
      cmd: `exec ${JSON.stringify(process.execPath)} -e 'require("http").createServer((q, s) => s.end("ok\\n")).listen(+process.env.PORT0)'`,
      cpus: 0.5,
      mem: 128,
      constraints: [['hostname', 'CLUSTER', 'bench-exec']],
      portDefinitions: [{ port: 0, labels: { VIP_0: '/bench/node:80' } }],
      healthChecks: [{ protocol: 'TCP', portIndex: 0, intervalSeconds: 1 }],
    });
    const vips = await until(
      'both VIPs with a healthy backend',
      () => api<Vip[]>('GET', '/api/v1/network/vips'),
      (vs) => vs.length === 2 && vs.every((v) => v.backends.some((b) => b.healthy)),
    );
    const byName = (n: string) => vips.find((v) => v.name === n)!;
    // The agent applies the view a moment after control has it.
    for (const v of vips) {
      await until(
        `${v.ip}:${v.port} answering`,
        () =>
          request(new http.Agent(), new URL(`http://${v.ip}:${v.port}/`)).then(
            () => true,
            () => false,
          ),
        (ok) => ok,
        30_000,
      );
    }

    const rows: Array<{ backend: string; keepAlive: boolean; direct: Result; vip: Result }> = [];
    const cases: Array<[string, string, boolean]> = [
      ['busybox httpd (Docker)', 'bench/httpd', false],
      ['node http (exec)', 'bench/node', false],
      ['node http (exec)', 'bench/node', true],
    ];
    for (const [label, name, keepAlive] of cases) {
      const v = byName(name);
      const b = v.backends.find((x) => x.healthy)!;
      const direct = new URL(`http://${b.host}:${b.port}/`);
      const through = new URL(`http://${v.ip}:${v.port}/`);
      // Interleaved: direct, VIP, direct, VIP; each side keeps its better half-run.
      const d1 = await measure(direct, keepAlive);
      const v1 = await measure(through, keepAlive);
      const d2 = await measure(direct, keepAlive);
      const v2 = await measure(through, keepAlive);
      const best = (a: Result, c: Result): Result => ({
        p50: Math.min(a.p50, c.p50),
        p99: Math.min(a.p99, c.p99),
        rps: Math.max(a.rps, c.rps),
        errors: a.errors + c.errors,
      });
      rows.push({ backend: label, keepAlive, direct: best(d1, d2), vip: best(v1, v2) });
    }

    await new Promise((r) => setTimeout(r, 1500)); // the agent's next counters
    const after = await api<Vip[]>('GET', '/api/v1/network/vips');
    console.log(
      `\nVIP proxy: ${after[0]?.mode ?? '?'} · ${REQUESTS} requests per run (latency: one at a time; throughput: ${CONCURRENCY} concurrent) · node ${process.version}\n`,
    );
    const pad = (s: string, n: number) => s.padEnd(n);
    const num = (x: number, d = 2) => x.toFixed(d);
    console.log(
      [
        pad('backend', 24),
        pad('keep-alive', 11),
        pad('path', 7),
        pad('req/s', 9),
        pad('p50 ms', 8),
        pad('p99 ms', 8),
        'errors',
      ].join(' '),
    );
    for (const r of rows) {
      for (const [path, x] of [
        ['direct', r.direct],
        ['VIP', r.vip],
      ] as const) {
        console.log(
          [
            pad(r.backend, 24),
            pad(r.keepAlive ? 'on' : 'off', 11),
            pad(path, 7),
            pad(num(x.rps, 0), 9),
            pad(num(x.p50, 3), 8),
            pad(num(x.p99, 3), 8),
            String(x.errors),
          ].join(' '),
        );
      }
    }
    console.log('\nVIP vs direct:');
    for (const r of rows) {
      console.log(
        `  ${pad(r.backend, 24)} keep-alive ${pad(r.keepAlive ? 'on' : 'off', 4)} throughput ${num(r.vip.rps / r.direct.rps)}×, ` +
          `p50 +${num(r.vip.p50 - r.direct.p50, 3)} ms (${num(r.vip.p50 / r.direct.p50)}×), ` +
          `p99 +${num(r.vip.p99 - r.direct.p99, 3)} ms (${num(r.vip.p99 / r.direct.p99)}×)`,
      );
    }
    const counted = after.flatMap((v) => v.backends).reduce((n, b) => n + b.totalConnections, 0);
    const backendErrors = after.flatMap((v) => v.backends).reduce((n, b) => n + b.errors, 0);
    console.log(
      `\nthe agent counted ${counted} connections through the VIPs, ${backendErrors} backend errors`,
    );
    await api('DELETE', '/v2/apps/bench/httpd?force=true');
    await api('DELETE', '/v2/apps/bench/node?force=true');
  } finally {
    await cluster.stop();
  }
}

await main();

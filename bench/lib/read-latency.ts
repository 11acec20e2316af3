/**
 * The read path under load: latency (p50, p99 of sequential requests) and throughput (requests
 * per second with several concurrent clients) of what Marathon's clients and the console read most:
 * `GET /v2/apps` (plain and with tasks embedded), `GET /v2/tasks`, and the tRPC queries of the
 * console's main pages, sent as its `httpBatchLink` sends them (one GET per page load, batched).
 *
 * Node's fetch keeps connections alive (undici's global agent), so a sample is one request on a
 * warm connection, as a browser or a client library polling the API would send it.
 */

export interface ReadRow {
  name: string;
  p50Ms: number;
  p99Ms: number;
  reqPerSec: number;
}

export interface MeasureReadsOptions {
  baseUrl: string;
  /** An API token, sent as `Authorization: Bearer`. */
  token: string;
  /** Concurrent clients of the throughput phase (default 16). */
  clients?: number;
  /** Sequential samples per read for the latencies, and requests per read for the throughput (default 100). */
  samples?: number;
}

/** The console's tRPC calls (apps/console): procedure and input, as its pages ask them. */
interface TrpcCall {
  path: string;
  input?: unknown;
}

interface Read {
  name: string;
  path: string;
  /** tRPC batches answer 200 with an error entry inside: check each entry. */
  trpc: boolean;
}

/** The batched GET the console's `httpBatchLink` sends for these calls. */
function trpcBatchPath(calls: TrpcCall[]): string {
  const input: Record<string, unknown> = {};
  calls.forEach((c, i) => {
    if (c.input !== undefined) input[String(i)] = c.input;
  });
  return `/api/trpc/${calls.map((c) => c.path).join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`;
}

export const READS: Read[] = [
  { name: 'GET /v2/apps', path: '/v2/apps', trpc: false },
  { name: 'GET /v2/apps?embed=apps.tasks', path: '/v2/apps?embed=apps.tasks', trpc: false },
  { name: 'GET /v2/tasks', path: '/v2/tasks', trpc: false },
  // Services page (app/(console)/services/page.tsx).
  {
    name: 'console services: apps.list',
    path: trpcBatchPath([{ path: 'apps.list', input: { embedTasks: false } }]),
    trpc: true,
  },
  // Nodes page (app/(console)/nodes/page.tsx).
  { name: 'console nodes: nodes.list', path: trpcBatchPath([{ path: 'nodes.list' }]), trpc: true },
  // Dashboard (app/(console)/page.tsx with ClusterCharts and HealthSummary): one batch.
  {
    name: 'console dashboard (5 queries, 1 batch)',
    path: trpcBatchPath([
      { path: 'nodes.list' },
      { path: 'apps.list', input: { embedTasks: false } },
      { path: 'cluster.events', input: { limit: 8 } },
      { path: 'metrics.cluster', input: { range: '1h' } },
      { path: 'metrics.cluster', input: { range: '15m' } },
    ]),
    trpc: true,
  },
];

async function get(url: string, headers: Record<string, string>, trpc: boolean): Promise<void> {
  const res = await fetch(url, { headers });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 300)}`);
  if (trpc) {
    const entries = JSON.parse(body) as Array<{ error?: unknown }>;
    const failed = entries.find((e) => e.error !== undefined);
    if (failed) throw new Error(`GET ${url}: ${JSON.stringify(failed.error).slice(0, 300)}`);
  }
}

/** The value below which `q` of the sorted samples lie (nearest rank). */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export async function measureReads(opts: MeasureReadsOptions): Promise<ReadRow[]> {
  const clients = opts.clients ?? 16;
  const samples = opts.samples ?? 100;
  const headers = { authorization: `Bearer ${opts.token}` };
  const base = opts.baseUrl.replace(/\/+$/, '');
  const rows: ReadRow[] = [];
  for (const read of READS) {
    const url = base + read.path;
    // Warm up: connections, JIT, PostgreSQL's plan and buffer caches.
    for (let i = 0; i < 3; i++) await get(url, headers, read.trpc);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await get(url, headers, read.trpc);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    // Throughput: `clients` loops sharing `samples` requests (at least two each).
    const total = Math.max(samples, clients * 2);
    let issued = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (issued < total) {
          issued++;
          await get(url, headers, read.trpc);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    rows.push({
      name: read.name,
      p50Ms: percentile(times, 0.5),
      p99Ms: percentile(times, 0.99),
      reqPerSec: total / seconds,
    });
  }
  return rows;
}

/** A printable table; with `baseline` (the same reads on a small cluster), the ratios too. */
export function formatReads(rows: ReadRow[], baseline?: ReadRow[]): string {
  const header = ['read', 'p50 ms', 'p99 ms', 'req/s'];
  if (baseline) header.push('p50 ×', 'p99 ×', 'req/s ×');
  const lines = rows.map((r) => {
    const cells = [
      r.name,
      r.p50Ms.toFixed(1),
      r.p99Ms.toFixed(1),
      r.reqPerSec.toFixed(r.reqPerSec < 10 ? 1 : 0),
    ];
    const b = baseline?.find((x) => x.name === r.name);
    if (baseline)
      cells.push(
        b ? (r.p50Ms / b.p50Ms).toFixed(1) : '-',
        b ? (r.p99Ms / b.p99Ms).toFixed(1) : '-',
        b ? (r.reqPerSec / b.reqPerSec).toFixed(2) : '-',
      );
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

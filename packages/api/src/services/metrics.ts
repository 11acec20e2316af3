import { EventEmitter } from 'node:events';
import type { Db } from '@atoll/db';
import type { MetricsMessage, NodeMetrics, TaskMetrics } from '@atoll/spec';
import type { Logger } from 'pino';

/**
 * Node and task metrics from the agents: kept in memory as the latest sample (for Prometheus and
 * live charts) and written to PostgreSQL in batches (raw SQL over unnest: the hot path). Older data
 * is down-sampled by `rollup`: raw samples for `rawHours`, 1-minute means for `minuteHours`,
 * 10-minute means for `tenMinuteDays`.
 */

export interface MetricsRetention {
  rawHours: number;
  minuteHours: number;
  tenMinuteDays: number;
}

export const DEFAULT_RETENTION: MetricsRetention = { rawHours: 1, minuteHours: 24, tenMinuteDays: 30 };

export interface LatestNode {
  nodeId: string;
  at: string;
  metrics: NodeMetrics;
}

export interface LatestTask {
  taskId: string;
  nodeId: string;
  appId: string | undefined;
  at: string;
  metrics: TaskMetrics;
}

/** A point of a chart: one node, one app (sum over its tasks) or the whole cluster. */
export interface MetricsPoint {
  at: string;
  cpuUsedCores: number;
  memUsedBytes: number;
  /** Nodes and cluster: capacity; apps: the sum of the tasks' limits (null when none has one). */
  memTotalBytes: number | null;
  cpuCores: number | null;
  diskUsedBytes: number | null;
  diskTotalBytes: number | null;
  netRxBytesPerSec: number;
  netTxBytesPerSec: number;
}

export const RANGES = {
  '15m': 15 * 60,
  '1h': 3600,
  '6h': 6 * 3600,
  '24h': 24 * 3600,
  '7d': 7 * 86400,
  '30d': 30 * 86400,
} as const;
export type MetricsRange = keyof typeof RANGES;

/** Which stored resolution serves a range: raw up to 1 h, 1-minute means up to 24 h, else 10-minute. */
export function resolutionFor(range: MetricsRange): 0 | 60 | 600 {
  const seconds = RANGES[range];
  return seconds <= 3600 ? 0 : seconds <= 24 * 3600 ? 60 : 600;
}

const NODE_COLUMNS = [
  'cpu_used_cores',
  'cpu_cores',
  'mem_used_bytes',
  'mem_total_bytes',
  'disk_used_bytes',
  'disk_total_bytes',
  'net_rx_bytes_per_sec',
  'net_tx_bytes_per_sec',
  'load1',
  'load5',
  'load15',
] as const;
const TASK_COLUMNS = [
  'cpu_used_cores',
  'mem_used_bytes',
  'mem_limit_bytes',
  'net_rx_bytes_per_sec',
  'net_tx_bytes_per_sec',
  'restarts',
] as const;

export class MetricsStore {
  readonly latestNodes = new Map<string, LatestNode>();
  readonly latestTasks = new Map<string, LatestTask>();
  private readonly appOfTask = new Map<string, string>();
  private nodeRows: Array<{ nodeId: string; at: string; m: NodeMetrics }> = [];
  private taskRows: Array<{ nodeId: string; at: string; m: TaskMetrics }> = [];
  private readonly emitter = new EventEmitter();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly flushEveryMs = 2_000,
  ) {
    this.emitter.setMaxListeners(0);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushEveryMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  ingest(nodeId: string, msg: MetricsMessage): void {
    this.latestNodes.set(nodeId, { nodeId, at: msg.at, metrics: msg.node });
    this.nodeRows.push({ nodeId, at: msg.at, m: msg.node });
    const seen = new Set<string>();
    for (const t of msg.tasks) {
      // A task the tasks table already placed on another node (its app is known from a stored
      // sample of that node) is not this node's to report: a rogue agent's samples are dropped.
      const prev = this.latestTasks.get(t.taskId);
      if (prev && prev.nodeId !== nodeId && prev.appId !== undefined) continue;
      seen.add(t.taskId);
      this.latestTasks.set(t.taskId, {
        taskId: t.taskId,
        nodeId,
        appId: this.appOfTask.get(t.taskId),
        at: msg.at,
        metrics: t,
      });
      this.taskRows.push({ nodeId, at: msg.at, m: t });
    }
    // Tasks of this node that were not reported any more have ended.
    for (const [id, t] of this.latestTasks)
      if (t.nodeId === nodeId && !seen.has(id)) this.latestTasks.delete(id);
    this.emitter.emit('sample', nodeId);
  }

  nodeGone(nodeId: string): void {
    this.latestNodes.delete(nodeId);
    for (const [id, t] of this.latestTasks) if (t.nodeId === nodeId) this.latestTasks.delete(id);
  }

  /** Calls `listener` with the node id after each sample arrives; returns the unsubscribe. */
  onSample(listener: (nodeId: string) => void): () => void {
    this.emitter.on('sample', listener);
    return () => this.emitter.off('sample', listener);
  }

  /** Writes what arrived since the last flush: one statement per table. */
  flush(): Promise<void> {
    this.flushing = this.flushing
      .then(() => this.write())
      .catch((err: unknown) => this.log.error({ err }, 'writing metrics failed'));
    return this.flushing;
  }

  private async write(): Promise<void> {
    const nodes = this.nodeRows;
    const tasks = this.taskRows;
    this.nodeRows = [];
    this.taskRows = [];
    if (nodes.length > 0) {
      await this.db.pool.query(
        `INSERT INTO node_metrics (node_id, resolution, at, ${NODE_COLUMNS.join(', ')})
         SELECT n, 0, a, ${NODE_COLUMNS.map((_, i) => `c${i}`).join(', ')}
         FROM unnest($1::uuid[], $2::timestamptz[], ${NODE_COLUMNS.map((_, i) => `$${i + 3}::float8[]`).join(', ')})
           AS u(n, a, ${NODE_COLUMNS.map((_, i) => `c${i}`).join(', ')})
         ON CONFLICT DO NOTHING`,
        [
          nodes.map((r) => r.nodeId),
          nodes.map((r) => r.at),
          ...NODE_COLUMNS.map((c) => nodes.map((r) => nodeValue(r.m, c))),
        ],
      );
    }
    if (tasks.length > 0) {
      // The app of each task comes from the tasks table; samples of unknown tasks, and of tasks
      // reported by a node they are not placed on, are dropped.
      const { rows } = await this.db.pool.query<{ task_id: string; app_id: string }>(
        `INSERT INTO task_metrics (task_id, app_id, node_id, resolution, at, ${TASK_COLUMNS.join(', ')})
         SELECT u.t, tasks.app_id, u.n, 0, u.a, ${TASK_COLUMNS.map((_, i) => `u.c${i}`).join(', ')}
         FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::int[])
           AS u(t, n, a, ${TASK_COLUMNS.map((_, i) => `c${i}`).join(', ')})
         JOIN tasks ON tasks.id = u.t AND tasks.node_id = u.n
         ON CONFLICT DO NOTHING
         RETURNING task_id, app_id`,
        [
          tasks.map((r) => r.m.taskId),
          tasks.map((r) => r.nodeId),
          tasks.map((r) => r.at),
          tasks.map((r) => r.m.cpuUsedCores),
          tasks.map((r) => r.m.memUsedBytes),
          tasks.map((r) => r.m.memLimitBytes),
          tasks.map((r) => r.m.netRxBytesPerSec),
          tasks.map((r) => r.m.netTxBytesPerSec),
          tasks.map((r) => r.m.restarts),
        ],
      );
      for (const r of rows) {
        this.appOfTask.set(r.task_id, r.app_id);
        const latest = this.latestTasks.get(r.task_id);
        if (latest) latest.appId = r.app_id;
      }
      for (const id of this.appOfTask.keys()) if (!this.latestTasks.has(id)) this.appOfTask.delete(id);
    }
  }

  /**
   * Down-sampling and retention (leader only, every minute; idempotent): complete minutes of raw
   * samples become 1-minute means, complete 10-minute spans of those become 10-minute means, and
   * rows older than their retention are deleted.
   */
  async rollup(now: Date, retention: MetricsRetention = DEFAULT_RETENTION): Promise<void> {
    await this.flush();
    for (const [table, cols, key] of [
      ['node_metrics', NODE_COLUMNS.join(', '), 'node_id'],
      ['task_metrics', TASK_COLUMNS.join(', '), 'task_id, app_id, node_id'],
    ] as const) {
      const avg = cols
        .split(', ')
        .map((c) => (c === 'restarts' ? `max(${c})` : `avg(${c})`))
        .join(', ');
      for (const [from, to] of [
        [0, 60],
        [60, 600],
      ] as const) {
        await this.db.pool.query(
          `INSERT INTO ${table} (${key}, resolution, at, ${cols})
           SELECT ${key}, ${to}, date_bin($2::interval, at, TIMESTAMPTZ '2000-01-01') AS bucket, ${avg}
           FROM ${table}
           WHERE resolution = ${from} AND at < date_bin($2::interval, $1::timestamptz, TIMESTAMPTZ '2000-01-01')
             AND at >= date_bin($2::interval, $1::timestamptz, TIMESTAMPTZ '2000-01-01') - $3::interval
           GROUP BY ${key}, bucket
           ON CONFLICT DO NOTHING`,
          [
            now,
            `${to} seconds`,
            from === 0 ? `${retention.rawHours} hours` : `${retention.minuteHours} hours`,
          ],
        );
      }
      await this.db.pool.query(
        `DELETE FROM ${table} WHERE (resolution = 0 AND at < $1::timestamptz - $2::interval)
           OR (resolution = 60 AND at < $1::timestamptz - $3::interval)
           OR (resolution = 600 AND at < $1::timestamptz - $4::interval)`,
        [
          now,
          `${retention.rawHours} hours`,
          `${retention.minuteHours} hours`,
          `${retention.tenMinuteDays} days`,
        ],
      );
    }
  }

  async nodeSeries(nodeId: string, range: MetricsRange, now: Date): Promise<MetricsPoint[]> {
    const { rows } = await this.db.pool.query<Record<string, number | Date>>(
      `SELECT at, cpu_used_cores, cpu_cores, mem_used_bytes, mem_total_bytes, disk_used_bytes, disk_total_bytes,
              net_rx_bytes_per_sec, net_tx_bytes_per_sec
       FROM node_metrics WHERE node_id = $1 AND resolution = $2 AND at >= $3 ORDER BY at`,
      [nodeId, resolutionFor(range), new Date(now.getTime() - RANGES[range] * 1000)],
    );
    return rows.map(toPoint);
  }

  /** The cluster: sums over nodes per time bucket of the range's resolution (10 s for raw). */
  async clusterSeries(range: MetricsRange, now: Date): Promise<MetricsPoint[]> {
    const res = resolutionFor(range);
    const bucket = res === 0 ? '10 seconds' : `${res} seconds`;
    const { rows } = await this.db.pool.query<Record<string, number | Date>>(
      `SELECT b AS at, sum(cpu_used_cores) AS cpu_used_cores, sum(cpu_cores) AS cpu_cores,
              sum(mem_used_bytes) AS mem_used_bytes, sum(mem_total_bytes) AS mem_total_bytes,
              sum(disk_used_bytes) AS disk_used_bytes, sum(disk_total_bytes) AS disk_total_bytes,
              sum(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec, sum(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec
       FROM (SELECT DISTINCT ON (node_id, date_bin($3::interval, at, TIMESTAMPTZ '2000-01-01'))
                    date_bin($3::interval, at, TIMESTAMPTZ '2000-01-01') AS b, *
             FROM node_metrics WHERE resolution = $1 AND at >= $2 ORDER BY node_id, date_bin($3::interval, at, TIMESTAMPTZ '2000-01-01'), at DESC) s
       GROUP BY b ORDER BY b`,
      [res, new Date(now.getTime() - RANGES[range] * 1000), bucket],
    );
    return rows.map(toPoint);
  }

  /** An app: its tasks' usage summed per time bucket. */
  async appSeries(appId: string, range: MetricsRange, now: Date): Promise<MetricsPoint[]> {
    const res = resolutionFor(range);
    const bucket = res === 0 ? '10 seconds' : `${res} seconds`;
    const { rows } = await this.db.pool.query<Record<string, number | Date | null>>(
      `SELECT b AS at, sum(cpu_used_cores) AS cpu_used_cores, sum(mem_used_bytes) AS mem_used_bytes,
              sum(mem_limit_bytes) AS mem_total_bytes,
              sum(net_rx_bytes_per_sec) AS net_rx_bytes_per_sec, sum(net_tx_bytes_per_sec) AS net_tx_bytes_per_sec
       FROM (SELECT DISTINCT ON (task_id, date_bin($4::interval, at, TIMESTAMPTZ '2000-01-01'))
                    date_bin($4::interval, at, TIMESTAMPTZ '2000-01-01') AS b, *
             FROM task_metrics WHERE app_id = $1 AND resolution = $2 AND at >= $3
             ORDER BY task_id, date_bin($4::interval, at, TIMESTAMPTZ '2000-01-01'), at DESC) s
       GROUP BY b ORDER BY b`,
      [appId, res, new Date(now.getTime() - RANGES[range] * 1000), bucket],
    );
    return rows.map(toPoint);
  }

  async taskSamples(
    taskId: string,
    limit = 100,
  ): Promise<
    Array<{ at: string; memUsedBytes: number; memLimitBytes: number | null; cpuUsedCores: number }>
  > {
    const { rows } = await this.db.pool.query<{
      at: Date;
      mem_used_bytes: number;
      mem_limit_bytes: number | null;
      cpu_used_cores: number;
    }>(
      `SELECT at, mem_used_bytes, mem_limit_bytes, cpu_used_cores FROM task_metrics
       WHERE task_id = $1 AND resolution = 0 ORDER BY at DESC LIMIT $2`,
      [taskId, limit],
    );
    return rows.map((r) => ({
      at: r.at.toISOString(),
      memUsedBytes: r.mem_used_bytes,
      memLimitBytes: r.mem_limit_bytes,
      cpuUsedCores: r.cpu_used_cores,
    }));
  }
}

function nodeValue(m: NodeMetrics, column: (typeof NODE_COLUMNS)[number]): number {
  switch (column) {
    case 'cpu_used_cores':
      return m.cpuUsedCores;
    case 'cpu_cores':
      return m.cpuCores;
    case 'mem_used_bytes':
      return m.memUsedBytes;
    case 'mem_total_bytes':
      return m.memTotalBytes;
    case 'disk_used_bytes':
      return m.diskUsedBytes;
    case 'disk_total_bytes':
      return m.diskTotalBytes;
    case 'net_rx_bytes_per_sec':
      return m.netRxBytesPerSec;
    case 'net_tx_bytes_per_sec':
      return m.netTxBytesPerSec;
    case 'load1':
      return m.load1;
    case 'load5':
      return m.load5;
    case 'load15':
      return m.load15;
  }
}

function toPoint(r: Record<string, number | Date | null | undefined>): MetricsPoint {
  const n = (k: string) => (r[k] === null || r[k] === undefined ? null : Number(r[k]));
  return {
    at: (r.at as Date).toISOString(),
    cpuUsedCores: n('cpu_used_cores') ?? 0,
    memUsedBytes: n('mem_used_bytes') ?? 0,
    memTotalBytes: n('mem_total_bytes'),
    cpuCores: n('cpu_cores'),
    diskUsedBytes: n('disk_used_bytes'),
    diskTotalBytes: n('disk_total_bytes'),
    netRxBytesPerSec: n('net_rx_bytes_per_sec') ?? 0,
    netTxBytesPerSec: n('net_tx_bytes_per_sec') ?? 0,
  };
}

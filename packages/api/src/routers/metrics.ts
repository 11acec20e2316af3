import { isTerminal, normalizeAppId, type TaskState } from '@atoll/spec';
import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import { assertInScope, scopeOf } from '../services/access';
import { taskLocation } from '../services/agent-streams';
import { RANGES, type MetricsRange } from '../services/metrics';
import type { Services } from '../context';

const range = z
  .enum(Object.keys(RANGES) as [MetricsRange, ...MetricsRange[]], {
    error: `range must be one of ${Object.keys(RANGES).join(', ')}`,
  })
  .default('1h');

const point = z.object({
  at: z.string(),
  cpuUsedCores: z.number(),
  memUsedBytes: z.number(),
  memTotalBytes: z.number().nullable(),
  cpuCores: z.number().nullable(),
  diskUsedBytes: z.number().nullable(),
  diskTotalBytes: z.number().nullable(),
  netRxBytesPerSec: z.number(),
  netTxBytesPerSec: z.number(),
});

const triple = z.object({ used: z.number(), allocated: z.number(), total: z.number() });

/** Now: used (latest samples), allocated (what tasks asked for) and total, over connected nodes. */
async function clusterNow(s: Pick<Services, 'db' | 'metrics'>) {
  const [nodes, tasks, apps] = await Promise.all([
    s.db.prisma.node.findMany({ where: { mode: { not: 'DECOMMISSIONED' } } }),
    s.db.prisma.task.findMany({
      select: { state: true, cpus: true, memMb: true, diskMb: true, healthy: true, appId: true },
    }),
    s.db.prisma.app.findMany({ select: { id: true, definition: true } }),
  ]);
  const active = tasks.filter((t) => !isTerminal(t.state as TaskState));
  const MiB = 1024 * 1024;
  let cpuUsed = 0;
  let memUsed = 0;
  let diskUsed = 0;
  let diskTotal = 0;
  for (const l of s.metrics.latestNodes.values()) {
    cpuUsed += l.metrics.cpuUsedCores;
    memUsed += l.metrics.memUsedBytes;
    diskUsed += l.metrics.diskUsedBytes;
    diskTotal += l.metrics.diskTotalBytes;
  }
  const healthOf = (appId: string) => {
    const ts = active.filter((t) => t.appId === appId);
    if (ts.some((t) => t.healthy === false)) return 'unhealthy';
    if (ts.length > 0 && ts.every((t) => t.healthy === true)) return 'healthy';
    return 'unknown';
  };
  const services = { healthy: 0, unhealthy: 0, unknown: 0 };
  for (const a of apps) services[healthOf(a.id)] += 1;
  const byMode: Record<string, number> = {};
  for (const n of nodes) byMode[n.mode] = (byMode[n.mode] ?? 0) + 1;
  return {
    cpu: {
      used: cpuUsed,
      allocated: active.reduce((x, t) => x + t.cpus, 0),
      total: nodes.reduce((x, n) => x + n.cpus, 0),
    },
    memBytes: {
      used: memUsed,
      allocated: active.reduce((x, t) => x + t.memMb, 0) * MiB,
      total: nodes.reduce((x, n) => x + n.memMb, 0) * MiB,
    },
    diskBytes: {
      used: diskUsed,
      allocated: active.reduce((x, t) => x + t.diskMb, 0) * MiB,
      total: diskTotal || nodes.reduce((x, n) => x + n.diskMb, 0) * MiB,
    },
    services,
    nodes: {
      total: nodes.length,
      connected: nodes.filter((n) => n.connected).length,
      unreachable: nodes.filter((n) => n.status === 'UNREACHABLE').length,
      byMode,
    },
    tasks: {
      running: active.filter((t) => t.state === 'TASK_RUNNING').length,
      staged: active.filter((t) => t.state === 'TASK_STAGING' || t.state === 'TASK_STARTING').length,
    },
  };
}

export const metricsRouter = router({
  cluster: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/metrics/cluster',
        tags: ['metrics'],
        protect: true,
        summary: 'Cluster CPU, memory and disk: used, allocated and total, now and over a range',
      },
    })
    .input(z.object({ range }).default({ range: '1h' }))
    .output(
      z.object({
        now: z.object({
          cpu: triple,
          memBytes: triple,
          diskBytes: triple,
          services: z.object({ healthy: z.number(), unhealthy: z.number(), unknown: z.number() }),
          nodes: z.object({
            total: z.number(),
            connected: z.number(),
            unreachable: z.number(),
            byMode: z.record(z.string(), z.number()),
          }),
          tasks: z.object({ running: z.number(), staged: z.number() }),
        }),
        series: z.array(point),
      }),
    )
    .query(async ({ ctx, input }) => ({
      now: await clusterNow(ctx),
      series: await ctx.metrics.clusterSeries(input.range, ctx.now()),
    })),
  node: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/metrics/nodes/{id}', tags: ['metrics'], protect: true } })
    .input(z.object({ id: z.string().uuid('id must be a node UUID'), range }))
    .output(z.object({ series: z.array(point), latest: point.nullable() }))
    .query(async ({ ctx, input }) => {
      const l = ctx.metrics.latestNodes.get(input.id);
      return {
        series: await ctx.metrics.nodeSeries(input.id, input.range, ctx.now()),
        latest: l
          ? {
              at: l.at,
              cpuUsedCores: l.metrics.cpuUsedCores,
              cpuCores: l.metrics.cpuCores,
              memUsedBytes: l.metrics.memUsedBytes,
              memTotalBytes: l.metrics.memTotalBytes,
              diskUsedBytes: l.metrics.diskUsedBytes,
              diskTotalBytes: l.metrics.diskTotalBytes,
              netRxBytesPerSec: l.metrics.netRxBytesPerSec,
              netTxBytesPerSec: l.metrics.netTxBytesPerSec,
            }
          : null,
      };
    }),
  app: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/metrics/apps',
        tags: ['metrics'],
        protect: true,
        summary: "An app's tasks summed over a range, and each task's latest sample",
      },
    })
    .input(z.object({ appId: z.string().min(1), range }))
    .output(
      z.object({
        series: z.array(point),
        tasks: z.array(
          z.object({
            taskId: z.string(),
            nodeId: z.string(),
            at: z.string(),
            cpuUsedCores: z.number(),
            memUsedBytes: z.number(),
            memLimitBytes: z.number().nullable(),
            restarts: z.number(),
          }),
        ),
      }),
    )
    .query(async ({ ctx, input }) => {
      assertInScope(ctx, normalizeAppId(input.appId));
      return {
        series: await ctx.metrics.appSeries(input.appId, input.range, ctx.now()),
        tasks: [...ctx.metrics.latestTasks.values()]
          .filter((t) => t.appId === input.appId)
          .map((t) => ({
            taskId: t.taskId,
            nodeId: t.nodeId,
            at: t.at,
            cpuUsedCores: t.metrics.cpuUsedCores,
            memUsedBytes: t.metrics.memUsedBytes,
            memLimitBytes: t.metrics.memLimitBytes,
            restarts: t.metrics.restarts,
          })),
      };
    }),
  task: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/metrics/tasks/{taskId}', tags: ['metrics'], protect: true } })
    .input(z.object({ taskId: z.string().min(1) }))
    .output(
      z.array(
        z.object({
          at: z.string(),
          memUsedBytes: z.number(),
          memLimitBytes: z.number().nullable(),
          cpuUsedCores: z.number(),
        }),
      ),
    )
    .query(async ({ ctx, input }) => {
      // A scoped reader: only the tasks of the scope's apps and jobs (taskLocation checks).
      if (scopeOf(ctx)) await taskLocation(ctx, input.taskId);
      return ctx.metrics.taskSamples(input.taskId);
    }),
  /** A tick per metrics sample (node id and time): charts refetch on it, at most every few seconds. */
  samples: protectedProcedure.subscription(async function* ({ ctx, signal }) {
    const queue: Array<{ nodeId: string; at: string }> = [];
    let wake: (() => void) | null = null;
    const off = ctx.metrics.onSample((nodeId) => {
      queue.push({ nodeId, at: new Date().toISOString() });
      wake?.();
    });
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!signal?.aborted) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      off();
      signal?.removeEventListener('abort', onAbort);
    }
  }),
});

import type { Services } from '@atoll/api';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * `GET /metrics` in Prometheus's text format: control's own process figures (prom-client's
 * defaults, prefixed `atoll_control_`), the cluster's objects, and the latest node and task
 * samples the agents sent. Base units and `_total` for counters, per Prometheus's naming rules.
 * Like every route but /health it needs credentials: scrape with an API token
 * (`authorization: Bearer …`, Prometheus's `bearer_token`).
 */
export function registerPrometheusRoute(app: FastifyInstance, s: Services): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'atoll_control_' });

  const nodeLabels = ['node', 'hostname'] as const;
  const taskLabels = ['task', 'app', 'node'] as const;
  const g = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [registry] });

  const apps = g('atoll_apps', 'Apps (Marathon services) defined.', []);
  const tasks = g('atoll_tasks', 'Tasks by state.', ['state']);
  const deployments = g('atoll_deployments_running', 'Deployments in progress.', []);
  const nodes = g('atoll_nodes', 'Nodes by reachability and mode.', ['status', 'mode']);
  const nodeCpu = g('atoll_node_cpu_used_cores', 'CPU cores in use on the node (last interval).', nodeLabels);
  const nodeCores = g('atoll_node_cpu_cores', 'CPU cores of the node.', nodeLabels);
  const nodeCpuTotal = g(
    'atoll_node_cpu_seconds_total',
    'CPU seconds the node spent busy since boot (counter).',
    nodeLabels,
  );
  const nodeMem = g(
    'atoll_node_memory_used_bytes',
    'Memory in use on the node (total − available).',
    nodeLabels,
  );
  const nodeMemTotal = g('atoll_node_memory_total_bytes', 'Memory of the node.', nodeLabels);
  const nodeDisk = g(
    'atoll_node_disk_used_bytes',
    "Used bytes of the filesystem of the agent's state.",
    nodeLabels,
  );
  const nodeDiskTotal = g(
    'atoll_node_disk_total_bytes',
    "Size of the filesystem of the agent's state.",
    nodeLabels,
  );
  const nodeRx = g(
    'atoll_node_network_receive_bytes_total',
    'Bytes received by the node, loopback excluded (counter).',
    nodeLabels,
  );
  const nodeTx = g(
    'atoll_node_network_transmit_bytes_total',
    'Bytes sent by the node, loopback excluded (counter).',
    nodeLabels,
  );
  const nodeLoad = g('atoll_node_load1', 'One-minute load average.', nodeLabels);
  const taskCpu = g('atoll_task_cpu_seconds_total', 'CPU seconds used by the task (counter).', taskLabels);
  const taskMem = g('atoll_task_memory_usage_bytes', 'Memory used by the task (working set).', taskLabels);
  const taskLimit = g('atoll_task_memory_limit_bytes', "The task's memory limit.", taskLabels);
  const taskRx = g(
    'atoll_task_network_receive_bytes_total',
    'Bytes received by the task (counter).',
    taskLabels,
  );
  const taskTx = g(
    'atoll_task_network_transmit_bytes_total',
    'Bytes sent by the task (counter).',
    taskLabels,
  );
  const taskRestarts = g(
    'atoll_task_restarts_total',
    'Times the runtime restarted the task in place.',
    taskLabels,
  );

  async function refresh(): Promise<void> {
    const [appCount, taskStates, running, nodeRows] = await Promise.all([
      s.db.prisma.app.count(),
      s.db.pool.query<{ state: string; n: string }>('SELECT state, count(*) AS n FROM tasks GROUP BY state'),
      s.db.prisma.deployment.count({ where: { status: 'RUNNING' } }),
      s.db.prisma.node.findMany({ select: { id: true, hostname: true, status: true, mode: true } }),
    ]);
    apps.set(appCount);
    tasks.reset();
    for (const r of taskStates.rows) tasks.set({ state: r.state }, Number(r.n));
    deployments.set(running);
    nodes.reset();
    const hostname = new Map(nodeRows.map((n) => [n.id, n.hostname]));
    const byStatus = new Map<string, number>();
    for (const n of nodeRows)
      byStatus.set(`${n.status}\u0000${n.mode}`, (byStatus.get(`${n.status}\u0000${n.mode}`) ?? 0) + 1);
    for (const [k, v] of byStatus) {
      const [status, mode] = k.split('\u0000') as [string, string];
      nodes.set({ status, mode }, v);
    }
    for (const gauge of [
      nodeCpu,
      nodeCores,
      nodeCpuTotal,
      nodeMem,
      nodeMemTotal,
      nodeDisk,
      nodeDiskTotal,
      nodeRx,
      nodeTx,
      nodeLoad,
    ])
      gauge.reset();
    for (const l of s.metrics.latestNodes.values()) {
      const labels = { node: l.nodeId, hostname: hostname.get(l.nodeId) ?? '' };
      const m = l.metrics;
      nodeCpu.set(labels, m.cpuUsedCores);
      nodeCores.set(labels, m.cpuCores);
      nodeCpuTotal.set(labels, m.cpuSecondsTotal);
      nodeMem.set(labels, m.memUsedBytes);
      nodeMemTotal.set(labels, m.memTotalBytes);
      nodeDisk.set(labels, m.diskUsedBytes);
      nodeDiskTotal.set(labels, m.diskTotalBytes);
      nodeRx.set(labels, m.netRxBytesTotal);
      nodeTx.set(labels, m.netTxBytesTotal);
      nodeLoad.set(labels, m.load1);
    }
    for (const gauge of [taskCpu, taskMem, taskLimit, taskRx, taskTx, taskRestarts]) gauge.reset();
    for (const t of s.metrics.latestTasks.values()) {
      const labels = { task: t.taskId, app: t.appId ?? '', node: t.nodeId };
      taskCpu.set(labels, t.metrics.cpuSecondsTotal);
      taskMem.set(labels, t.metrics.memUsedBytes);
      if (t.metrics.memLimitBytes !== null) taskLimit.set(labels, t.metrics.memLimitBytes);
      taskRx.set(labels, t.metrics.netRxBytesTotal);
      taskTx.set(labels, t.metrics.netTxBytesTotal);
      taskRestarts.set(labels, t.metrics.restarts);
    }
  }

  // Marathon 1.x answered /metrics in Dropwizard's JSON; its clients ask for JSON (marathon-python's
  // get_metrics), Prometheus asks for text. The same figures either way.
  // Every app's figures: readers of the whole cluster only (no `scope`: scoped users are refused).
  app.get('/metrics', { config: { access: 'read' } }, async (req, reply) => {
    await refresh();
    const preferred = (req.headers.accept ?? '').split(',')[0]?.trim() ?? '';
    if (preferred.startsWith('application/json')) return dropwizardJson(await registry.getMetricsAsJSON());
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * Dropwizard's metrics JSON as Marathon served it (`version`, `gauges`, `counters`, …): a gauge
 * per series, keyed by the Prometheus name with its labels (`atoll_tasks{state="TASK_RUNNING"}`);
 * counters with `count`. Histograms' and summaries' series are gauges too.
 */
function dropwizardJson(metrics: MetricsJson) {
  const gauges: Record<string, { value: number }> = {};
  const counters: Record<string, { count: number }> = {};
  for (const m of metrics) {
    for (const v of m.values) {
      const labels = Object.entries(v.labels ?? {});
      const name = (('metricName' in v && v.metricName) || m.name) as string;
      const key = labels.length
        ? `${name}{${labels.map(([k, x]) => `${k}="${String(x)}"`).join(',')}}`
        : name;
      if (String(m.type) === 'counter') counters[key] = { count: v.value };
      else gauges[key] = { value: v.value };
    }
  }
  return { version: '4.0.0', gauges, counters, histograms: {}, meters: {}, timers: {} };
}

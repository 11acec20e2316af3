import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const skip = await skipWithoutDocker('metrics tests');
const MiB = 1024 * 1024;

interface Point {
  at: string;
  cpuUsedCores: number;
  memUsedBytes: number;
  memTotalBytes: number | null;
}

/** Metrics from a real agent (cgroup and /proc files) through control into PostgreSQL and /metrics. */
describe.skipIf(skip)('metrics', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  let nodeId: string;
  let taskId: string;

  beforeAll(async () => {
    cluster = await startTestCluster({
      agents: [{ hostname: 'metrics-node', env: { ATOLL_METRICS_INTERVAL_SECONDS: '1' } }],
    });
    nodeId = (
      await until(
        'a connected node',
        () => api<Array<{ id: string; connected: boolean }>>('GET', '/api/v1/nodes'),
        (ns) => ns.some((n) => n.connected),
      )
    )[0]!.id;
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it('a task limited to 64 MiB reports a memory limit of 64 MiB, stored and queryable', async () => {
    await api('POST', '/v2/apps', {
      id: '/metrics/web',
      instances: 1,
      cpus: 0.1,
      mem: 64,
      cmd: 'exec sleep 3600',
      container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
    });
    const tasks = await until(
      'a running task',
      async () =>
        (await api<{ tasks: Array<{ id: string; state: string }> }>('GET', '/v2/apps/metrics/web/tasks'))
          .tasks,
      (ts) => ts[0]?.state === 'TASK_RUNNING',
    );
    taskId = tasks[0]!.id;
    const samples = await until(
      'stored task samples',
      () =>
        api<Array<{ memUsedBytes: number; memLimitBytes: number | null }>>(
          'GET',
          `/api/v1/metrics/tasks/${encodeURIComponent(taskId)}`,
        ),
      (s) => s.length >= 2,
      60_000,
    );
    expect(samples[0]!.memLimitBytes).toBe(64 * MiB);
    expect(samples[0]!.memUsedBytes).toBeGreaterThan(0);
    expect(samples[0]!.memUsedBytes).toBeLessThan(64 * MiB);

    const app = await api<{
      series: Point[];
      tasks: Array<{ taskId: string; memLimitBytes: number | null }>;
    }>('GET', `/api/v1/metrics/apps?appId=${encodeURIComponent('/metrics/web')}&range=15m`);
    expect(app.tasks).toEqual([expect.objectContaining({ taskId, memLimitBytes: 64 * MiB })]);
    expect(app.series.length).toBeGreaterThan(0);
    expect(app.series.at(-1)!.memTotalBytes).toBe(64 * MiB);
  }, 120_000);

  it('node metrics arrive with real figures; the cluster view adds allocation', async () => {
    const node = await until(
      'node samples',
      () =>
        api<{ series: Point[]; latest: (Point & { cpuCores: number; diskTotalBytes: number }) | null }>(
          'GET',
          `/api/v1/metrics/nodes/${nodeId}?range=15m`,
        ),
      (n) => n.series.length >= 2 && n.latest !== null,
    );
    expect(node.latest!.cpuCores).toBeGreaterThan(0);
    expect(node.latest!.memUsedBytes).toBeGreaterThan(0);
    expect(node.latest!.memTotalBytes).toBeGreaterThan(node.latest!.memUsedBytes);
    expect(node.latest!.diskTotalBytes).toBeGreaterThan(0);
    const cluster_ = await api<{
      now: { cpu: { used: number; allocated: number; total: number }; memBytes: { allocated: number } };
      series: Point[];
    }>('GET', '/api/v1/metrics/cluster?range=15m');
    expect(cluster_.now.cpu.allocated).toBeCloseTo(0.1);
    expect(cluster_.now.memBytes.allocated).toBe(64 * MiB);
    expect(cluster_.now.cpu.total).toBeGreaterThan(0);
    expect(cluster_.series.length).toBeGreaterThan(0);
    const bad = await fetch(`${cluster.url}/api/v1/metrics/cluster?range=2y`, {
      headers: { authorization: `Bearer ${cluster.token}` },
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('range');
  }, 60_000);

  it('/metrics speaks Prometheus: control, nodes and tasks, and needs credentials', async () => {
    expect((await fetch(`${cluster.url}/metrics`)).status).toBe(401);
    const text = await (
      await fetch(`${cluster.url}/metrics`, { headers: { authorization: `Bearer ${cluster.token}` } })
    ).text();
    expect(text).toContain('# TYPE atoll_control_process_resident_memory_bytes gauge');
    expect(text).toMatch(/^atoll_apps 1$/m);
    expect(text).toMatch(/^atoll_tasks\{state="TASK_RUNNING"\} 1$/m);
    expect(text).toMatch(
      new RegExp(`^atoll_node_memory_total_bytes\\{node="${nodeId}",hostname="metrics-node"\\} \\d+`, 'm'),
    );
    expect(text).toContain(
      `atoll_task_memory_limit_bytes{task="${taskId}",app="/metrics/web",node="${nodeId}"} ${64 * MiB}`,
    );
  });

  it('down-samples: complete minutes of raw samples become 1-minute means; old rows go', async () => {
    const db = cluster.control.db;
    const base = new Date(Date.now() - 30 * 60_000);
    base.setUTCSeconds(0, 0);
    const values = [1, 2, 3];
    for (const [i, v] of values.entries()) {
      await db.pool.query(
        `INSERT INTO node_metrics (node_id, resolution, at, cpu_used_cores, cpu_cores, mem_used_bytes, mem_total_bytes, disk_used_bytes, disk_total_bytes,
           net_rx_bytes_per_sec, net_tx_bytes_per_sec, load1, load5, load15)
         VALUES ($1, 0, $2, $3, 2, $4, 100, 1, 10, 0, 0, 0, 0, 0)`,
        [nodeId, new Date(base.getTime() + i * 10_000), v, v * 100],
      );
    }
    // A raw sample older than the raw retention (1 h) is deleted.
    await db.pool.query(
      `INSERT INTO node_metrics (node_id, resolution, at, cpu_used_cores, cpu_cores, mem_used_bytes, mem_total_bytes, disk_used_bytes, disk_total_bytes,
         net_rx_bytes_per_sec, net_tx_bytes_per_sec, load1, load5, load15)
       VALUES ($1, 0, now() - interval '2 hours', 9, 2, 9, 100, 1, 10, 0, 0, 0, 0, 0)`,
      [nodeId],
    );
    await cluster.control.services.metrics.rollup(new Date());
    await cluster.control.services.metrics.rollup(new Date()); // idempotent
    const { rows } = await db.pool.query<{ cpu_used_cores: number; mem_used_bytes: number }>(
      'SELECT cpu_used_cores, mem_used_bytes FROM node_metrics WHERE node_id = $1 AND resolution = 60 AND at = $2',
      [nodeId, base],
    );
    expect(rows).toEqual([{ cpu_used_cores: 2, mem_used_bytes: 200 }]);
    const old = await db.pool.query(
      `SELECT 1 FROM node_metrics WHERE node_id = $1 AND resolution = 0 AND at < now() - interval '1 hour'`,
      [nodeId],
    );
    expect(old.rowCount).toBe(0);
  });
});

'use client';

import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTRPC } from '../../lib/trpc';
import { Card, ErrorBox } from '../ui';
import { fmtBytes, fmtCores, MetricsChart, RangePicker, type Range } from './chart';
import { useLiveMetrics } from './live';

const COLORS = { used: '#2563eb', alloc: '#f59e0b', total: '#64748b', rx: '#10b981', tx: '#8b5cf6' };

/** The cluster over time: used against allocated and total, for CPU, memory and disk. */
export function ClusterCharts() {
  const trpc = useTRPC();
  const [range, setRange] = useState<Range>('1h');
  useLiveMetrics();
  const q = useQuery(trpc.metrics.cluster.queryOptions({ range }));
  const s = q.data?.series ?? [];
  const now = q.data?.now;
  const times = useMemo(() => s.map((p) => p.at), [s]);
  const cpu = useMemo(
    () => [
      { label: 'used', values: s.map((p) => p.cpuUsedCores), color: COLORS.used },
      {
        label: 'allocated',
        values: s.map(() => now?.cpu.allocated ?? null),
        color: COLORS.alloc,
        dashed: true,
      },
      { label: 'total', values: s.map((p) => p.cpuCores), color: COLORS.total, dashed: true },
    ],
    [s, now],
  );
  const mem = useMemo(
    () => [
      { label: 'used', values: s.map((p) => p.memUsedBytes), color: COLORS.used },
      {
        label: 'allocated',
        values: s.map(() => now?.memBytes.allocated ?? null),
        color: COLORS.alloc,
        dashed: true,
      },
      { label: 'total', values: s.map((p) => p.memTotalBytes), color: COLORS.total, dashed: true },
    ],
    [s, now],
  );
  const disk = useMemo(
    () => [
      { label: 'used', values: s.map((p) => p.diskUsedBytes), color: COLORS.used },
      { label: 'total', values: s.map((p) => p.diskTotalBytes), color: COLORS.total, dashed: true },
    ],
    [s],
  );
  return (
    <Card
      title="Cluster usage (used · allocated · total)"
      actions={<RangePicker value={range} onChange={setRange} />}
      className="mt-4"
    >
      {q.error ? (
        <div className="p-4">
          <ErrorBox error={q.error} />
        </div>
      ) : (
        <div className="grid gap-6 p-4 lg:grid-cols-3" data-testid="cluster-charts">
          <MetricsChart title="CPU (cores)" times={times} lines={cpu} format={fmtCores} testId="chart-cpu" />
          <MetricsChart title="Memory" times={times} lines={mem} format={fmtBytes} testId="chart-mem" />
          <MetricsChart title="Disk" times={times} lines={disk} format={fmtBytes} testId="chart-disk" />
        </div>
      )}
    </Card>
  );
}

/** Service health and node health counts for the dashboard. */
export function HealthSummary() {
  const trpc = useTRPC();
  const q = useQuery(trpc.metrics.cluster.queryOptions({ range: '15m' }));
  const now = q.data?.now;
  if (!now) return null;
  const item = (label: string, n: number, tone: string, testId: string) => (
    <div className="flex items-baseline justify-between gap-3" data-testid={testId}>
      <span className="text-muted">{label}</span>
      <span className={`font-semibold tabular-nums ${n > 0 ? tone : ''}`}>{n}</span>
    </div>
  );
  return (
    <div className="mt-4 grid gap-4 md:grid-cols-2">
      <Card title="Service health">
        <div className="grid gap-1 p-4 text-sm">
          {item('Healthy', now.services.healthy, 'text-emerald-600', 'health-healthy')}
          {item('Unhealthy', now.services.unhealthy, 'text-red-600', 'health-unhealthy')}
          {item('No health checks or unknown', now.services.unknown, '', 'health-unknown')}
        </div>
      </Card>
      <Card title="Node health">
        <div className="grid gap-1 p-4 text-sm">
          {item('Connected', now.nodes.connected, 'text-emerald-600', 'nodes-connected')}
          {item('Unreachable', now.nodes.unreachable, 'text-red-600', 'nodes-unreachable')}
          {Object.entries(now.nodes.byMode)
            .filter(([m]) => m !== 'ACTIVE')
            .map(([m, n]) =>
              item(m.charAt(0) + m.slice(1).toLowerCase(), n, 'text-amber-600', `nodes-${m.toLowerCase()}`),
            )}
        </div>
      </Card>
    </div>
  );
}

/** A node's CPU, memory and network over a chosen range, live. */
export function NodeCharts({ nodeId }: { nodeId: string }) {
  const trpc = useTRPC();
  const [range, setRange] = useState<Range>('1h');
  useLiveMetrics();
  const q = useQuery(trpc.metrics.node.queryOptions({ id: nodeId, range }));
  const s = q.data?.series ?? [];
  const times = useMemo(() => s.map((p) => p.at), [s]);
  const lines = useMemo(
    () => ({
      cpu: [
        { label: 'used', values: s.map((p) => p.cpuUsedCores), color: COLORS.used },
        { label: 'cores', values: s.map((p) => p.cpuCores), color: COLORS.total, dashed: true },
      ],
      mem: [
        { label: 'used', values: s.map((p) => p.memUsedBytes), color: COLORS.used },
        { label: 'total', values: s.map((p) => p.memTotalBytes), color: COLORS.total, dashed: true },
      ],
      net: [
        { label: 'in', values: s.map((p) => p.netRxBytesPerSec), color: COLORS.rx },
        { label: 'out', values: s.map((p) => p.netTxBytesPerSec), color: COLORS.tx },
      ],
    }),
    [s],
  );
  return (
    <Card title="Usage" actions={<RangePicker value={range} onChange={setRange} />} className="mt-4">
      <div className="grid gap-6 p-4 lg:grid-cols-3" data-testid="node-charts">
        <MetricsChart
          title="CPU (cores)"
          times={times}
          lines={lines.cpu}
          format={fmtCores}
          testId="chart-node-cpu"
        />
        <MetricsChart
          title="Memory"
          times={times}
          lines={lines.mem}
          format={fmtBytes}
          testId="chart-node-mem"
        />
        <MetricsChart
          title="Network (per second)"
          times={times}
          lines={lines.net}
          format={fmtBytes}
          testId="chart-node-net"
        />
      </div>
    </Card>
  );
}

/** A service's tasks summed: CPU, memory against the tasks' limits, network. */
export function AppCharts({ appId }: { appId: string }) {
  const trpc = useTRPC();
  const [range, setRange] = useState<Range>('1h');
  useLiveMetrics();
  const q = useQuery(trpc.metrics.app.queryOptions({ appId, range }));
  const s = q.data?.series ?? [];
  const times = useMemo(() => s.map((p) => p.at), [s]);
  const lines = useMemo(
    () => ({
      cpu: [{ label: 'used', values: s.map((p) => p.cpuUsedCores), color: COLORS.used }],
      mem: [
        { label: 'used', values: s.map((p) => p.memUsedBytes), color: COLORS.used },
        { label: 'limit', values: s.map((p) => p.memTotalBytes), color: COLORS.total, dashed: true },
      ],
      net: [
        { label: 'in', values: s.map((p) => p.netRxBytesPerSec), color: COLORS.rx },
        { label: 'out', values: s.map((p) => p.netTxBytesPerSec), color: COLORS.tx },
      ],
    }),
    [s],
  );
  return (
    <Card
      title="Usage of all tasks"
      actions={<RangePicker value={range} onChange={setRange} />}
      className="mt-4"
    >
      <div className="grid gap-6 p-4 lg:grid-cols-3" data-testid="app-charts">
        <MetricsChart
          title="CPU (cores)"
          times={times}
          lines={lines.cpu}
          format={fmtCores}
          testId="chart-app-cpu"
        />
        <MetricsChart
          title="Memory"
          times={times}
          lines={lines.mem}
          format={fmtBytes}
          testId="chart-app-mem"
        />
        <MetricsChart
          title="Network (per second)"
          times={times}
          lines={lines.net}
          format={fmtBytes}
          testId="chart-app-net"
        />
      </div>
    </Card>
  );
}

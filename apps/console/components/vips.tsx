'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '../lib/trpc';
import { serviceHref } from '../lib/links';
import type { RouterOutputs } from '../lib/types';
import { Card, Dot, Empty, ErrorBox, Loading, Table, cx, rowClass, tdClass, thClass } from './ui';

type Vip = RouterOutputs['network']['vips'][number];

/**
 * The cluster's VIPs (Networking page): each VIP with its apps, how the nodes balance it, and its
 * backends with their connection counters, summed over the nodes (the agents report every few
 * seconds). Unhealthy running tasks are listed greyed: they get no new connections.
 */
export function VipTable() {
  const trpc = useTRPC();
  const vips = useQuery(trpc.network.vips.queryOptions(undefined, { refetchInterval: 5_000 }));
  const modes = vips.data ? [...new Set(vips.data.map((v) => v.mode))] : [];
  return (
    <Card
      title="Virtual IPs"
      actions={
        modes.length > 0 ? (
          <span className="text-xs text-muted" data-testid="vip-mode">
            balancing: {modes.join('; ')}
          </span>
        ) : undefined
      }
    >
      {vips.error ? (
        <div className="p-4">
          <ErrorBox error={vips.error} />
        </div>
      ) : vips.isPending ? (
        <Loading what="Loading VIPs" />
      ) : vips.data.length === 0 ? (
        <Empty>
          No VIP. Label a port with <code className="font-mono">VIP_0: &quot;/name:port&quot;</code> to give a
          service a stable address and name.
        </Empty>
      ) : (
        <Table>
          <thead>
            <tr>
              <th className={thClass}>Name</th>
              <th className={thClass}>VIP</th>
              <th className={thClass}>App</th>
              <th className={thClass}>Mode</th>
              <th className={thClass}>Backend</th>
              <th className={cx(thClass, 'text-right')}>Active</th>
              <th className={cx(thClass, 'text-right')}>Connections</th>
              <th className={cx(thClass, 'text-right')}>Errors</th>
            </tr>
          </thead>
          <tbody data-testid="vip-table">
            {vips.data.map((v) => (
              <VipRows key={`${v.ip}:${v.port}/${v.protocol}`} vip={v} />
            ))}
          </tbody>
        </Table>
      )}
    </Card>
  );
}

function VipRows({ vip }: { vip: Vip }) {
  const span = Math.max(vip.backends.length, 1);
  const address = `${vip.ip}:${vip.port}${vip.protocol === 'tcp' ? '' : `/${vip.protocol}`}`;
  const head = (
    <>
      <td className={cx(tdClass, 'align-top')} rowSpan={span}>
        <div className="font-medium">{vip.name ? `/${vip.name}` : '—'}</div>
        {vip.dnsNames.map((n) => (
          <div key={n} className="font-mono text-[11px] text-muted">
            {n}
          </div>
        ))}
      </td>
      <td className={cx(tdClass, 'align-top font-mono text-xs')} rowSpan={span}>
        {address}
      </td>
      <td className={cx(tdClass, 'align-top')} rowSpan={span}>
        {vip.appIds.map((id) => (
          <div key={id}>
            <Link href={serviceHref(id)} className="text-accent hover:underline">
              {id}
            </Link>
          </div>
        ))}
      </td>
      <td className={cx(tdClass, 'align-top text-xs text-muted')} rowSpan={span}>
        {vip.mode}
      </td>
    </>
  );
  const totals = (
    <span className="text-[11px] text-muted">
      {' '}
      (VIP: {vip.activeConnections} open, {vip.totalConnections} total, {vip.errors} errors
      {vip.failedConnections > 0 ? `, ${vip.failedConnections} failed` : ''})
    </span>
  );
  if (vip.backends.length === 0) {
    return (
      <tr className={rowClass} data-vip={address}>
        {head}
        <td className={cx(tdClass, 'text-muted')} colSpan={4}>
          no running task{totals}
        </td>
      </tr>
    );
  }
  return (
    <>
      {vip.backends.map((b, i) => (
        <tr
          key={`${b.taskId}@${b.host}:${b.port}`}
          className={cx(rowClass, !b.healthy && 'opacity-60')}
          data-vip={address}
          data-task={b.taskId}
        >
          {i === 0 && head}
          <td className={tdClass}>
            <div className="flex items-center gap-2">
              <Dot
                on={b.healthy}
                title={b.healthy ? 'gets connections' : 'unhealthy: gets no new connections'}
              />
              <span className="font-mono text-xs">
                {b.host}:{b.port}
              </span>
            </div>
            <div className="truncate font-mono text-[11px] text-muted" title={b.taskId}>
              {b.taskId}
            </div>
            {i === vip.backends.length - 1 && totals}
          </td>
          <td className={cx(tdClass, 'text-right tabular-nums')}>{b.activeConnections}</td>
          <td className={cx(tdClass, 'text-right tabular-nums')}>{b.totalConnections}</td>
          <td
            className={cx(
              tdClass,
              'text-right tabular-nums',
              b.errors > 0 && 'text-red-600 dark:text-red-400',
            )}
          >
            {b.errors}
          </td>
        </tr>
      ))}
    </>
  );
}

import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { formatTable } from '../format';

export interface VipRow {
  name: string | null;
  ip: string;
  port: number;
  protocol: string;
  appId: string;
  appIds: string[];
  mode: string;
  backends: Array<{
    taskId: string;
    host: string;
    port: number;
    healthy: boolean;
    activeConnections: number;
    totalConnections: number;
  }>;
  activeConnections: number;
  totalConnections: number;
  errors: number;
  failedConnections: number;
}

/** The VIP table for people: one line per VIP, and how the nodes balance them underneath. */
export function formatVips(vips: VipRow[]): string {
  if (vips.length === 0) return 'no VIPs (label a port with VIP_0: "/name:port" to give an app one)';
  const table = formatTable(
    ['NAME', 'VIP', 'APP', 'BACKENDS', 'CONNECTIONS', 'ERRORS'],
    vips.map((v) => {
      const healthy = v.backends.filter((b) => b.healthy).length;
      const backends =
        healthy === v.backends.length ? String(healthy) : `${healthy} of ${v.backends.length} healthy`;
      const apps = v.appIds.length > 1 ? `${v.appId} +${v.appIds.length - 1}` : v.appId || '-';
      const errors =
        v.failedConnections > 0 ? `${v.errors} (${v.failedConnections} failed)` : String(v.errors);
      return [
        v.name ? `/${v.name}` : '-',
        `${v.ip}:${v.port}${v.protocol === 'tcp' ? '' : `/${v.protocol}`}`,
        apps,
        backends,
        `${v.activeConnections} open, ${v.totalConnections} total`,
        errors,
      ];
    }),
  );
  const modes = [...new Set(vips.map((v) => v.mode))];
  return `${table}\nbalancing: ${modes.join('; ')}`;
}

export function registerVipCommands(program: Command, ctx: CommandContext): void {
  const vip = program.command('vip').description('named virtual IPs (layer-4 load balancing)');
  vip
    .command('list')
    .description('VIPs with their apps, backends and connection counters (summed over the nodes)')
    .action(async () => {
      const vips = (await (await ctx.client()).network.vips.query()) as VipRow[];
      ctx.print(vips, () => formatVips(vips));
    });
}

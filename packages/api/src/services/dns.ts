import { isIPv4 } from 'node:net';
import { buildView, lookup, type Answer, type DnsView, type DnsVip } from '@atoll/dns';
import type { ControlMessage } from '@atoll/spec';
import type { Services } from '../context';
import { PushedView } from './pushed-view';

type S = Pick<Services, 'db' | 'bus' | 'agents' | 'log'>;

const viewOpts = (o: { suffix?: string; ttl?: number }) => ({
  ...(o.suffix ? { suffix: o.suffix } : {}),
  ...(o.ttl !== undefined ? { ttl: o.ttl } : {}),
});

/**
 * The cluster's DNS view (packages/dns), kept current and pushed to the agents (`dnsView`);
 * control's own DNS server answers from the same view.
 */
export class DnsPublisher extends PushedView<DnsView> {
  /** Extra records (VIPs), supplied by their owner. */
  vips: () => DnsVip[] = () => [];

  constructor(
    s: S,
    private readonly opts: { controlIps: () => string[]; suffix?: string; ttl?: number; refreshMs?: number },
  ) {
    super(s, buildView({ apps: [], tasks: [], controlIps: [], ...viewOpts(opts) }), {
      what: 'DNS view',
      debounceMs: 150,
      refreshMs: opts.refreshMs,
    });
  }

  protected message(view: DnsView): ControlMessage {
    return { type: 'dnsView', view };
  }

  /** The VIP names and control's addresses come from memory, not from PostgreSQL. */
  protected override extraInputs(): string {
    return JSON.stringify([this.opts.controlIps(), this.vips()]);
  }

  protected async compute(): Promise<DnsView> {
    const [apps, tasks] = await Promise.all([
      this.s.db.pool.query<{ id: string; hc: boolean }>(
        `SELECT id, jsonb_array_length(COALESCE(definition->'healthChecks', '[]'::jsonb)) > 0 AS hc
           FROM apps WHERE NOT deleting`,
      ),
      this.s.db.pool.query<{
        id: string;
        app_id: string;
        host: string;
        node_id: string;
        healthy: boolean | null;
        ports: Array<{ hostPort: number; name?: string; protocol?: string }>;
      }>(
        `SELECT id, app_id, host, node_id, healthy, ports FROM tasks
          WHERE state = 'TASK_RUNNING' AND kill_requested_at IS NULL`,
      ),
    ]);
    return buildView({
      apps: apps.rows.map((a) => ({ id: a.id, hasHealthChecks: a.hc })),
      tasks: tasks.rows
        .filter((t) => isIPv4(t.host))
        .map((t) => ({
          id: t.id,
          appId: t.app_id,
          ip: t.host,
          nodeId: t.node_id,
          running: true,
          healthy: t.healthy,
          ports: t.ports,
        })),
      controlIps: this.opts.controlIps().filter((ip) => isIPv4(ip)),
      vips: this.vips(),
      ...viewOpts(this.opts),
    });
  }

  resolve(name: string, type = 'A'): Answer {
    return lookup(this.view, name, type);
  }
}

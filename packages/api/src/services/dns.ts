import { isIPv4 } from 'node:net';
import { buildView, lookup, type Answer, type DnsView, type DnsVip } from '@atoll/dns';
import type { Services } from '../context';

type S = Pick<Services, 'db' | 'bus' | 'agents' | 'log'>;

/**
 * Keeps the cluster's DNS view (packages/dns) current and sends it to the agents: rebuilt from
 * PostgreSQL shortly after an app or task change (and every few seconds as a safety net), pushed
 * to every connected agent when it changed, and to an agent when it (re)connects. Every replica
 * runs one for the agents it holds; control's own DNS server answers from the same view.
 */
export class DnsPublisher {
  private current: DnsView;
  private currentJson = '';
  private timer: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private building: Promise<void> | null = null;
  private again = false;
  /** Extra records (VIPs), supplied by their owner. */
  vips: () => DnsVip[] = () => [];

  constructor(
    private readonly s: S,
    private readonly opts: { controlIps: () => string[]; suffix?: string; ttl?: number; refreshMs?: number },
  ) {
    this.current = buildView({ apps: [], tasks: [], controlIps: [], ...this.viewOpts() });
  }

  get view(): DnsView {
    return this.current;
  }

  private viewOpts() {
    return {
      ...(this.opts.suffix ? { suffix: this.opts.suffix } : {}),
      ...(this.opts.ttl !== undefined ? { ttl: this.opts.ttl } : {}),
    };
  }

  async start(): Promise<void> {
    this.unsubscribe = this.s.bus.subscribe((c) => {
      if (c.kind === 'app' || c.kind === 'task' || c.kind === 'node') this.schedule();
    });
    this.interval = setInterval(() => this.schedule(), this.opts.refreshMs ?? 5_000);
    this.interval.unref();
    await this.rebuild();
  }

  close(): void {
    this.unsubscribe?.();
    clearTimeout(this.timer);
    clearInterval(this.interval);
  }

  /** Debounced: a deployment's burst of task changes makes one rebuild. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.rebuild().catch((err: unknown) => this.s.log.warn({ err }, 'rebuilding the DNS view failed'));
    }, 150);
    this.timer.unref();
  }

  /** Rebuilds now (one at a time; a request during a build runs once more after it). */
  async rebuild(): Promise<void> {
    if (this.building) {
      this.again = true;
      return this.building;
    }
    this.building = (async () => {
      do {
        this.again = false;
        const view = await this.compute();
        const json = JSON.stringify(view);
        if (json !== this.currentJson) {
          this.current = view;
          this.currentJson = json;
          await this.broadcast();
        }
      } while (this.again);
    })().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  private async compute(): Promise<DnsView> {
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
      ...this.viewOpts(),
    });
  }

  private async broadcast(): Promise<void> {
    const { rows } = await this.s.db.pool.query<{ id: string }>('SELECT id FROM nodes WHERE connected');
    for (const n of rows) this.sendTo(n.id);
  }

  /** Sends the current view to one agent (when it connects). */
  sendTo(nodeId: string): void {
    this.s.agents.send(nodeId, { type: 'dnsView', view: this.current });
  }

  resolve(name: string, type = 'A'): Answer {
    return lookup(this.current, name, type);
  }
}

import { isIPv4 } from 'node:net';
import { label, type DnsVip } from '@atoll/dns';
import type { ControlMessage, VipBackend, VipEntry, VipProtocol, VipStatsMessage } from '@atoll/spec';
import type { Services } from '../context';
import { PushedView } from './pushed-view';

// ---- labels ---------------------------------------------------------------------------------------

/** One `VIP_n` label of a port: a named VIP (`/name:port`) or a fixed address (`ip:port`). */
export type VipLabel =
  { kind: 'named'; name: string; port: number } | { kind: 'ip'; ip: string; port: number };

/**
 * Parses a `VIP_n` label value as DC/OS (Minuteman) did: `ip:port` is an address VIP; anything else
 * before the last `:` is a name (`/kafka/broker:9092` → `kafka/broker`; the leading slash is
 * optional, inner slashes are kept). Null when malformed (no port, port out of range, empty name).
 */
export function parseVipLabel(value: string): VipLabel | null {
  const v = value.trim();
  const colon = v.lastIndexOf(':');
  if (colon <= 0) return null;
  const host = v.slice(0, colon);
  const portText = v.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  if (isIPv4(host)) return { kind: 'ip', ip: host, port };
  const name = host.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!name || /\s/.test(name)) return null;
  return { kind: 'named', name, port };
}

/** The VIP labels of one port (`VIP_0`, `VIP_1`, … in their numeric order); malformed ones are skipped. */
export function vipLabelsOf(labels: Record<string, string> | undefined): VipLabel[] {
  return Object.entries(labels ?? {})
    .flatMap(([k, v]) => {
      const m = /^VIP_(\d+)$/.exec(k);
      if (!m) return [];
      const parsed = parseVipLabel(v);
      return parsed ? [{ n: Number(m[1]), parsed }] : [];
    })
    .sort((a, b) => a.n - b.n)
    .map((x) => x.parsed);
}

/** A VIP an app asks for: its label, the protocols of its port, and that port's index in the task's ports. */
export interface AppVipPort {
  label: VipLabel;
  protocols: VipProtocol[];
  /** Index into the task's `ports` (host ports), or null when the port has no host port (user network). */
  taskPortIndex: number | null;
}

interface PortLike {
  hostPort?: number;
  protocol?: string;
  labels?: Record<string, string>;
}
interface DefinitionLike {
  container?: { portMappings?: PortLike[] } | null;
  portDefinitions?: PortLike[];
  networks?: Array<{ mode?: string }>;
}

function protocolsOf(p: string | undefined): VipProtocol[] {
  const parts = (p ?? 'tcp').split(',').map((x) => x.trim());
  return (['tcp', 'udp'] as const).filter((x) => parts.includes(x));
}

/**
 * The VIPs of an app definition (as stored: Marathon's normalised shape): labels on
 * `container.portMappings[i]` (bridge and container networks) or `portDefinitions[i]` (host
 * network). The task port index follows `requestedPorts` in @atoll/spec: on a bridge network every
 * mapping gets a host port; on a user network only mappings with a `hostPort`.
 */
export function appVipPorts(definition: DefinitionLike): AppVipPort[] {
  const out: AppVipPort[] = [];
  const mappings = definition.container?.portMappings;
  if (mappings) {
    const bridge = (definition.networks ?? []).some((n) => n.mode === 'container/bridge');
    let index = 0;
    for (const m of mappings) {
      const hasHostPort = m.hostPort !== undefined || bridge;
      for (const label of vipLabelsOf(m.labels)) {
        out.push({ label, protocols: protocolsOf(m.protocol), taskPortIndex: hasHostPort ? index : null });
      }
      if (hasHostPort) index++;
    }
    return out;
  }
  (definition.portDefinitions ?? []).forEach((p, i) => {
    for (const label of vipLabelsOf(p.labels)) {
      out.push({ label, protocols: protocolsOf(p.protocol), taskPortIndex: i });
    }
  });
  return out;
}

// ---- addresses ------------------------------------------------------------------------------------

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  bits: number;
  size: number;
}

const toNumber = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** Parses `11.0.0.0/8`; throws on anything else (an IPv4 network with 1–30 prefix bits). */
export function parseCidr(cidr: string): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || !isIPv4(m[1]!))
    throw new Error(`not an IPv4 CIDR: ${JSON.stringify(cidr)} (expected e.g. 11.0.0.0/8)`);
  const bits = Number(m[2]);
  if (bits < 1 || bits > 30) throw new Error(`a VIP range needs 1 to 30 prefix bits, got /${bits}`);
  const size = 2 ** (32 - bits);
  const base = toNumber(m[1]!) - (toNumber(m[1]!) % size);
  return { base, bits, size };
}

export function inCidr(cidr: Cidr, ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const n = toNumber(ip);
  return n >= cidr.base && n < cidr.base + cidr.size;
}

/**
 * The first free address of the range: not in `used`, and never one ending in .0 or .255 (network
 * and broadcast-looking addresses some software refuses). Null when the range is full.
 */
export function allocateIp(cidr: Cidr, used: ReadonlySet<string>): string | null {
  for (let n = cidr.base; n < cidr.base + cidr.size; n++) {
    const last = n % 256;
    if (last === 0 || last === 255) continue;
    const ip = toIp(n);
    if (!used.has(ip)) return ip;
  }
  return null;
}

// ---- the view -------------------------------------------------------------------------------------

/** A VIP backend as the API shows it: also the running tasks that do not get traffic (unhealthy). */
export interface VipEndpoint extends VipBackend {
  healthy: boolean;
}

/** One VIP with every running task of its apps (the pushed view keeps only the healthy ones). */
export interface VipDetail extends Omit<VipEntry, 'backends'> {
  endpoints: VipEndpoint[];
}

export interface VipInputApp {
  id: string;
  definition: DefinitionLike;
  hasHealthChecks: boolean;
}

export interface VipInputTask {
  id: string;
  appId: string;
  host: string;
  healthy: boolean | null;
  ports: Array<{ hostPort: number }>;
}

/**
 * The cluster's VIPs from apps and their running tasks (pure). Named VIPs take their address from
 * `names`; apps sharing a VIP (same name and port, or same ip:port) share its backends. A backend is
 * a task's host and the host port of the labelled port; with health checks only healthy tasks are
 * backends (the others are listed with `healthy: false`).
 */
export function buildVipDetails(input: {
  apps: VipInputApp[];
  tasks: VipInputTask[];
  names: ReadonlyMap<string, string>;
}): VipDetail[] {
  const byKey = new Map<string, VipDetail>();
  const tasksByApp = new Map<string, VipInputTask[]>();
  for (const t of input.tasks) {
    const list = tasksByApp.get(t.appId) ?? [];
    list.push(t);
    tasksByApp.set(t.appId, list);
  }
  for (const app of [...input.apps].sort((a, b) => a.id.localeCompare(b.id))) {
    for (const vp of appVipPorts(app.definition)) {
      const ip = vp.label.kind === 'ip' ? vp.label.ip : input.names.get(vp.label.name);
      if (!ip) continue;
      const name = vp.label.kind === 'named' ? vp.label.name : null;
      for (const protocol of vp.protocols) {
        const key = `${ip}:${vp.label.port}/${protocol}`;
        let detail = byKey.get(key);
        if (!detail) {
          detail = { name, ip, port: vp.label.port, protocol, appIds: [], endpoints: [] };
          byKey.set(key, detail);
        }
        detail.name ??= name;
        if (!detail.appIds.includes(app.id)) detail.appIds.push(app.id);
        if (vp.taskPortIndex === null) continue;
        for (const t of tasksByApp.get(app.id) ?? []) {
          const hostPort = t.ports[vp.taskPortIndex]?.hostPort;
          if (!hostPort || !t.host) continue;
          if (detail.endpoints.some((e) => e.taskId === t.id && e.port === hostPort)) continue;
          detail.endpoints.push({
            taskId: t.id,
            host: t.host,
            port: hostPort,
            healthy: !app.hasHealthChecks || t.healthy === true,
          });
        }
      }
    }
  }
  return [...byKey.values()]
    .map((d) => ({ ...d, endpoints: d.endpoints.sort((a, b) => a.taskId.localeCompare(b.taskId)) }))
    .sort(
      (a, b) =>
        a.ip.localeCompare(b.ip, 'en', { numeric: true }) ||
        a.port - b.port ||
        a.protocol.localeCompare(b.protocol),
    );
}

/** What agents get: each VIP with its healthy endpoints only. */
export function toViewEntries(details: VipDetail[]): VipEntry[] {
  return details.map(({ endpoints, ...rest }) => ({
    ...rest,
    backends: endpoints.filter((e) => e.healthy).map(({ taskId, host, port }) => ({ taskId, host, port })),
  }));
}

// ---- the API's answer -------------------------------------------------------------------------------

export interface VipBackendSummary {
  taskId: string;
  host: string;
  port: number;
  healthy: boolean;
  activeConnections: number;
  totalConnections: number;
  errors: number;
}

export interface VipSummary {
  name: string | null;
  ip: string;
  port: number;
  protocol: VipProtocol;
  /** The first app (by id) using the VIP; `appIds` has all of them. */
  appId: string;
  appIds: string[];
  /** How the nodes balance it ('userspace', 'userspace (ipvs available, not used)', 'off: …'). */
  mode: string;
  /** DNS names of a named VIP. */
  dnsNames: string[];
  backends: VipBackendSummary[];
  totalConnections: number;
  activeConnections: number;
  errors: number;
  /** Connections no backend accepted. */
  failedConnections: number;
}

type NodeStats = Pick<VipStatsMessage, 'mode' | 'vips' | 'at'>;

/** The mode over all reporting nodes: one mode, or each with its node count. */
export function combineModes(modes: string[]): string {
  if (modes.length === 0) return 'unknown (no agent reported)';
  const counts = new Map<string, number>();
  for (const m of modes) counts.set(m, (counts.get(m) ?? 0) + 1);
  if (counts.size === 1) return modes[0]!;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([m, n]) => `${m} (${n} node${n === 1 ? '' : 's'})`)
    .join('; ');
}

/** The API's VIP list: the details with the agents' counters summed over nodes (pure). */
export function summarize(
  details: VipDetail[],
  stats: Iterable<NodeStats>,
  dnsSuffix = 'atoll',
): VipSummary[] {
  const all = [...stats];
  const mode = combineModes(all.map((s) => s.mode));
  const counters = new Map<string, { active: number; total: number; errors: number }>();
  const failed = new Map<string, number>();
  for (const node of all) {
    for (const v of node.vips) {
      const vipKey = `${v.ip}:${v.port}/${v.protocol}`;
      failed.set(vipKey, (failed.get(vipKey) ?? 0) + v.failed);
      for (const b of v.backends) {
        const key = `${vipKey}|${b.taskId}|${b.host}:${b.port}`;
        const c = counters.get(key) ?? { active: 0, total: 0, errors: 0 };
        c.active += b.activeConnections;
        c.total += b.totalConnections;
        c.errors += b.errors;
        counters.set(key, c);
      }
    }
  }
  return details.map((d) => {
    const vipKey = `${d.ip}:${d.port}/${d.protocol}`;
    const backends = d.endpoints.map((e) => {
      const c = counters.get(`${vipKey}|${e.taskId}|${e.host}:${e.port}`);
      return {
        taskId: e.taskId,
        host: e.host,
        port: e.port,
        healthy: e.healthy,
        activeConnections: c?.active ?? 0,
        totalConnections: c?.total ?? 0,
        errors: c?.errors ?? 0,
      };
    });
    const dnsName = d.name?.split('/').filter(Boolean).map(label).join('');
    return {
      name: d.name,
      ip: d.ip,
      port: d.port,
      protocol: d.protocol,
      appId: d.appIds[0] ?? '',
      appIds: d.appIds,
      mode,
      dnsNames: dnsName ? [`${dnsName}.marathon.l4lb.thisdcos.directory`, `${dnsName}.${dnsSuffix}.vip`] : [],
      backends,
      totalConnections: backends.reduce((n, b) => n + b.totalConnections, 0),
      activeConnections: backends.reduce((n, b) => n + b.activeConnections, 0),
      errors: backends.reduce((n, b) => n + b.errors, 0),
      failedConnections: failed.get(vipKey) ?? 0,
    };
  });
}

// ---- the publisher ----------------------------------------------------------------------------------

type S = Pick<Services, 'db' | 'bus' | 'agents' | 'log'>;

export interface VipPublisherOptions {
  /** The range named VIPs get their addresses from (ATOLL_VIP_CIDR; DC/OS's 11.0.0.0/8 by default). */
  cidr?: string;
  /** Atoll's DNS suffix, for the `<name>.<suffix>.vip` names shown by the API. */
  dnsSuffix?: string;
  refreshMs?: number;
  /** A name no app used for this long loses its address (default 24 h). */
  releaseAfterMs?: number;
  /** Called when the named VIPs (name → address) changed: the DNS view includes them. */
  onNamesChanged?: () => void;
}

export const DEFAULT_VIP_CIDR = '11.0.0.0/8';

/**
 * Keeps the cluster's VIPs current (as DnsPublisher does the names): rebuilt from PostgreSQL shortly
 * after an app, task or node change (and every few seconds as a safety net), pushed to every
 * connected agent as `vipView` when it changed and to an agent when it (re)connects. Named VIPs get
 * a stable address from the `vips` table, allocated here on first use. The agents' `vipStats`
 * counters are kept in memory, latest per node, for `network.vips`.
 */
export class VipPublisher extends PushedView<VipEntry[]> {
  private details: VipDetail[] = [];
  private namesJson = '[]';
  private readonly cidr: Cidr;
  private readonly stats = new Map<string, NodeStats>();
  private lastTouchMs = 0;

  constructor(
    s: S,
    private readonly opts: VipPublisherOptions = {},
  ) {
    super(s, [], { what: 'VIP view', debounceMs: 100, refreshMs: opts.refreshMs });
    this.cidr = parseCidr(opts.cidr ?? DEFAULT_VIP_CIDR);
  }

  protected message(vips: VipEntry[]): ControlMessage {
    return { type: 'vipView', vips };
  }

  /** The named VIPs changed: the DNS view includes them. */
  protected override afterRebuild(): void {
    const names = JSON.stringify(this.dnsVips());
    if (names !== this.namesJson) {
      this.namesJson = names;
      this.opts.onNamesChanged?.();
    }
  }

  /** Named VIPs for the DNS view (`<name>.marathon.l4lb.thisdcos.directory`, `<name>.<suffix>.vip`). */
  dnsVips(): DnsVip[] {
    const seen = new Map<string, string>();
    for (const d of this.details) if (d.name && !seen.has(d.name)) seen.set(d.name, d.ip);
    return [...seen].map(([name, ip]) => ({ name, ip }));
  }

  protected async compute(): Promise<VipEntry[]> {
    this.details = await this.computeDetails();
    return toViewEntries(this.details);
  }

  private async computeDetails(): Promise<VipDetail[]> {
    const [apps, tasks] = await Promise.all([
      this.s.db.pool.query<{ id: string; definition: DefinitionLike & { healthChecks?: unknown[] } }>(
        `SELECT id, definition FROM apps WHERE NOT deleting`,
      ),
      this.s.db.pool.query<{
        id: string;
        app_id: string;
        host: string;
        healthy: boolean | null;
        ports: Array<{ hostPort: number }>;
      }>(
        `SELECT id, app_id, host, healthy, ports FROM tasks
          WHERE state = 'TASK_RUNNING' AND kill_requested_at IS NULL`,
      ),
    ]);
    const wanted = new Set<string>();
    for (const a of apps.rows) {
      for (const vp of appVipPorts(a.definition)) if (vp.label.kind === 'named') wanted.add(vp.label.name);
    }
    const names = await this.addresses(wanted, apps.rows);
    return buildVipDetails({
      apps: apps.rows.map((a) => ({
        id: a.id,
        definition: a.definition,
        hasHealthChecks: (a.definition.healthChecks ?? []).length > 0,
      })),
      tasks: tasks.rows.map((t) => ({
        id: t.id,
        appId: t.app_id,
        host: t.host,
        healthy: t.healthy,
        ports: t.ports ?? [],
      })),
      names,
    });
  }

  /**
   * The address of every wanted name: stored ones as they are, new ones allocated from the range.
   * Replicas may race: the unique name and ip constraints make one insert win; the loser re-reads.
   */
  private async addresses(
    wanted: Set<string>,
    apps: Array<{ definition: DefinitionLike }>,
  ): Promise<Map<string, string>> {
    const pool = this.s.db.pool;
    const now = Date.now();
    if (now - this.lastTouchMs > 60_000) {
      this.lastTouchMs = now;
      if (wanted.size > 0) {
        await pool.query(`UPDATE vips SET used_at = now() WHERE name = ANY($1::text[])`, [[...wanted]]);
      }
      await pool.query(
        `DELETE FROM vips WHERE NOT (name = ANY($1::text[])) AND used_at < now() - make_interval(secs => $2)`,
        [[...wanted], (this.opts.releaseAfterMs ?? 24 * 3600_000) / 1000],
      );
    }
    for (let attempt = 0; ; attempt++) {
      const { rows } = await pool.query<{ name: string; ip: string }>('SELECT name, ip FROM vips');
      const names = new Map(rows.map((r) => [r.name, r.ip]));
      const missing = [...wanted].filter((n) => !names.has(n)).sort();
      if (missing.length === 0 || attempt >= 5) {
        if (missing.length > 0) this.s.log.warn({ missing }, 'VIP names still without an address');
        return names;
      }
      // Addresses fixed by `ip:port` labels inside the range are not handed out to names.
      const used = new Set<string>(rows.map((r) => r.ip));
      for (const a of apps) {
        for (const vp of appVipPorts(a.definition)) {
          if (vp.label.kind === 'ip' && inCidr(this.cidr, vp.label.ip)) used.add(vp.label.ip);
        }
      }
      for (const name of missing) {
        const ip = allocateIp(this.cidr, used);
        if (!ip) {
          this.s.log.error({ name }, 'the VIP range (ATOLL_VIP_CIDR) is full');
          break;
        }
        used.add(ip);
        try {
          const r = await pool.query(
            `INSERT INTO vips (name, ip) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
            [name, ip],
          );
          if (r.rowCount === 1) this.s.log.info({ name, ip }, 'VIP address allocated');
        } catch (err) {
          // Another replica took this address for another name: read again and retry.
          if ((err as { code?: string }).code === '23505') break;
          throw err;
        }
      }
    }
  }

  /** An agent's counters (the latest replace the previous of that node). */
  ingest(nodeId: string, msg: VipStatsMessage): void {
    this.stats.set(nodeId, { mode: msg.mode, vips: msg.vips, at: msg.at });
  }

  /** The node disconnected: its counters no longer count. */
  nodeGone(nodeId: string): void {
    this.stats.delete(nodeId);
  }

  /** Every VIP with its backends and their counters summed over the nodes. */
  list(): VipSummary[] {
    return summarize(this.details, this.stats.values(), this.opts.dnsSuffix);
  }
}

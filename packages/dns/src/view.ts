/**
 * The cluster's names, as Mesos-DNS published them for Marathon apps, plus Atoll's own forms. A
 * pure function of apps and tasks: control computes the view and pushes it to every agent, and
 * every DNS server (control's and the agents') answers from it.
 */

export interface DnsApp {
  id: string;
  /** Only healthy tasks are published when the app has health checks (Mesos-DNS with Marathon). */
  hasHealthChecks: boolean;
}

export interface DnsTask {
  id: string;
  appId: string;
  /** The node's address (IPv4): tasks are published at their node's IP with host ports. */
  ip: string;
  nodeId: string;
  running: boolean;
  healthy: boolean | null;
  ports: Array<{ hostPort: number; name?: string | undefined; protocol?: string | undefined }>;
}

export interface DnsVip {
  /** The VIP name without its leading slash (`/kafka:9092` → `kafka`). */
  name: string;
  ip: string;
}

export interface SrvTarget {
  target: string;
  port: number;
}

export interface DnsView {
  /** TTL of every answer, seconds (Mesos-DNS's default is 60; a short one follows tasks closely). */
  ttl: number;
  /** Atoll's own suffix (`<app>.<group>.atoll`). */
  suffix: string;
  /** name (lower case, no trailing dot) → IPv4 addresses. */
  a: Record<string, string[]>;
  /** name → SRV targets. */
  srv: Record<string, SrvTarget[]>;
}

export interface ViewInput {
  apps: DnsApp[];
  tasks: DnsTask[];
  /** Addresses of control (leader.mesos, master.mesos). */
  controlIps: string[];
  vips?: DnsVip[];
  ttl?: number;
  suffix?: string;
}

/** The zones this view is authoritative for: names under them that it lacks are NXDOMAIN. */
export function zonesOf(view: Pick<DnsView, 'suffix'>): string[] {
  return ['mesos', view.suffix, 'thisdcos.directory', `${view.suffix}.vip`].map((z) => z.toLowerCase());
}

/** A DNS label from a name part: lower case, [a-z0-9-], as Mesos-DNS's DomainFrag does. */
export function label(part: string): string {
  return part
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Marathon names the task of app `/group/app` `app.group`; Mesos-DNS makes a DNS label of it:
 * `app-group` (so `/group/app` is `app-group.marathon.mesos`).
 */
export function mesosName(appId: string): string {
  return appId.split('/').filter(Boolean).reverse().map(label).join('-');
}

/** Atoll's own form: `/group/app` is `app.group.<suffix>`. */
export function atollName(appId: string, suffix: string): string {
  return [...appId.split('/').filter(Boolean).reverse().map(label), suffix].join('.');
}

/** A short, stable tag of an id for per-task names (Mesos-DNS used a random slug and the agent id). */
function tag(id: string): string {
  const clean = id.toLowerCase().replace(/[^a-z0-9]/g, '');
  return clean.slice(-5) || 'x';
}

export function buildView(input: ViewInput): DnsView {
  const suffix = input.suffix ?? 'atoll';
  const a = new Map<string, Set<string>>();
  const srv = new Map<string, SrvTarget[]>();
  const addA = (name: string, ip: string) => {
    const set = a.get(name) ?? new Set<string>();
    set.add(ip);
    a.set(name, set);
  };
  const addSrv = (name: string, t: SrvTarget) => {
    const list = srv.get(name) ?? [];
    list.push(t);
    srv.set(name, list);
  };
  const apps = new Map(input.apps.map((x) => [x.id, x]));
  const live = input.tasks
    .filter((t) => t.running && apps.has(t.appId))
    .filter((t) => !apps.get(t.appId)!.hasHealthChecks || t.healthy === true)
    .sort((x, y) => x.id.localeCompare(y.id));
  for (const t of live) {
    const name = mesosName(t.appId);
    if (name === '') continue;
    addA(`${name}.marathon.mesos`, t.ip);
    addA(`${name}.marathon.slave.mesos`, t.ip);
    addA(atollName(t.appId, suffix), t.ip);
    const target = `${name}-${tag(t.id)}-${tag(t.nodeId)}.marathon.mesos`;
    addA(target, t.ip);
    for (const p of t.ports) {
      if (!p.hostPort) continue;
      for (const proto of (p.protocol ?? 'tcp').split(',')) {
        const service = `_${name}._${proto.trim()}.marathon.mesos`;
        addSrv(service, { target, port: p.hostPort });
        if (p.name) addSrv(`_${label(p.name)}.${service}`, { target, port: p.hostPort });
      }
    }
  }
  for (const ip of input.controlIps) {
    addA('leader.mesos', ip);
    addA('master.mesos', ip);
    addA(`leader.${suffix}`, ip);
  }
  for (const v of input.vips ?? []) {
    const name = v.name.split('/').filter(Boolean).map(label).join('');
    if (!name) continue;
    addA(`${name}.marathon.l4lb.thisdcos.directory`, v.ip);
    addA(`${name}.${suffix}.vip`, v.ip);
  }
  const sortedA = Object.fromEntries(
    [...a.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => [k, [...v].sort()]),
  );
  const sortedSrv = Object.fromEntries(
    [...srv.entries()]
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([k, v]) => [k, v.sort((x, y) => x.target.localeCompare(y.target) || x.port - y.port)]),
  );
  return { ttl: input.ttl ?? 5, suffix, a: sortedA, srv: sortedSrv };
}

export type Answer =
  | { kind: 'a'; name: string; addresses: string[] }
  | { kind: 'srv'; name: string; targets: Array<SrvTarget & { addresses: string[] }> }
  | { kind: 'nodata'; name: string }
  | { kind: 'nxdomain'; name: string }
  | { kind: 'forward'; name: string };

/**
 * What the view says about `name` for a query type: addresses, SRV targets (with their A records
 * as additionals), no data (the name exists, not with this type), NXDOMAIN inside the cluster's
 * zones, or forward (outside them).
 */
export function lookup(view: DnsView, rawName: string, type: 'A' | 'AAAA' | 'SRV' | 'ANY' | string): Answer {
  const name = rawName.toLowerCase().replace(/\.$/, '');
  const addresses = view.a[name];
  const targets = view.srv[name];
  const known = addresses !== undefined || targets !== undefined || hasChildren(view, name);
  const inZone = zonesOf(view).some((z) => name === z || name.endsWith(`.${z}`));
  if (!inZone) return { kind: 'forward', name };
  if (!known) return { kind: 'nxdomain', name };
  if ((type === 'A' || type === 'ANY') && addresses) return { kind: 'a', name, addresses };
  if ((type === 'SRV' || type === 'ANY') && targets)
    return {
      kind: 'srv',
      name,
      targets: targets.map((t) => ({ ...t, addresses: view.a[t.target] ?? [] })),
    };
  return { kind: 'nodata', name };
}

const parents = new WeakMap<DnsView, Set<string>>();

/** A name with records below it exists (an empty non-terminal answers NOERROR, not NXDOMAIN). */
function hasChildren(view: DnsView, name: string): boolean {
  let set = parents.get(view);
  if (!set) {
    set = new Set();
    for (const k of [...Object.keys(view.a), ...Object.keys(view.srv)]) {
      const parts = k.split('.');
      for (let i = 1; i < parts.length; i++) set.add(parts.slice(i).join('.'));
    }
    parents.set(view, set);
  }
  return set.has(name);
}

import type { TaskPort } from '@atoll/spec';
import type { Change } from '../bus';
import type { Services } from '../context';

/**
 * Which app serves which `/service/<name>/` path and which `Host` (DC/OS Admin Router and
 * marathon-lb), and where its healthy tasks answer. The pure part builds a routing table from
 * apps and tasks; `ServiceRouteCache` loads it from PostgreSQL and keeps it for a short while.
 *
 * Labels (all optional, as DC/OS read them):
 * - `DCOS_SERVICE_NAME`: the name under /service/ (no slash). Without it an app is still reachable
 *   by its id (`/group/app` → `/service/group/app/`), Marathon's fallback.
 * - `DCOS_SERVICE_PORT_INDEX`: which of the task's ports (default 0).
 * - `DCOS_SERVICE_SCHEME`: `http` (default) or `https`.
 * - `DCOS_SERVICE_REWRITE_REQUEST_URLS`: `true` (default) strips `/service/<name>`; `false`
 *   forwards the full path.
 * - `HAPROXY_0_VHOST`: comma-separated host names routed to port 0 on the edge port.
 */

export const SERVICE_LABELS = {
  name: 'DCOS_SERVICE_NAME',
  portIndex: 'DCOS_SERVICE_PORT_INDEX',
  scheme: 'DCOS_SERVICE_SCHEME',
  rewrite: 'DCOS_SERVICE_REWRITE_REQUEST_URLS',
  vhost: 'HAPROXY_0_VHOST',
} as const;

/** The part of an app definition routing reads (stored definitions are full AppDefinitions). */
export interface RouteAppInput {
  id: string;
  definition: {
    labels?: Record<string, string>;
    healthChecks?: unknown[];
    portDefinitions?: Array<{ name?: string }>;
    container?: { portMappings?: Array<{ name?: string }> } | null;
  };
}

export interface RouteTaskInput {
  id: string;
  appId: string;
  state: string;
  host: string;
  ports: TaskPort[];
  healthy: boolean | null;
  killRequestedAt?: Date | null;
}

export interface ServiceEndpoint {
  taskId: string;
  host: string;
  port: number;
}

export interface ServiceRoute {
  appId: string;
  /** DCOS_SERVICE_NAME, or null when the app is reachable by its id only. */
  serviceName: string | null;
  /** The path under which the service answers, with a trailing slash: `/service/<name>/`. */
  path: string;
  scheme: 'http' | 'https';
  portIndex: number;
  rewriteRequestUrls: boolean;
  /** HAPROXY_0_VHOST host names, lower case. */
  vhosts: string[];
  /** Running (and healthy, when the app has health checks) tasks at DCOS_SERVICE_PORT_INDEX. */
  endpoints: ServiceEndpoint[];
  /** The same tasks at port index 0: where HAPROXY_0_VHOST traffic goes. */
  vhostEndpoints: ServiceEndpoint[];
}

export interface RoutingTable {
  /** By DCOS_SERVICE_NAME. */
  byName: Map<string, ServiceRoute>;
  /** By app id (with its leading slash). */
  byId: Map<string, ServiceRoute>;
  /** By HAPROXY_0_VHOST host name (lower case). */
  byHost: Map<string, ServiceRoute>;
}

export interface ServicePathMatch {
  route: ServiceRoute;
  /** The prefix the route answers under, without a trailing slash: `/service/web`. */
  prefix: string;
  /** What follows the prefix (starts with `/`, or is empty when the trailing slash is missing). */
  rest: string;
}

/** Whether `name` may be a DCOS_SERVICE_NAME: one non-empty path segment. */
export function isServiceName(name: string): boolean {
  return name.length > 0 && !name.includes('/') && name !== '.' && name !== '..';
}

function labelOf(def: RouteAppInput['definition'], key: string): string | undefined {
  const v = def.labels?.[key];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** HAPROXY_0_VHOST: `a.example.com, b.example.com` → lower-case names without ports. */
export function parseVhosts(value: string | undefined): string[] {
  if (!value) return [];
  const hosts = value
    .split(',')
    .map((h) => normalizeHost(h))
    .filter((h) => h !== '');
  return [...new Set(hosts)];
}

/** A Host header as a routing key: lower case, without the port and a trailing dot. */
export function normalizeHost(host: string | undefined): string {
  if (!host) return '';
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(0, end + 1) : h;
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0 && h.indexOf(':', colon + 1) < 0) h = h.slice(0, colon);
  }
  return h.replace(/\.$/, '');
}

/** Where a task answers at `portIndex`, or null when it has no such port. */
function endpointOf(t: RouteTaskInput, portIndex: number): ServiceEndpoint | null {
  const port = t.ports[portIndex]?.hostPort;
  if (!port || !t.host) return null;
  return { taskId: t.id, host: t.host, port };
}

/** The tasks that may take traffic: running, not being killed, healthy when the app has checks. */
export function routableTasks(app: RouteAppInput, tasks: RouteTaskInput[]): RouteTaskInput[] {
  const checked = (app.definition.healthChecks?.length ?? 0) > 0;
  return tasks.filter(
    (t) =>
      t.appId === app.id &&
      t.state === 'TASK_RUNNING' &&
      !t.killRequestedAt &&
      (!checked || t.healthy === true),
  );
}

/** The route of one app: its labels read as DC/OS read them, and its healthy task endpoints. */
export function serviceRouteOf(app: RouteAppInput, tasks: RouteTaskInput[]): ServiceRoute {
  const def = app.definition;
  const label = labelOf(def, SERVICE_LABELS.name);
  const serviceName = label !== undefined && isServiceName(label) ? label : null;
  const indexLabel = Number(labelOf(def, SERVICE_LABELS.portIndex) ?? '0');
  const portIndex = Number.isInteger(indexLabel) && indexLabel >= 0 ? indexLabel : 0;
  const scheme = labelOf(def, SERVICE_LABELS.scheme)?.toLowerCase() === 'https' ? 'https' : 'http';
  const rewriteRequestUrls = labelOf(def, SERVICE_LABELS.rewrite)?.toLowerCase() !== 'false';
  const live = routableTasks(app, tasks);
  return {
    appId: app.id,
    serviceName,
    path: `/service/${serviceName ?? app.id.replace(/^\/+/, '')}/`,
    scheme,
    portIndex,
    rewriteRequestUrls,
    vhosts: parseVhosts(labelOf(def, SERVICE_LABELS.vhost)),
    endpoints: live.map((t) => endpointOf(t, portIndex)).filter((e): e is ServiceEndpoint => e !== null),
    vhostEndpoints: live.map((t) => endpointOf(t, 0)).filter((e): e is ServiceEndpoint => e !== null),
  };
}

/**
 * The routing table of the cluster. When two apps claim one DCOS_SERVICE_NAME or one vhost, the
 * first by app id wins (deterministic; the other stays reachable by its id).
 */
export function buildRoutingTable(apps: RouteAppInput[], tasks: RouteTaskInput[]): RoutingTable {
  const byApp = new Map<string, RouteTaskInput[]>();
  for (const t of tasks) {
    const list = byApp.get(t.appId);
    if (list) list.push(t);
    else byApp.set(t.appId, [t]);
  }
  const table: RoutingTable = { byName: new Map(), byId: new Map(), byHost: new Map() };
  for (const app of [...apps].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const route = serviceRouteOf(app, byApp.get(app.id) ?? []);
    table.byId.set(app.id, route);
    if (route.serviceName && !table.byName.has(route.serviceName)) table.byName.set(route.serviceName, route);
    for (const host of route.vhosts) if (!table.byHost.has(host)) table.byHost.set(host, route);
  }
  return table;
}

/**
 * Finds the route of a `/service/…` path (`path` is what follows `/service/`, without the query):
 * first a DCOS_SERVICE_NAME equal to the first segment, then the longest app id that is a
 * prefix of the path (`/service/group/app/x` → `/group/app`). Null when nothing matches.
 */
export function matchServicePath(table: RoutingTable, path: string): ServicePathMatch | null {
  const segments = path.split('/');
  const decoded = segments.map((seg) => {
    try {
      return decodeURIComponent(seg);
    } catch {
      return seg;
    }
  });
  const first = decoded[0] ?? '';
  if (first === '') return null;
  const rest = (k: number) => (segments.length > k ? `/${segments.slice(k).join('/')}` : '');
  const named = table.byName.get(first);
  if (named) return { route: named, prefix: `/service/${segments[0]}`, rest: rest(1) };
  // Marathon's fallback: the app id, longest prefix first. A trailing empty segment is not part
  // of an id (`/service/group/app/` has segments group, app, '').
  for (let k = segments.length; k >= 1; k--) {
    if (decoded.slice(0, k).some((s) => s === '')) continue;
    const route = table.byId.get(`/${decoded.slice(0, k).join('/')}`);
    if (route) return { route, prefix: `/service/${segments.slice(0, k).join('/')}`, rest: rest(k) };
  }
  return null;
}

/** The path to forward upstream, following DCOS_SERVICE_REWRITE_REQUEST_URLS. */
export function upstreamPath(match: ServicePathMatch, query: string): string {
  const path = match.route.rewriteRequestUrls ? match.rest || '/' : `${match.prefix}${match.rest || '/'}`;
  return query ? `${path}?${query}` : path;
}

/** The first segment of a `/service/…` path, decoded: the name an error message names. */
export function requestedServiceName(path: string): string {
  const first = path.split('/')[0] ?? '';
  try {
    return decodeURIComponent(first);
  } catch {
    return first;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the table from PostgreSQL.

type S = Pick<Services, 'db'>;

export async function loadRoutingTable(s: S): Promise<RoutingTable> {
  const [apps, tasks] = await Promise.all([
    s.db.prisma.app.findMany({ select: { id: true, definition: true } }),
    s.db.prisma.task.findMany({
      where: { state: 'TASK_RUNNING', killRequestedAt: null },
      select: {
        id: true,
        appId: true,
        state: true,
        host: true,
        ports: true,
        healthy: true,
        killRequestedAt: true,
      },
    }),
  ]);
  return buildRoutingTable(
    apps.map((a) => ({ id: a.id, definition: (a.definition ?? {}) as RouteAppInput['definition'] })),
    tasks.flatMap((t) => (t.appId ? [{ ...t, appId: t.appId, ports: (t.ports ?? []) as TaskPort[] }] : [])),
  );
}

/**
 * The routing table, rebuilt at most once per `ttlMs` and after app, task and node changes on the
 * bus (on this replica; the TTL bounds how stale another replica's view can be). Concurrent
 * lookups share one load.
 */
export class ServiceRouteCache {
  private table: RoutingTable | null = null;
  private loadedAt = 0;
  private loading: Promise<RoutingTable> | null = null;
  private generation = 0;
  private readonly unsubscribe: () => void;
  private readonly cursors = new Map<string, number>();

  constructor(
    private readonly s: Pick<Services, 'db' | 'bus'>,
    private readonly ttlMs = 1000,
  ) {
    this.unsubscribe = s.bus.subscribe((c: Change) => {
      if (c.kind === 'app' || c.kind === 'task' || c.kind === 'node') this.invalidate();
    });
  }

  invalidate(): void {
    this.generation++;
    this.table = null;
  }

  async get(): Promise<RoutingTable> {
    if (this.table && Date.now() - this.loadedAt < this.ttlMs) return this.table;
    if (this.loading) return this.loading;
    const generation = this.generation;
    const started = Date.now();
    this.loading = loadRoutingTable(this.s)
      .then((table) => {
        // A change that arrived during the load may not be in it: serve it, but do not keep it.
        if (generation === this.generation) {
          this.table = table;
          this.loadedAt = started;
        }
        return table;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  /** Round-robin over `endpoints`, one cursor per key (an app id, or an app id and a purpose). */
  pick(key: string, endpoints: ServiceEndpoint[]): ServiceEndpoint | null {
    if (endpoints.length === 0) return null;
    const n = this.cursors.get(key) ?? 0;
    this.cursors.set(key, (n + 1) % 1_000_000_007);
    return endpoints[n % endpoints.length]!;
  }

  close(): void {
    this.unsubscribe();
  }
}

// ---------------------------------------------------------------------------------------------
// What the console shows: whether a service is reachable through /service/<name>/.

export interface ServiceLink {
  name: string;
  path: string;
  vhosts: string[];
}

const WEB_PORT_NAME = /^(http|https|web|ui|admin|dashboard)\b/i;

/**
 * The link of an app: when it has DCOS_SERVICE_NAME, a HAPROXY_0_VHOST, or a web port (a port
 * named http, https, web or ui at DCOS_SERVICE_PORT_INDEX). Null otherwise.
 */
export function serviceLinkOf(app: RouteAppInput): ServiceLink | null {
  const route = serviceRouteOf(app, []);
  const ports = app.definition.container?.portMappings ?? app.definition.portDefinitions ?? [];
  const named = ports[route.portIndex]?.name;
  const webPort = typeof named === 'string' && WEB_PORT_NAME.test(named);
  if (!route.serviceName && route.vhosts.length === 0 && !webPort) return null;
  return { name: route.serviceName ?? app.id.replace(/^\/+/, ''), path: route.path, vhosts: route.vhosts };
}

export async function serviceLink(s: S, appId: string): Promise<ServiceLink | null> {
  const app = await s.db.prisma.app.findUnique({
    where: { id: appId },
    select: { id: true, definition: true },
  });
  if (!app) return null;
  return serviceLinkOf({ id: app.id, definition: (app.definition ?? {}) as RouteAppInput['definition'] });
}

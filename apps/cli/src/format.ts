/**
 * Pure text formatting of command output: tables for people. No I/O, no clock; every function
 * returns the text to print, ending with a newline.
 */

export type Align = 'left' | 'right';

/**
 * Aligns columns separated by two spaces. The last column is not padded, so lines carry no
 * trailing blanks. `align` gives each column's alignment (left by default).
 */
export function formatTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    headers
      .map((_, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        if (align[i] === 'right') return cell.padStart(width);
        return i === headers.length - 1 ? cell : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [headers, ...rows].map(line).join('\n') + '\n';
}

/** Key/value lines with the keys aligned, e.g. for `app show`. Entries without a value are left out. */
export function formatFields(fields: Array<[string, string | null | undefined]>): string {
  const present = fields.filter(
    (f): f is [string, string] => f[1] !== null && f[1] !== undefined && f[1] !== '',
  );
  const width = Math.max(0, ...present.map(([k]) => k.length));
  return present.map(([k, v]) => `${k.padEnd(width)}  ${v}`.trimEnd()).join('\n') + '\n';
}

/** Numbers as people read them: at most two decimals, no float noise (0.30000000000000004 → 0.3). */
export function num(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** An ISO timestamp to the second, in UTC (`2025-01-02T03:04:05Z`); `-` when absent. */
export function timestamp(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface NodeRow {
  id: string;
  hostname: string;
  address: string;
  runtime: string;
  status: string;
  mode: string;
  drain: { total: number; remaining: number; blocked: string | null } | null;
  connected: boolean;
  resources: { cpus: number; memMb: number; diskMb: number };
  allocated: { cpus: number; memMb: number; diskMb: number };
  tasks: number;
}

/** Reachability and the operator's mode in one word or two: "ACTIVE", "DRAINING 2/5 left", "UNREACHABLE, MAINTENANCE". */
export function nodeState(n: Pick<NodeRow, 'status' | 'mode' | 'connected' | 'drain'>): string {
  const reach = n.connected || n.status !== 'ACTIVE' ? n.status : `${n.status} (disconnected)`;
  if (n.mode === 'ACTIVE') return reach;
  const mode =
    n.mode === 'DRAINING' && n.drain ? `DRAINING ${n.drain.remaining}/${n.drain.total} left` : n.mode;
  return reach === 'ACTIVE' ? mode : `${reach}, ${mode}`;
}

export function nodeTable(nodes: NodeRow[]): string {
  return formatTable(
    ['ID', 'HOSTNAME', 'ADDRESS', 'RUNTIME', 'STATUS', 'CPU(alloc/total)', 'MEM(MiB)', 'DISK(MiB)', 'TASKS'],
    nodes.map((n) => [
      n.id,
      n.hostname,
      n.address,
      n.runtime,
      nodeState(n),
      `${num(n.allocated.cpus)}/${num(n.resources.cpus)}`,
      `${num(n.allocated.memMb)}/${num(n.resources.memMb)}`,
      `${num(n.allocated.diskMb)}/${num(n.resources.diskMb)}`,
      String(n.tasks),
    ]),
    ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'right'],
  );
}

/** An app as `group show` gets it: `groups.get` leaves out the `atoll` fields of `app list`. */
export interface GroupAppRow {
  id: string;
  instances: number;
  cpus: number;
  mem: number;
  version: string;
  tasksRunning: number;
  tasksHealthy: number;
  tasksUnhealthy: number;
  atoll?: { status: string } | undefined;
  [field: string]: unknown;
}

export interface AppRow extends GroupAppRow {
  atoll: { status: string };
}

/** The health checks of an app definition (Marathon's `healthChecks`), [] when it has none. */
export function healthChecksOf(app: { [field: string]: unknown }): Array<Record<string, unknown>> {
  const checks = app.healthChecks;
  return Array.isArray(checks)
    ? checks.filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null)
    : [];
}

/** Healthy tasks over wanted instances, with the unhealthy ones; `-` for an app without checks. */
export function appHealth(app: GroupAppRow): string {
  if (healthChecksOf(app).length === 0) return '-';
  const healthy = `${app.tasksHealthy}/${app.instances}`;
  return app.tasksUnhealthy > 0 ? `${healthy} (${app.tasksUnhealthy} unhealthy)` : healthy;
}

const APP_HEADERS = ['ID', 'STATUS', 'INSTANCES(running/wanted)', 'HEALTHY', 'CPUS', 'MEM', 'VERSION'];
const APP_ALIGN: Align[] = ['left', 'left', 'right', 'right', 'right', 'right', 'left'];

/** The columns of `app list` after the id, for one app. */
function appCells(a: GroupAppRow, status: string): string[] {
  return [status, `${a.tasksRunning}/${a.instances}`, appHealth(a), num(a.cpus), num(a.mem), a.version];
}

export function appTable(apps: AppRow[]): string {
  return formatTable(
    APP_HEADERS,
    apps.map((a) => [a.id, ...appCells(a, a.atoll.status)]),
    APP_ALIGN,
  );
}

export interface GroupNode {
  id: string;
  apps: GroupAppRow[];
  groups: GroupNode[];
}

/**
 * `group show`: the group and its subgroups as a tree, each level indented by two spaces, a
 * group's apps before its subgroups; apps have the columns of `app list`. `statuses` gives the
 * status of an app by id (from `app list`) when the tree does not carry it; `-` when unknown.
 */
export function groupTree(group: GroupNode, statuses: ReadonlyMap<string, string> = new Map()): string {
  const rows: string[][] = [];
  const walk = (g: GroupNode, depth: number) => {
    const indent = '  '.repeat(depth);
    rows.push([indent + g.id]);
    for (const a of g.apps) {
      rows.push([`${indent}  ${a.id}`, ...appCells(a, a.atoll?.status ?? statuses.get(a.id) ?? '-')]);
    }
    for (const sub of g.groups) walk(sub, depth + 1);
  };
  walk(group, 0);
  return formatTable(APP_HEADERS, rows, APP_ALIGN);
}

export interface TaskRow {
  id: string;
  appId: string;
  state: string;
  host: string;
  ports: number[];
  startedAt: string | null;
  healthCheckResults?: unknown[] | undefined;
}

/**
 * A task's health as Marathon reports it from its `healthCheckResults` (one per check):
 * `unhealthy` when a check fails, `healthy` when all `checks` pass, `unknown` until then,
 * `-` when the app has no health checks.
 */
export function taskHealth(task: Pick<TaskRow, 'healthCheckResults'>, checks: number): string {
  if (checks <= 0) return '-';
  const alive = (task.healthCheckResults ?? []).map((r) =>
    typeof r === 'object' && r !== null ? (r as { alive?: unknown }).alive : undefined,
  );
  if (alive.some((a) => a === false)) return 'unhealthy';
  if (alive.length >= checks && alive.slice(0, checks).every((a) => a === true)) return 'healthy';
  return 'unknown';
}

/** Tasks; with `healthChecks` (the app's number of checks) a HEALTH column after STATE. */
export function taskTable(tasks: TaskRow[], opts: { healthChecks?: number } = {}): string {
  const health = opts.healthChecks !== undefined;
  const headers = ['ID', 'APP', 'STATE', ...(health ? ['HEALTH'] : []), 'HOST', 'PORTS', 'STARTED'];
  return formatTable(
    headers,
    tasks.map((t) => [
      t.id,
      t.appId,
      t.state,
      ...(health ? [taskHealth(t, opts.healthChecks ?? 0)] : []),
      t.host,
      t.ports.length ? t.ports.join(',') : '-',
      timestamp(t.startedAt),
    ]),
  );
}

export interface AppDetail extends AppRow {
  disk: number;
  tasksStaged: number;
  tasksHealthy: number;
  tasksUnhealthy: number;
  deployments: Array<{ id: string }>;
  tasks?: TaskRow[] | undefined;
  lastTaskFailure?: unknown;
  atoll: {
    status: string;
    placementIssue: string | null;
    delayUntil: string | null;
    backoffFailures: number;
  };
  [field: string]: unknown;
}

/** `app show`: the app's fields, then its tasks. */
export function appDetail(app: AppDetail): string {
  const container = app.container as { docker?: { image?: unknown } } | undefined;
  const image = typeof container?.docker?.image === 'string' ? container.docker.image : undefined;
  const args = Array.isArray(app.args) ? app.args.map(String).join(' ') : undefined;
  const failure = app.lastTaskFailure as
    { message?: unknown; state?: unknown; timestamp?: unknown } | undefined;
  const checks = healthChecksOf(app);
  let text = formatFields([
    ['ID', app.id],
    ['STATUS', app.atoll.status],
    [
      'INSTANCES',
      `${app.tasksRunning}/${app.instances} running` +
        ` (${app.tasksStaged} staged, ${app.tasksHealthy} healthy, ${app.tasksUnhealthy} unhealthy)`,
    ],
    ['CPUS', num(app.cpus)],
    ['MEM', `${num(app.mem)} MiB`],
    ['DISK', `${num(app.disk)} MiB`],
    ['CMD', typeof app.cmd === 'string' ? app.cmd : undefined],
    ['ARGS', args],
    ['IMAGE', image],
    ['HEALTH CHECKS', checks.map(healthCheckSummary).join('; ')],
    ['VERSION', app.version],
    ['DEPLOYMENTS', app.deployments.map((d) => d.id).join(', ')],
    ['WAITING', app.atoll.placementIssue],
    [
      'DELAYED UNTIL',
      app.atoll.delayUntil
        ? `${timestamp(app.atoll.delayUntil)} (${app.atoll.backoffFailures} failures)`
        : null,
    ],
    [
      'LAST FAILURE',
      failure && typeof failure.message === 'string'
        ? `${typeof failure.state === 'string' ? `${failure.state}: ` : ''}${failure.message}`
        : null,
    ],
  ]);
  const tasks = app.tasks ?? [];
  text += '\n';
  text += tasks.length ? taskTable(tasks, { healthChecks: checks.length }) : 'No tasks.\n';
  return text;
}

/** One health check in a few words: `HTTP /health every 60s (timeout 20s, grace 300s, 3 failures)`. */
export function healthCheckSummary(check: Record<string, unknown>): string {
  const n = (k: string) => (typeof check[k] === 'number' ? (check[k] as number) : undefined);
  const protocol = typeof check.protocol === 'string' ? check.protocol : 'HTTP';
  const command = check.command as { value?: unknown } | undefined;
  const target =
    typeof command?.value === 'string'
      ? `'${command.value}'`
      : [
          typeof check.path === 'string' ? check.path : undefined,
          n('port') !== undefined
            ? `port ${n('port')}`
            : n('portIndex') !== undefined
              ? `port index ${n('portIndex')}`
              : undefined,
        ]
          .filter(Boolean)
          .join(' ');
  const details = [
    n('timeoutSeconds') !== undefined ? `timeout ${n('timeoutSeconds')}s` : undefined,
    n('gracePeriodSeconds') !== undefined ? `grace ${n('gracePeriodSeconds')}s` : undefined,
    n('maxConsecutiveFailures') !== undefined ? `${n('maxConsecutiveFailures')} failures` : undefined,
  ].filter(Boolean);
  return (
    [protocol, target, n('intervalSeconds') !== undefined ? `every ${n('intervalSeconds')}s` : undefined]
      .filter(Boolean)
      .join(' ') + (details.length ? ` (${details.join(', ')})` : '')
  );
}

/** A duration in seconds as `45s`, `2m05s` or `1h02m`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `app version list`: newest first as the API answers, the app's current version marked. */
export function versionTable(versions: string[], current: string | null): string {
  return formatTable(
    ['VERSION', 'CURRENT'],
    versions.map((v) => [v, v === current ? 'yes' : '']),
  );
}

/**
 * A text progress bar: `[#####.....]`. It is full only when `done` reaches `total`; with
 * `total` 0 (an app scaled to nothing) it is full once `pending` is 0.
 */
export function progressBar(done: number, total: number, pending = 0, width = 10): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : pending > 0 ? 0 : 1;
  let filled = Math.floor(fraction * width);
  // Not finished while old tasks remain, even with every new one up.
  if (filled === width && pending > 0) filled = width - 1;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export interface DeploymentProgress {
  appId: string;
  instances: number;
  updated: number;
  old: number;
  healthy: number;
}

/** `[#####.....] 2/4 updated, 1 old` */
export function progressLine(p: DeploymentProgress): string {
  return `${progressBar(p.updated, p.instances, p.old)} ${p.updated}/${p.instances} updated, ${p.old} old`;
}

export interface DeploymentRow {
  id: string;
  version: string;
  affectedApps: string[];
  currentActions: Array<{ action: string; app: string }>;
  currentStep: number;
  totalSteps: number;
  progress: DeploymentProgress[];
}

function actionsOf(d: DeploymentRow): string {
  return [...new Set(d.currentActions.map((a) => a.action))].join(',') || '-';
}

export function deploymentTable(deployments: DeploymentRow[]): string {
  return formatTable(
    ['ID', 'APPS', 'ACTION', 'STEP', 'PROGRESS', 'VERSION'],
    deployments.map((d) => {
      const sum = (k: 'updated' | 'instances' | 'old') => d.progress.reduce((n, p) => n + p[k], 0);
      return [
        d.id,
        d.affectedApps.join(','),
        actionsOf(d),
        `${d.currentStep}/${d.totalSteps}`,
        `${sum('updated')}/${sum('instances')} updated, ${sum('old')} old`,
        d.version,
      ];
    }),
    ['left', 'left', 'left', 'right', 'left', 'left'],
  );
}

/** How a watched deployment ended: `deployment_success`, or `deployment_failed` with its reason. */
export interface DeploymentOutcome {
  id: string;
  ok: boolean;
  reason?: string | undefined;
}

export function outcomeLine(o: DeploymentOutcome): string {
  return o.ok ? `Deployment ${o.id} finished` : `Deployment ${o.id} failed: ${o.reason ?? 'canceled'}`;
}

/** `deployment watch`: each running deployment with a progress bar per app, then those that ended. */
export function deploymentProgress(running: DeploymentRow[], ended: DeploymentOutcome[] = []): string {
  const lines: string[] = [];
  for (const d of running) {
    lines.push(
      `Deployment ${d.id}  step ${d.currentStep}/${d.totalSteps}: ${actionsOf(d)} ${d.affectedApps.join(', ')}`,
    );
    const width = Math.max(0, ...d.progress.map((p) => p.appId.length));
    for (const p of d.progress) lines.push(`  ${p.appId.padEnd(width)}  ${progressLine(p)}`);
  }
  for (const o of ended) lines.push(outcomeLine(o));
  return lines.length ? `${lines.join('\n')}\n` : 'No deployments.\n';
}

export interface QueueRow {
  app: { id: string };
  count: number;
  delay: { timeLeftSeconds: number; overdue: boolean };
  atoll: { placementIssue: string | null; reasons: Record<string, number> };
}

/**
 * The main reasons an app waits: the scheduler's reasons by the number of nodes they excluded
 * (most first), else its summary (e.g. waiting for dependencies); `-` when there is none.
 */
export function topReasons(item: QueueRow, max = 3): string {
  const entries = Object.entries(item.atoll.reasons)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  if (entries.length === 0) return item.atoll.placementIssue ?? '-';
  const shown = entries.slice(0, max).map(([reason, n]) => `${reason} (${n} node${n === 1 ? '' : 's'})`);
  if (entries.length > max) shown.push(`${entries.length - max} more`);
  return shown.join(', ');
}

export function queueTable(items: QueueRow[]): string {
  return formatTable(
    ['APP', 'WAITING', 'DELAY', 'REASONS'],
    items.map((q) => [
      q.app.id,
      String(q.count),
      q.delay.timeLeftSeconds > 0 ? duration(q.delay.timeLeftSeconds) : '-',
      topReasons(q),
    ]),
    ['left', 'right', 'right', 'left'],
  );
}

export interface PodRow {
  id: string;
  containers: Array<{ name: string }>;
  version: string;
  [field: string]: unknown;
}

export interface PodInstanceRow {
  id: string;
  status: string;
  agentHostname?: unknown;
  containers?: Array<{ name: string; status: string }> | undefined;
  [field: string]: unknown;
}

/** Marathon's pod status (`pods.status`): STABLE, DEGRADED or DEPLOYING, with the instances. */
export interface PodStatusRow {
  id: string;
  status: string;
  instances: PodInstanceRow[];
  [field: string]: unknown;
}

/** The wanted instances of a pod (`scaling.instances`), `?` when the view lacks them. */
function podWanted(pod: PodRow): string {
  const scaling = pod.scaling as { instances?: unknown } | undefined;
  return typeof scaling?.instances === 'number' ? String(scaling.instances) : '?';
}

/** Running (STABLE) instances over wanted ones; `-/wanted` when the status is unknown. */
function podInstances(pod: PodRow, status: PodStatusRow | undefined): string {
  const running = status ? String(status.instances.filter((i) => i.status === 'STABLE').length) : '-';
  return `${running}/${podWanted(pod)}`;
}

/** `pod list`: one line a pod, its status from `statuses` by id (`-` when unknown). */
export function podTable(pods: PodRow[], statuses: ReadonlyMap<string, PodStatusRow> = new Map()): string {
  return formatTable(
    ['ID', 'STATUS', 'INSTANCES(running/wanted)', 'CONTAINERS', 'VERSION'],
    pods.map((p) => {
      const status = statuses.get(p.id);
      return [
        p.id,
        status?.status ?? '-',
        podInstances(p, status),
        p.containers.map((c) => c.name).join(','),
        p.version,
      ];
    }),
    ['left', 'left', 'right', 'left', 'left'],
  );
}

/** `pod show`: the pod's fields and status, then its instances with their containers' states. */
export function podDetail(pod: PodRow, status: PodStatusRow): string {
  let text = formatFields([
    ['ID', pod.id],
    ['STATUS', status.status],
    ['INSTANCES', `${podInstances(pod, status)} running`],
    ['CONTAINERS', pod.containers.map((c) => c.name).join(', ')],
    ['VERSION', pod.version],
  ]);
  text += '\n';
  if (status.instances.length === 0) return text + 'No instances.\n';
  return (
    text +
    formatTable(
      ['INSTANCE', 'STATUS', 'HOST', 'CONTAINERS'],
      status.instances.map((i) => [
        i.id,
        i.status,
        typeof i.agentHostname === 'string' && i.agentHostname ? i.agentHostname : '-',
        (i.containers ?? []).map((c) => `${c.name}=${c.status}`).join(', ') || '-',
      ]),
    )
  );
}

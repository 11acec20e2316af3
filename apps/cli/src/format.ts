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
  connected: boolean;
  resources: { cpus: number; memMb: number; diskMb: number };
  allocated: { cpus: number; memMb: number; diskMb: number };
  tasks: number;
}

export function nodeTable(nodes: NodeRow[]): string {
  return formatTable(
    ['ID', 'HOSTNAME', 'ADDRESS', 'RUNTIME', 'STATUS', 'CPU(alloc/total)', 'MEM(MiB)', 'DISK(MiB)', 'TASKS'],
    nodes.map((n) => [
      n.id,
      n.hostname,
      n.address,
      n.runtime,
      n.connected || n.status !== 'ACTIVE' ? n.status : `${n.status} (disconnected)`,
      `${num(n.allocated.cpus)}/${num(n.resources.cpus)}`,
      `${num(n.allocated.memMb)}/${num(n.resources.memMb)}`,
      `${num(n.allocated.diskMb)}/${num(n.resources.diskMb)}`,
      String(n.tasks),
    ]),
    ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'right'],
  );
}

export interface AppRow {
  id: string;
  instances: number;
  cpus: number;
  mem: number;
  version: string;
  tasksRunning: number;
  atoll: { status: string };
}

export function appTable(apps: AppRow[]): string {
  return formatTable(
    ['ID', 'STATUS', 'INSTANCES(running/wanted)', 'CPUS', 'MEM', 'VERSION'],
    apps.map((a) => [
      a.id,
      a.atoll.status,
      `${a.tasksRunning}/${a.instances}`,
      num(a.cpus),
      num(a.mem),
      a.version,
    ]),
    ['left', 'left', 'right', 'right', 'right', 'left'],
  );
}

export interface TaskRow {
  id: string;
  appId: string;
  state: string;
  host: string;
  ports: number[];
  startedAt: string | null;
}

export function taskTable(tasks: TaskRow[]): string {
  return formatTable(
    ['ID', 'APP', 'STATE', 'HOST', 'PORTS', 'STARTED'],
    tasks.map((t) => [
      t.id,
      t.appId,
      t.state,
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
  text += tasks.length ? taskTable(tasks) : 'No tasks.\n';
  return text;
}

import { normalizeAppId, parsePod, podAsApp, type AppDefinition, type Pod } from '@atoll/spec';
import { AppError } from '../errors';
import type { Services } from '../context';
import { assertInScope } from './access';
import {
  createApp,
  deleteApp,
  getApp,
  listApps,
  updateApp,
  type AppView,
  type DeploymentResult,
} from './apps';

type S = Pick<Services, 'db' | 'bus' | 'now' | 'poke' | 'agents'>;

/**
 * Marathon's `/v2/pods`. A pod is stored as an app carrying its pod definition (`pod`), so the
 * reconciler, deployments and failure handling treat its instances as tasks; the agent runs each
 * instance's containers together.
 */
function parseOrThrow(raw: unknown, id?: string): Pod {
  const body =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const r = parsePod(id ? { ...body, id } : body);
  if (!r.ok) throw AppError.invalid(r.issues);
  return r.value;
}

export function isPod(app: { definition?: unknown } | AppView): boolean {
  const def = ('definition' in app ? app.definition : app) as { pod?: unknown } | undefined;
  return !!def?.pod;
}

function podOf(view: AppView): Pod & { version: string } {
  return { ...(view as unknown as { pod: Pod }).pod, version: view.version };
}

export async function createPod(
  s: S,
  raw: unknown,
): Promise<{ pod: Pod & { version: string }; deploymentId: string }> {
  const pod = parseOrThrow(raw);
  const { app, deploymentId } = await createApp(s, podAsApp(pod));
  return { pod: podOf(app), deploymentId };
}

export async function listPods(s: S): Promise<Array<Pod & { version: string }>> {
  return (await listApps(s)).filter((a) => isPod(a)).map(podOf);
}

async function requirePod(s: S, id: string): Promise<AppView> {
  assertInScope(s, normalizeAppId(id));
  const app = await getApp(s, id).catch(() => null);
  if (!app || !isPod(app)) throw AppError.notFound(`Pod '${normalizeAppId(id)}'`);
  return app;
}

export async function getPod(s: S, id: string): Promise<Pod & { version: string }> {
  return podOf(await requirePod(s, id));
}

export async function updatePod(
  s: S,
  id: string,
  raw: unknown,
  opts: { force?: boolean } = {},
): Promise<DeploymentResult> {
  const pod = parseOrThrow(raw, normalizeAppId(id));
  const existing = await s.db.prisma.app.findUnique({ where: { id: pod.id } });
  if (existing && !isPod(existing)) throw new AppError('CONFLICT', `'${pod.id}' is an app, not a pod`);
  const r = await updateApp(s, pod.id, podAsApp(pod), {
    partial: false,
    ...(opts.force !== undefined ? { force: opts.force } : {}),
  });
  return { version: r.version, deploymentId: r.deploymentId };
}

export async function deletePod(s: S, id: string, opts: { force?: boolean } = {}): Promise<DeploymentResult> {
  await requirePod(s, id);
  return deleteApp(s, id, opts);
}

/** Marathon's GET /v2/pods/{id}::status: the pod, its state and its instances. */
export async function podStatus(s: S, id: string) {
  const app = await requirePod(s, id);
  const pod = podOf(app);
  const def = app as unknown as AppDefinition;
  const tasks = app.tasks ?? [];
  const running = tasks.filter((t) => t.state === 'TASK_RUNNING').length;
  return {
    id: pod.id,
    spec: pod,
    status: app.deployments.length > 0 ? 'DEPLOYING' : running >= def.instances ? 'STABLE' : 'DEGRADED',
    statusSince: app.version,
    instances: tasks.map((t) => ({
      id: t.id,
      status:
        t.state === 'TASK_RUNNING'
          ? 'STABLE'
          : t.state === 'TASK_STAGING' || t.state === 'TASK_STARTING'
            ? 'PENDING'
            : 'DEGRADED',
      statusSince: t.startedAt ?? t.stagedAt,
      agentHostname: t.host,
      agentId: t.agentId,
      specReference: `/v2/pods${pod.id}::versions/${t.version}`,
      containers: pod.containers.map((c) => ({
        name: c.name,
        status: t.state,
        endpoints: c.endpoints.map((e) => ({ name: e.name })),
      })),
      networks: [],
      resources: { cpus: def.cpus, mem: def.mem, disk: def.disk },
    })),
  };
}

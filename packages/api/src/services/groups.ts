import {
  normalizeAppId,
  parentOf,
  parseAppDefinition,
  resolvePath,
  type AppDefinition,
  type FieldIssue,
} from '@atoll/spec';
import { AppError } from '../errors';
import type { Services } from '../context';
import { assertInScope, filterVisible, inScope, scopeOf } from './access';
import { deleteApp, listApps, updateApp, type AppView, type DeploymentResult } from './apps';
import { deploymentInfoEvent } from './deployments';
import { recordEvents } from './events';
import { checkAppSecrets } from './secrets';

type S = Pick<Services, 'db' | 'bus' | 'now' | 'poke' | 'agents'>;

/**
 * Marathon's groups: a group is a path prefix of app ids. Groups carry no state of their own here;
 * a group's `dependencies` are resolved into the dependencies of the apps inside it, which the
 * reconciler honours (an app starts only when what it depends on is healthy).
 */

interface FlatApp {
  def: AppDefinition;
}

/** Flattens a group body into app definitions with absolute ids and resolved dependencies. */
export function flattenGroup(raw: unknown, parentId = '/'): { apps: FlatApp[]; issues: FieldIssue[] } {
  const apps: FlatApp[] = [];
  const issues: FieldIssue[] = [];
  const walk = (node: unknown, base: string, at: string, inheritedDeps: string[]) => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      issues.push({ path: at || '(root)', message: 'a group must be a JSON object' });
      return;
    }
    const g = node as { id?: unknown; apps?: unknown; groups?: unknown; dependencies?: unknown };
    if (typeof g.id !== 'string' || g.id === '') {
      issues.push({ path: `${at}id`.replace(/^\./, ''), message: 'a group needs an id' });
      return;
    }
    const id = resolvePath(g.id, base);
    // Relative paths resolve against the id of the thing that declares them (Marathon: an app
    // /product/service/my-app depending on "../../db" depends on /product/db).
    const deps = [
      ...inheritedDeps,
      ...(Array.isArray(g.dependencies)
        ? g.dependencies.filter((d): d is string => typeof d === 'string').map((d) => resolvePath(d, id))
        : []),
    ];
    (Array.isArray(g.apps) ? g.apps : []).forEach((rawApp, i) => {
      const appAt = `${at}apps.${i}.`;
      const a = (typeof rawApp === 'object' && rawApp !== null ? rawApp : {}) as Record<string, unknown>;
      const appId = typeof a.id === 'string' ? resolvePath(a.id, id) : a.id;
      const r = parseAppDefinition({ ...a, id: appId });
      if (!r.ok) {
        issues.push(...r.issues.map((x) => ({ path: appAt + x.path, message: x.message })));
        return;
      }
      const own = r.value.dependencies.map((d) => resolvePath(d, r.value.id));
      apps.push({ def: { ...r.value, dependencies: [...new Set([...own, ...deps])] } });
    });
    (Array.isArray(g.groups) ? g.groups : []).forEach((sub, i) => walk(sub, id, `${at}groups.${i}.`, deps));
  };
  walk(raw, parentId, '', []);
  return { apps, issues };
}

/** Dependency layers: apps of layer n depend only on apps of earlier layers (Marathon's plan steps). */
export function dependencyLayers(apps: AppDefinition[]): string[][] {
  const ids = new Set(apps.map((a) => a.id));
  const depsOf = new Map(
    apps.map((a) => [
      a.id,
      a.dependencies.flatMap((d) =>
        ids.has(d) ? [d] : apps.filter((x) => x.id.startsWith(d + '/')).map((x) => x.id),
      ),
    ]),
  );
  const layers: string[][] = [];
  const placed = new Set<string>();
  while (placed.size < apps.length) {
    const layer = apps
      .filter((a) => !placed.has(a.id) && (depsOf.get(a.id) ?? []).every((d) => placed.has(d)))
      .map((a) => a.id);
    if (layer.length === 0) {
      throw AppError.invalid([
        {
          path: 'dependencies',
          message: `dependency cycle among ${apps
            .filter((a) => !placed.has(a.id))
            .map((a) => a.id)
            .join(', ')}`,
        },
      ]);
    }
    layer.forEach((id) => placed.add(id));
    layers.push(layer.sort());
  }
  return layers;
}

export interface GroupView {
  id: string;
  apps: AppView[];
  groups: GroupView[];
  pods: unknown[];
  dependencies: string[];
  version: string | null;
}

function buildTree(id: string, apps: AppView[]): GroupView {
  const prefix = id === '/' ? '/' : id + '/';
  const inside = apps.filter((a) => a.id.startsWith(prefix));
  const direct = inside.filter((a) => parentOf(a.id) === id);
  const childIds = [
    ...new Set(
      inside
        .filter((a) => parentOf(a.id) !== id)
        .map((a) => prefix + a.id.slice(prefix.length).split('/')[0]),
    ),
  ].sort();
  return {
    id,
    apps: direct,
    groups: childIds.map((c) => buildTree(c, apps)),
    pods: [],
    dependencies: [],
    version:
      inside
        .map((a) => a.version)
        .sort()
        .at(-1) ?? null,
  };
}

/**
 * A scoped user may read a group inside the scope and the groups above it (`/` and `/team-a` for
 * the scope `/team-a/web`), which show only what lies in the scope; other groups are refused.
 */
function assertBrowsable(s: object, groupId: string): void {
  const scope = scopeOf(s);
  if (scope && (groupId === '/' || inScope(groupId, scope))) return;
  assertInScope(s, groupId);
}

export async function getGroup(s: S, id = '/'): Promise<GroupView> {
  const groupId = normalizeAppId(id);
  assertBrowsable(s, groupId);
  const apps = (await listApps(s)).map(({ atoll: _a, ...rest }) => rest as AppView);
  if (groupId !== '/' && !apps.some((a) => a.id.startsWith(groupId + '/')))
    throw AppError.notFound(`Group '${groupId}'`);
  return buildTree(groupId, apps);
}

/**
 * Marathon's GET /v2/groups/{id}/versions, newest first. A group has no state of its own here:
 * its versions are those of the apps under it (their definitions' and scalings' versions).
 */
export async function listGroupVersions(s: Pick<S, 'db'>, id: string): Promise<string[]> {
  const groupId = normalizeAppId(id);
  assertBrowsable(s, groupId);
  const rows = filterVisible(
    s,
    await s.db.prisma.appVersion.findMany({
      where: { appId: { startsWith: groupId === '/' ? '/' : groupId + '/' } },
      select: { appId: true, version: true },
      orderBy: { version: 'desc' },
    }),
    (r) => r.appId,
  );
  if (rows.length === 0) throw AppError.notFound(`Group '${groupId}'`);
  return [...new Set(rows.map((r) => r.version))];
}

/**
 * Marathon's GET /v2/groups/{id}/versions/{version}: the group as it was then, each app under it
 * at its latest version not after `version` (apps created later are left out; apps deleted since
 * are gone with their versions).
 */
export async function getGroupVersion(s: Pick<S, 'db'>, id: string, version: string): Promise<GroupView> {
  const groupId = normalizeAppId(id);
  assertBrowsable(s, groupId);
  const rows = filterVisible(
    s,
    await s.db.prisma.appVersion.findMany({
      where: { appId: { startsWith: groupId === '/' ? '/' : groupId + '/' }, version: { lte: version } },
      orderBy: { version: 'desc' },
    }),
    (r) => r.appId,
  );
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (!latest.has(r.appId)) latest.set(r.appId, r);
  if (latest.size === 0) throw AppError.notFound(`Version '${version}' of group '${groupId}'`);
  const apps = [...latest.values()]
    .sort((a, b) => a.appId.localeCompare(b.appId))
    .map((r) => ({ ...(r.definition as Record<string, unknown>), version: r.version }) as unknown as AppView);
  return buildTree(groupId, apps);
}

/** POST /v2/groups: creates every app of the group tree as one deployment, ordered by dependencies. */
export async function createGroup(s: S, raw: unknown): Promise<DeploymentResult> {
  const { apps, issues } = flattenGroup(raw);
  if (issues.length > 0) throw AppError.invalid(issues);
  const groupId = resolvePath(String((raw as { id: string }).id), '/');
  assertInScope(s, groupId);
  for (const a of apps) assertInScope(s, a.def.id);
  for (const a of apps) await checkAppSecrets(s, a.def);
  const existing = await s.db.prisma.app.findMany({
    where: { id: { in: apps.map((a) => a.def.id) } },
    select: { id: true },
  });
  const underGroup = await s.db.prisma.app.count({ where: { id: { startsWith: groupId + '/' } } });
  if (existing.length > 0 || underGroup > 0)
    throw new AppError('CONFLICT', `Group ${groupId} is already created. Use PUT to change this group.`);
  const layers = dependencyLayers(apps.map((a) => a.def));
  const version = s.now().toISOString();
  const deploymentId = await s.db.prisma.$transaction(async (tx) => {
    for (const { def } of apps) {
      await tx.app.create({
        data: {
          id: def.id,
          version,
          configVersion: version,
          definition: def as object,
          versions: { create: { version, definition: def as object } },
        },
      });
    }
    const d = await tx.deployment.create({
      data: {
        affectedApps: apps.map((a) => a.def.id),
        steps: layers.map((layer) => ({
          actions: layer.map((app) => ({ action: 'StartApplication', app })),
        })),
        version,
        original: {},
      },
    });
    return d.id;
  });
  await recordEvents(
    s,
    [
      { type: 'group_change_success', subject: groupId, payload: { groupId, version } },
      await deploymentInfoEvent(s, deploymentId),
    ],
    'app',
  );
  s.poke();
  return { version, deploymentId };
}

/** PUT /v2/groups/{id}: `{ scaleBy }` scales every app; otherwise the apps given are created or replaced. */
export async function updateGroup(
  s: S,
  id: string,
  body: Record<string, unknown>,
  opts: { force?: boolean } = {},
): Promise<DeploymentResult> {
  const groupId = normalizeAppId(id);
  assertInScope(s, groupId);
  if (typeof body.scaleBy === 'number') {
    if (!(body.scaleBy >= 0))
      throw AppError.invalid([{ path: 'scaleBy', message: 'scaleBy must be 0 or more' }]);
    const apps = await s.db.prisma.app.findMany({
      where: { id: { startsWith: groupId === '/' ? '/' : groupId + '/' }, deleting: false },
    });
    if (apps.length === 0) throw AppError.notFound(`Group '${groupId}'`);
    let last: DeploymentResult | null = null;
    for (const app of apps) {
      const def = app.definition as unknown as AppDefinition;
      const r = await updateApp(
        s,
        app.id,
        { instances: Math.ceil(def.instances * body.scaleBy) },
        { force: opts.force ?? false },
      );
      last = { version: r.version, deploymentId: r.deploymentId };
    }
    return last!;
  }
  const { apps, issues } = flattenGroup({ ...body, id: groupId });
  if (issues.length > 0) throw AppError.invalid(issues);
  if (apps.length === 0)
    throw AppError.invalid([{ path: 'apps', message: 'give apps to create or change, or scaleBy' }]);
  let last: DeploymentResult | null = null;
  for (const layer of dependencyLayers(apps.map((a) => a.def))) {
    for (const appId of layer) {
      const def = apps.find((a) => a.def.id === appId)!.def;
      const r = await updateApp(s, appId, def as unknown as Record<string, unknown>, {
        partial: false,
        force: opts.force ?? false,
      });
      last = { version: r.version, deploymentId: r.deploymentId };
    }
  }
  return last!;
}

/** DELETE /v2/groups/{id}: removes every app under the group. */
export async function deleteGroup(
  s: S,
  id: string,
  opts: { force?: boolean } = {},
): Promise<DeploymentResult> {
  const groupId = normalizeAppId(id);
  assertInScope(s, groupId);
  const apps = await s.db.prisma.app.findMany({
    where: { id: { startsWith: groupId === '/' ? '/' : groupId + '/' }, deleting: false },
    select: { id: true },
  });
  if (apps.length === 0) throw AppError.notFound(`Group '${groupId}'`);
  let last: DeploymentResult | null = null;
  for (const app of apps) last = await deleteApp(s, app.id, { force: opts.force ?? false });
  return last!;
}

import { randomBytes } from 'node:crypto';
import {
  BUILTIN_URI,
  loadRepository,
  RenderError,
  renderPackage as render,
  toIndexEntry,
  packagesFromIndex,
  optionAt,
  secretOptionPaths,
  withOption,
  type RepoPackage,
  type SkippedPackage,
} from '@atoll/catalog';
import { canonicalJson, normalizeAppId, parseAppDefinition, type AppDefinition } from '@atoll/spec';
import { AppError } from '../errors';
import type { Services } from '../context';
import { assertInScope, filterVisible } from './access';
import { createApp, deleteApp, listApps, updateApp, type AppView } from './apps';
import { createGroup, dependencyLayers, flattenGroup } from './groups';
import { recordEvents } from './events';
import { putSecret } from './secrets';

/**
 * The package catalog (DC/OS's Cosmos): repositories in priority order, search, describe,
 * render, install, upgrade and uninstall. An install is one deployment of the rendered app or
 * group; the install row remembers exactly which apps it created, and uninstall removes only those.
 */

type S = Pick<Services, 'db' | 'bus' | 'now' | 'poke' | 'agents' | 'secrets'>;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export interface RepositoryView {
  name: string;
  uri: string;
  priority: number;
  packages: number;
  /** Entries of the repository Atoll could not read when it was added, and why. */
  skipped: SkippedPackage[];
  fetchedAt: string | null;
}

/** A package version found in a repository, with where it came from. */
interface Found extends RepoPackage {
  repo: { name: string; uri: string };
}

// Parsed repositories by uri and fetch time: the built-in one never changes in a process, an
// indexed one changes only when it is fetched again.
const parsed = new Map<string, { key: string; pkgs: RepoPackage[] }>();

async function packagesOf(repo: {
  uri: string;
  index: unknown;
  fetchedAt: Date | null;
}): Promise<RepoPackage[]> {
  const key = repo.fetchedAt?.toISOString() ?? 'static';
  const hit = parsed.get(repo.uri);
  if (hit && hit.key === key) return hit.pkgs;
  const pkgs = (
    repo.uri === BUILTIN_URI || repo.index === null
      ? await loadRepository(repo.uri)
      : packagesFromIndex(repo.index)
  ).packages;
  parsed.set(repo.uri, { key, pkgs });
  return pkgs;
}

async function repositories(s: Pick<S, 'db'>) {
  return s.db.prisma.packageRepository.findMany({ orderBy: [{ priority: 'asc' }, { createdAt: 'asc' }] });
}

export async function listRepositories(s: Pick<S, 'db'>): Promise<RepositoryView[]> {
  const out: RepositoryView[] = [];
  for (const r of await repositories(s)) {
    const count = await packagesOf(r).then(
      (pkgs) => pkgs.length,
      () => 0, // unreadable: shown as empty
    );
    out.push({
      name: r.name,
      uri: r.uri,
      priority: r.priority,
      packages: count,
      skipped: Array.isArray(r.skipped) ? (r.skipped as unknown as SkippedPackage[]) : [],
      fetchedAt: r.fetchedAt?.toISOString() ?? null,
    });
  }
  return out;
}

function repoError(err: unknown, path = 'uri'): AppError {
  if (err instanceof RenderError) return AppError.invalid([{ path, message: err.message }]);
  return err as AppError;
}

/**
 * Adds a repository at `index` (0 is searched first; default: last). Its index is fetched now,
 * so a bad URL or a file that is not a Universe index is refused with the reason.
 */
export async function addRepository(
  s: S,
  input: { name: string; uri: string; index?: number | undefined },
): Promise<RepositoryView[]> {
  const name = input.name.trim();
  const uri = input.uri.trim();
  if (name === '') throw AppError.invalid([{ path: 'name', message: 'a repository needs a name' }]);
  const existing = await repositories(s);
  if (existing.some((r) => r.name === name))
    throw new AppError('CONFLICT', `a repository named ${name} already exists`);
  if (existing.some((r) => r.uri === uri))
    throw new AppError(
      'CONFLICT',
      `repository ${existing.find((r) => r.uri === uri)!.name} already has the uri ${uri}`,
    );
  let pkgs: RepoPackage[];
  let skipped: SkippedPackage[];
  try {
    ({ packages: pkgs, skipped } = await loadRepository(uri));
  } catch (err) {
    throw repoError(err);
  }
  const at = Math.max(0, Math.min(input.index ?? existing.length, existing.length));
  const ordered = [...existing.map((r) => r.name)];
  ordered.splice(at, 0, name);
  const now = s.now();
  await s.db.prisma.$transaction(async (tx) => {
    await tx.packageRepository.create({
      data: {
        name,
        uri,
        priority: at,
        index: uri === BUILTIN_URI ? undefined : ({ packages: pkgs.map(toIndexEntry) } as object),
        skipped: skipped as unknown as object[],
        fetchedAt: uri === BUILTIN_URI ? null : now,
      },
    });
    for (const [priority, n] of ordered.entries())
      await tx.packageRepository.update({ where: { name: n }, data: { priority } });
  });
  await recordEvents(
    s,
    [
      {
        type: 'package_repository_added',
        subject: name,
        payload: { name, uri, packages: pkgs.length, skipped: skipped.length },
      },
    ],
    'catalog',
  );
  return listRepositories(s);
}

/** Removes a repository by name or uri. Installed packages stay installed. */
export async function removeRepository(
  s: S,
  input: { name?: string | undefined; uri?: string | undefined },
): Promise<RepositoryView[]> {
  if (!input.name && !input.uri)
    throw AppError.invalid([{ path: 'name', message: 'give the name or the uri of the repository' }]);
  const repo = await s.db.prisma.packageRepository.findFirst({
    where: input.name ? { name: input.name } : { uri: input.uri! },
  });
  if (!repo) throw AppError.notFound(`Repository '${input.name ?? input.uri}'`);
  await s.db.prisma.packageRepository.delete({ where: { name: repo.name } });
  parsed.delete(repo.uri);
  await recordEvents(
    s,
    [{ type: 'package_repository_removed', subject: repo.name, payload: { name: repo.name, uri: repo.uri } }],
    'catalog',
  );
  return listRepositories(s);
}

/** Every package version of every repository, in repository priority order. */
async function everything(s: Pick<S, 'db'>): Promise<Found[]> {
  const out: Found[] = [];
  for (const r of await repositories(s)) {
    let pkgs: RepoPackage[];
    try {
      pkgs = await packagesOf(r);
    } catch {
      continue; // an unreadable repository hides its packages; listRepositories shows 0
    }
    for (const p of pkgs) out.push({ ...p, repo: { name: r.name, uri: r.uri } });
  }
  return out;
}

/** The versions of a package from the first repository (by priority) that has it, newest last. */
async function versionsOf(s: Pick<S, 'db'>, name: string): Promise<Found[]> {
  const all = (await everything(s)).filter((f) => f.pkg.metadata.name === name);
  if (all.length === 0) throw AppError.notFound(`Package '${name}'`);
  const repo = all[0]!.repo.uri;
  return all.filter((f) => f.repo.uri === repo).sort((a, b) => a.releaseVersion - b.releaseVersion);
}

async function findPackage(s: Pick<S, 'db'>, name: string, version?: string): Promise<Found> {
  const versions = await versionsOf(s, name);
  if (version === undefined || version === '') return versions.at(-1)!;
  const hit = versions.find((v) => v.pkg.metadata.version === version);
  if (!hit)
    throw new AppError(
      'NOT_FOUND',
      `Version [${version}] of package [${name}] not found; versions: ${versions.map((v) => v.pkg.metadata.version).join(', ')}`,
    );
  return hit;
}

export interface PackageSummary {
  name: string;
  currentVersion: string;
  versions: Record<string, string>;
  description: string;
  framework: boolean;
  tags: string[];
  selected: boolean;
  images: Record<string, unknown>;
  repository: string;
}

/**
 * Search by name, tag and text (Cosmos's `/package/search`): every word of the query must match
 * the name, a tag or the description. Selected packages first, then by name.
 */
export async function searchPackages(s: Pick<S, 'db'>, query = ''): Promise<PackageSummary[]> {
  const byName = new Map<string, Found[]>();
  for (const f of await everything(s)) {
    const list = byName.get(f.pkg.metadata.name);
    if (!list) byName.set(f.pkg.metadata.name, [f]);
    else if (list[0]!.repo.uri === f.repo.uri) list.push(f);
  }
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const out: PackageSummary[] = [];
  for (const [name, versions] of byName) {
    versions.sort((a, b) => a.releaseVersion - b.releaseVersion);
    const latest = versions.at(-1)!;
    const m = latest.pkg.metadata;
    const hay = [name, ...m.tags, m.description].join(' ').toLowerCase();
    if (!words.every((w) => hay.includes(w.replace(/\*/g, '')))) continue;
    out.push({
      name,
      currentVersion: m.version,
      versions: Object.fromEntries(versions.map((v) => [v.pkg.metadata.version, String(v.releaseVersion)])),
      description: m.description,
      framework: m.framework,
      tags: m.tags,
      selected: m.selected,
      images: (latest.pkg.resource.images as Record<string, unknown> | undefined) ?? {},
      repository: latest.repo.name,
    });
  }
  return out.sort((a, b) => Number(b.selected) - Number(a.selected) || a.name.localeCompare(b.name));
}

export interface PackageDescription {
  package: Record<string, unknown>;
  versions: string[];
  repository: { name: string; uri: string };
}

/** Cosmos's `/package/describe`: the package version as its repository holds it, plus its versions. */
export async function describePackage(
  s: Pick<S, 'db'>,
  name: string,
  version?: string,
): Promise<PackageDescription> {
  const found = await findPackage(s, name, version);
  return {
    package: toIndexEntry(found),
    versions: (await versionsOf(s, name)).map((v) => v.pkg.metadata.version),
    repository: found.repo,
  };
}

/** Cosmos's `/package/list-versions`: version → release. */
export async function listVersions(s: Pick<S, 'db'>, name: string): Promise<Record<string, string>> {
  return Object.fromEntries(
    (await versionsOf(s, name)).map((v) => [v.pkg.metadata.version, String(v.releaseVersion)]),
  );
}

export interface RenderRequest {
  packageName: string;
  packageVersion?: string | undefined;
  options?: Record<string, unknown> | undefined;
  appId?: string | undefined;
}

function renderFound(found: Found, req: RenderRequest) {
  try {
    return render({
      pkg: found.pkg,
      options: (req.options ?? {}) as JsonObject,
      ...(req.appId ? { appId: normalizeAppId(req.appId) } : {}),
      source: found.repo.uri,
    }).definition;
  } catch (err) {
    if (err instanceof RenderError) {
      if (err.issues.length > 0)
        throw AppError.invalid(err.issues.map((i) => ({ path: `options.${i.path}`, message: i.message })));
      throw new AppError('BAD_REQUEST', err.message);
    }
    throw err;
  }
}

const isGroup = (d: Record<string, unknown>) => Array.isArray(d.apps) || Array.isArray(d.groups);

/** The app ids a rendered definition creates, after checking each app as Atoll would. */
function appIdsOf(definition: Record<string, unknown>): string[] {
  if (isGroup(definition)) {
    const { apps, issues } = flattenGroup(definition);
    if (issues.length > 0) throw AppError.invalid(issues.map((i) => ({ ...i, path: `rendered.${i.path}` })));
    return apps.map((a) => a.def.id);
  }
  const r = parseAppDefinition(definition);
  if (!r.ok) throw AppError.invalid(r.issues.map((i) => ({ ...i, path: `rendered.${i.path}` })));
  return [r.value.id];
}

/** Cosmos's `/package/render`: the app or group the package would create, labels included. */
export async function renderPackage(s: Pick<S, 'db'>, req: RenderRequest): Promise<Record<string, unknown>> {
  const found = await findPackage(s, req.packageName, req.packageVersion);
  const definition = renderFound(found, req);
  appIdsOf(definition);
  // Secret options are shown as the references an install would store, never as their values.
  const so = secretOptions(found, (req.options ?? {}) as JsonObject, normalizeAppId(String(definition.id)));
  return so.any ? so.refer(renderFound(found, { ...req, options: so.renderOptions })) : definition;
}

export interface InstallResult {
  packageName: string;
  packageVersion: string;
  appId: string;
  appIds: string[];
  deploymentId: string;
  postInstallNotes: string | null;
}

/**
 * Secret options (config.json's `"x-atoll-secret": true`, see @atoll/catalog secret-options): the
 * package is rendered with a placeholder in place of each such value; every env variable that is
 * exactly a placeholder becomes a reference to the secret `/<app id>/<option path>`, declared in
 * the app's `secrets`. A placeholder left anywhere else (a command, a label) would put the value in
 * the definition: refused. Options given as `{secret: path}` (what an install stores) refer to a
 * secret that already exists. Nothing here holds the values but `store`, for the secret store.
 */
function secretOptions(found: Found, options: JsonObject, appId: string) {
  const paths = secretOptionPaths(found.pkg.config);
  let renderOptions: Record<string, unknown> = options;
  let stored: Record<string, unknown> = options;
  const placeholders = new Map<string, { name: string; source: string }>();
  const store: Array<{ path: string; value: string }> = [];
  for (const [i, option] of paths.entries()) {
    const v = optionAt(options, option);
    const ref =
      v && typeof v === 'object' && typeof (v as { secret?: unknown }).secret === 'string'
        ? (v as { secret: string }).secret
        : null;
    if (ref === null && (typeof v !== 'string' || v === '')) continue;
    const source = ref ?? `${appId === '/' ? '' : appId}/${option}`;
    if (ref === null) store.push({ path: source, value: v as string });
    const placeholder = `atoll-secret-${i}-${randomBytes(12).toString('hex')}`;
    placeholders.set(placeholder, { name: option, source });
    renderOptions = withOption(renderOptions, option, placeholder);
    stored = withOption(stored, option, { secret: source });
  }
  const refer = (definition: Record<string, unknown>): Record<string, unknown> => {
    if (placeholders.size === 0) return definition;
    const app = (a: Record<string, unknown>): Record<string, unknown> => {
      const env = { ...((a.env as Record<string, unknown> | undefined) ?? {}) };
      const secrets = { ...((a.secrets as Record<string, unknown> | undefined) ?? {}) };
      for (const [k, v] of Object.entries(env)) {
        const p = typeof v === 'string' ? placeholders.get(v) : undefined;
        if (!p) continue;
        env[k] = { secret: p.name };
        secrets[p.name] = { source: p.source };
      }
      return { ...a, env, secrets };
    };
    const walk = (g: Record<string, unknown>): Record<string, unknown> =>
      isGroup(g)
        ? {
            ...g,
            ...(Array.isArray(g.apps) ? { apps: (g.apps as Array<Record<string, unknown>>).map(app) } : {}),
            ...(Array.isArray(g.groups) ? { groups: (g.groups as Array<Record<string, unknown>>).map(walk) } : {}),
          }
        : app(g);
    const out = walk(definition);
    const text = JSON.stringify(out);
    for (const [placeholder, p] of placeholders)
      if (text.includes(placeholder))
        throw AppError.invalid([
          {
            path: `options.${p.name}`,
            message: 'this package uses the secret option outside an environment variable; it cannot be kept secret',
          },
        ]);
    return out;
  };
  return { renderOptions: renderOptions as JsonObject, stored, store, refer, any: placeholders.size > 0 };
}

/** Installs a package: renders it and creates its app or group as one deployment. */
export async function installPackage(s: S, req: RenderRequest): Promise<InstallResult> {
  const found = await findPackage(s, req.packageName, req.packageVersion);
  const plain = renderFound(found, req);
  const appId = normalizeAppId(String(plain.id));
  assertInScope(s, appId);
  // Secret options: stored as secrets, referred to by the app; `plain` (with the values) is
  // only validated, never stored.
  const so = secretOptions(found, (req.options ?? {}) as JsonObject, appId);
  const definition = so.any ? so.refer(renderFound(found, { ...req, options: so.renderOptions })) : plain;
  const appIds = appIdsOf(definition);
  const taken = await s.db.prisma.packageInstall.findUnique({ where: { appId } });
  if (taken)
    throw new AppError(
      'CONFLICT',
      `${appId} is already installed (${taken.packageName} ${taken.packageVersion}); choose another name with appId or service.name`,
    );
  for (const x of so.store)
    await putSecret(s, { ...x, description: `option of ${found.pkg.metadata.name}`, createdBy: `catalog:${appId}` });
  let deploymentId: string;
  try {
    deploymentId = isGroup(definition)
      ? (await createGroup(s, definition)).deploymentId
      : (await createApp(s, definition)).deploymentId;
  } catch (err) {
    if (so.store.length > 0)
      await s.db.pool.query('DELETE FROM secrets WHERE path = ANY($1::text[]) AND created_by = $2', [
        so.store.map((x) => x.path),
        `catalog:${appId}`,
      ]);
    throw err;
  }
  await s.db.prisma.packageInstall.create({
    data: {
      appId,
      packageName: found.pkg.metadata.name,
      packageVersion: found.pkg.metadata.version,
      source: found.repo.uri,
      options: so.stored as object,
      definition: definition as object,
      appIds,
    },
  });
  await recordEvents(
    s,
    [
      {
        type: 'package_installed',
        subject: appId,
        payload: { packageName: found.pkg.metadata.name, packageVersion: found.pkg.metadata.version, appIds },
      },
    ],
    'catalog',
  );
  return {
    packageName: found.pkg.metadata.name,
    packageVersion: found.pkg.metadata.version,
    appId,
    appIds,
    deploymentId,
    postInstallNotes: found.pkg.metadata.postInstallNotes ?? null,
  };
}

export interface InstalledView {
  appId: string;
  packageName: string;
  packageVersion: string;
  source: string;
  options: Record<string, unknown>;
  installedAt: string;
  updatedAt: string;
  /** Worst of the apps: Running when all run healthy, else what the first unsettled app is doing. */
  status: string;
  apps: Array<{
    id: string;
    status: string;
    instances: number;
    tasksRunning: number;
    tasksHealthy: number;
    tasksUnhealthy: number;
  }>;
  images: Record<string, unknown>;
  postInstallNotes: string | null;
}

/** Installed packages with their apps and health; installs whose apps are all gone are dropped. */
export async function listInstalled(
  s: S,
  filter: { packageName?: string | undefined; appId?: string | undefined } = {},
): Promise<InstalledView[]> {
  const installs = filterVisible(
    s,
    await s.db.prisma.packageInstall.findMany({
      where: {
        ...(filter.packageName ? { packageName: filter.packageName } : {}),
        ...(filter.appId ? { appId: normalizeAppId(filter.appId) } : {}),
      },
      orderBy: { appId: 'asc' },
    }),
    (i) => i.appId,
  );
  if (installs.length === 0) return [];
  const apps = new Map((await listApps(s)).map((a) => [a.id, a]));
  const out: InstalledView[] = [];
  for (const i of installs) {
    const mine = i.appIds.map((id) => apps.get(id)).filter((a): a is AppView => a !== undefined);
    if (mine.length === 0) {
      await s.db.prisma.packageInstall.deleteMany({ where: { appId: i.appId, updatedAt: i.updatedAt } });
      continue;
    }
    const meta = metadataOf(i.definition);
    const unsettled = mine.find((a) => a.atoll.status !== 'Running' || a.tasksUnhealthy > 0);
    out.push({
      appId: i.appId,
      packageName: i.packageName,
      packageVersion: i.packageVersion,
      source: i.source,
      options: i.options as Record<string, unknown>,
      installedAt: i.createdAt.toISOString(),
      updatedAt: i.updatedAt.toISOString(),
      status: unsettled ? (unsettled.tasksUnhealthy > 0 ? 'Unhealthy' : unsettled.atoll.status) : 'Running',
      apps: mine.map((a) => ({
        id: a.id,
        status: a.atoll.status,
        instances: a.instances,
        tasksRunning: a.tasksRunning,
        tasksHealthy: a.tasksHealthy,
        tasksUnhealthy: a.tasksUnhealthy,
      })),
      images: meta?.images ?? {},
      postInstallNotes: meta?.postInstallNotes ?? null,
    });
  }
  return out;
}

/** The package's icons and notes, from the DCOS_PACKAGE_DEFINITION label the render put on its apps. */
function metadataOf(
  definition: unknown,
): { images?: Record<string, unknown>; postInstallNotes?: string } | null {
  const d = definition as {
    labels?: Record<string, string>;
    apps?: Array<{ labels?: Record<string, string> }>;
    groups?: unknown[];
  };
  const label = d.labels?.DCOS_PACKAGE_DEFINITION ?? firstAppLabel(d);
  if (!label) return null;
  try {
    const pkg = JSON.parse(Buffer.from(label, 'base64').toString('utf8')) as {
      resource?: { images?: Record<string, unknown> };
      postInstallNotes?: string;
    };
    return {
      ...(pkg.resource?.images ? { images: pkg.resource.images } : {}),
      ...(pkg.postInstallNotes ? { postInstallNotes: pkg.postInstallNotes } : {}),
    };
  } catch {
    return null;
  }
}

function firstAppLabel(group: {
  apps?: Array<{ labels?: Record<string, string> }>;
  groups?: unknown[];
}): string | undefined {
  for (const a of group.apps ?? [])
    if (a.labels?.DCOS_PACKAGE_DEFINITION) return a.labels.DCOS_PACKAGE_DEFINITION;
  for (const g of group.groups ?? []) {
    const hit = firstAppLabel(g as typeof group);
    if (hit) return hit;
  }
  return undefined;
}

export interface UninstallResult {
  packageName: string;
  appId: string;
  packageVersion: string;
  postUninstallNotes: string | null;
  removedApps: string[];
}

/**
 * Cosmos's `/package/uninstall`: removes the apps the install created, and nothing else. With
 * several installs of the package, `appId` picks one or `all` takes every one.
 */
export async function uninstallPackage(
  s: S,
  req: { packageName: string; appId?: string | undefined; all?: boolean | undefined },
): Promise<UninstallResult[]> {
  const installs = await s.db.prisma.packageInstall.findMany({
    where: { packageName: req.packageName, ...(req.appId ? { appId: normalizeAppId(req.appId) } : {}) },
  });
  if (installs.length === 0)
    throw AppError.notFound(
      `Package [${req.packageName}]${req.appId ? ` with appId [${normalizeAppId(req.appId)}]` : ''}`,
    );
  if (installs.length > 1 && !req.all)
    throw new AppError(
      'CONFLICT',
      `Multiple apps named [${req.packageName}] are installed (${installs.map((i) => i.appId).join(', ')}); give appId or all`,
    );
  for (const i of installs) assertInScope(s, i.appId);
  const out: UninstallResult[] = [];
  for (const i of installs) {
    const present = await s.db.prisma.app.findMany({
      where: { id: { in: i.appIds }, deleting: false },
      select: { id: true },
    });
    for (const app of present) await deleteApp(s, app.id, { force: true });
    await s.db.prisma.packageInstall.delete({ where: { appId: i.appId } });
    // The secrets its secret options were stored as.
    await s.db.pool.query('DELETE FROM secrets WHERE created_by = $1', [`catalog:${i.appId}`]);
    // null when its repository was removed since
    const notes = await findPackage(s, i.packageName, i.packageVersion).then(
      (found) => found.pkg.metadata.postUninstallNotes ?? null,
      () => null,
    );
    await recordEvents(
      s,
      [
        {
          type: 'package_uninstalled',
          subject: i.appId,
          payload: { packageName: i.packageName, removedApps: present.map((a) => a.id) },
        },
      ],
      'catalog',
    );
    out.push({
      packageName: i.packageName,
      appId: i.appId,
      packageVersion: i.packageVersion,
      postUninstallNotes: notes,
      removedApps: present.map((a) => a.id),
    });
  }
  return out;
}

export interface UpgradeRequest {
  appId: string;
  packageVersion?: string | undefined;
  /** New options; when absent the install's options are kept. */
  options?: Record<string, unknown> | undefined;
}

export interface UpgradePreview {
  appId: string;
  packageName: string;
  fromVersion: string;
  toVersion: string;
  from: Record<string, unknown>;
  to: Record<string, unknown>;
  /** Apps the upgrade creates, changes (definition differs) and removes. */
  create: string[];
  change: string[];
  remove: string[];
}

async function planUpgrade(s: S, req: UpgradeRequest) {
  const appId = normalizeAppId(req.appId);
  assertInScope(s, appId);
  const install = await s.db.prisma.packageInstall.findUnique({ where: { appId } });
  if (!install) throw AppError.notFound(`Installed package at '${appId}'`);
  const found = await findPackage(s, install.packageName, req.packageVersion ?? install.packageVersion);
  const from = found.pkg.metadata.version;
  if (req.packageVersion && req.packageVersion !== install.packageVersion) {
    const allowed = found.pkg.metadata.upgradesFrom;
    if (allowed && !allowed.includes('*') && !allowed.includes(install.packageVersion))
      throw AppError.invalid([
        {
          path: 'packageVersion',
          message: `${install.packageName} ${from} cannot be upgraded to from ${install.packageVersion} (upgradesFrom: ${allowed.join(', ')})`,
        },
      ]);
  }
  const given = (req.options ?? (install.options as Record<string, unknown>)) as JsonObject;
  const so = secretOptions(found, given, appId);
  const options = so.stored as JsonObject;
  const to = so.refer(renderFound(found, { packageName: install.packageName, options: so.renderOptions, appId }));
  const newIds = appIdsOf(to);
  const newDefs = new Map(definitionsOf(to).map((d) => [d.id, d]));
  const current = new Map(
    (
      await s.db.prisma.app.findMany({ where: { id: { in: [...new Set([...install.appIds, ...newIds])] } } })
    ).map((a) => [a.id, a]),
  );
  const foreign = newIds.filter((id) => current.has(id) && !install.appIds.includes(id));
  if (foreign.length > 0)
    throw new AppError(
      'CONFLICT',
      `the upgrade would take over apps the package did not create: ${foreign.join(', ')}`,
    );
  const preview: UpgradePreview = {
    appId,
    packageName: install.packageName,
    fromVersion: install.packageVersion,
    toVersion: from,
    from: install.definition as Record<string, unknown>,
    to,
    create: newIds.filter((id) => !current.has(id)),
    change: newIds.filter(
      (id) => current.has(id) && canonicalJson(current.get(id)!.definition) !== canonicalJson(newDefs.get(id)),
    ),
    remove: install.appIds.filter((id) => !newIds.includes(id) && current.has(id)),
  };
  return { install, found, options, preview, newDefs, store: so.store };
}

/** The apps of a rendered definition as Atoll stores them (ids resolved, defaults filled). */
function definitionsOf(definition: Record<string, unknown>): AppDefinition[] {
  if (isGroup(definition)) return flattenGroup(definition).apps.map((a) => a.def);
  const r = parseAppDefinition(definition);
  return r.ok ? [r.value] : [];
}

/** What an upgrade would do, without doing it: the old and new definitions and the app changes. */
export async function previewUpgrade(s: S, req: UpgradeRequest): Promise<UpgradePreview> {
  return (await planUpgrade(s, req)).preview;
}

/** Upgrades an install to another version or other options: each app is updated in dependency order. */
export async function upgradePackage(
  s: S,
  req: UpgradeRequest,
): Promise<UpgradePreview & { deploymentIds: string[] }> {
  const { install, found, options, preview, newDefs, store } = await planUpgrade(s, req);
  for (const x of store)
    await putSecret(s, { ...x, description: `option of ${found.pkg.metadata.name}`, createdBy: `catalog:${install.appId}` });
  const deploymentIds: string[] = [];
  const touched = new Set([...preview.create, ...preview.change]);
  const defs = [...newDefs.values()];
  for (const layer of dependencyLayers(defs)) {
    for (const id of layer) {
      if (!touched.has(id)) continue;
      const def = newDefs.get(id)! as unknown as Record<string, unknown>;
      deploymentIds.push((await updateApp(s, id, def, { partial: false, force: true })).deploymentId);
    }
  }
  for (const id of preview.remove) deploymentIds.push((await deleteApp(s, id, { force: true })).deploymentId);
  await s.db.prisma.packageInstall.update({
    where: { appId: install.appId },
    data: {
      packageVersion: found.pkg.metadata.version,
      source: found.repo.uri,
      options: options as object,
      definition: preview.to as object,
      appIds: [
        ...new Set([...install.appIds.filter((id) => !preview.remove.includes(id)), ...preview.create]),
      ],
    },
  });
  await recordEvents(
    s,
    [
      {
        type: 'package_upgraded',
        subject: install.appId,
        payload: { packageName: install.packageName, from: preview.fromVersion, to: preview.toVersion },
      },
    ],
    'catalog',
  );
  return { ...preview, deploymentIds };
}

import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { builtinRepoDir, scanRepoDir } from './builtin';
import { describeIssue } from './load';
import { packageMetadataSchema, resourceSchema, type PackageDefinition } from './package';
import { RenderError } from './render';

/** The URI of the catalog that ships with Atoll. */
export const BUILTIN_URI = 'builtin:';

/**
 * One package version of a repository index (Universe's `repo-up-to-*.json`, v3 and v4): the
 * package.json fields, plus `releaseVersion`, `config`, `resource` and the Marathon template as
 * base64 in `marathon.v2AppMustacheTemplate`.
 */
const indexEntrySchema = packageMetadataSchema.extend({
  releaseVersion: z.number().int().nonnegative().optional(),
  config: z.record(z.string(), z.unknown()).nullish(),
  resource: resourceSchema.nullish(),
  marathon: z.looseObject({ v2AppMustacheTemplate: z.string().optional() }).nullish(),
});

const indexSchema = z.looseObject({
  packages: z.array(z.unknown(), { error: 'a Universe repository index has a packages array' }),
});

/** A package version as a repository holds it: its definition and its release number. */
export interface RepoPackage {
  pkg: PackageDefinition;
  releaseVersion: number;
}

/** An entry of a repository that could not be read: where it is, what it claims to be, and why. */
export interface SkippedPackage {
  /** Its place in the index's `packages` array (in a directory: in the order versions are read). */
  index: number;
  /** In a repository directory: `<L>/<name>/<release>`. */
  path?: string;
  name?: string;
  version?: string;
  /** The field and what is wrong with it: `packagingVersion: must be 2.0, 3.0, 4.0 or 5.0 (got "6.0")`. */
  reason: string;
}

/** What a repository holds: the package versions Atoll can read, and the ones it left out. */
export interface RepositoryContents {
  packages: RepoPackage[];
  skipped: SkippedPackage[];
}

const stringField = (raw: unknown, key: string): string | undefined => {
  const v = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/**
 * Reads a Universe repository index (the v3/v4 JSON with `packages[]`). An entry that is not a
 * package Atoll can read (a newer packagingVersion, a missing name, a config that is not an
 * object…) is left out and reported with the reason, as Cosmos serves the rest of a repository;
 * only a document that is not an index at all is refused.
 */
export function packagesFromIndex(json: unknown): RepositoryContents {
  const index = indexSchema.safeParse(json);
  if (!index.success) throw new RenderError('not a Universe repository index: it has no packages array');
  const packages: RepoPackage[] = [];
  const skipped: SkippedPackage[] = [];
  index.data.packages.forEach((raw, i) => {
    const entry = indexEntrySchema.safeParse(raw);
    if (!entry.success) {
      const name = stringField(raw, 'name');
      const version = stringField(raw, 'version');
      const reason =
        typeof raw !== 'object' || raw === null || Array.isArray(raw)
          ? 'not a JSON object'
          : entry.error.issues.map((issue) => describeIssue(issue, raw)).join('; ');
      skipped.push({ index: i, ...(name ? { name } : {}), ...(version ? { version } : {}), reason });
      return;
    }
    const { releaseVersion, config, resource, marathon, ...metadata } = entry.data;
    const template = marathon?.v2AppMustacheTemplate;
    packages.push({
      pkg: {
        metadata: packageMetadataSchema.parse(metadata),
        config: config ?? null,
        marathonTemplate: template === undefined ? null : Buffer.from(template, 'base64').toString('utf8'),
        resource: resource ?? {},
      },
      releaseVersion: releaseVersion ?? i,
    });
  });
  return { packages, skipped };
}

/** The index entry of a package version: what a Universe repository serves for it. */
export function toIndexEntry({ pkg, releaseVersion }: RepoPackage): Record<string, unknown> {
  return {
    ...pkg.metadata,
    releaseVersion,
    ...(pkg.config ? { config: pkg.config } : {}),
    resource: pkg.resource,
    ...(pkg.marathonTemplate !== null
      ? { marathon: { v2AppMustacheTemplate: Buffer.from(pkg.marathonTemplate, 'utf8').toString('base64') } }
      : {}),
  };
}

/**
 * A repository directory (`packages/<L>/<name>/<release>/`) read as index entries; a version
 * directory that cannot be read is skipped and reported.
 */
export async function repoDirPackages(dir: string): Promise<RepositoryContents> {
  const { loaded, skipped } = await scanRepoDir(dir);
  return {
    packages: loaded.map(({ dir: d, pkg }) => ({
      pkg: withDataIcons(pkg, d),
      releaseVersion: Number(path.basename(d)),
    })),
    skipped,
  };
}

const iconCache = new Map<string, string>();

/**
 * Icons of a package in a directory become data: URLs, so an index built from it (and the
 * console, which has no access to the directory) carries them, offline.
 */
function withDataIcons(pkg: PackageDefinition, dir: string): PackageDefinition {
  const images = pkg.resource.images;
  if (!images) return pkg;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(images)) {
    if (typeof v !== 'string' || /^(https?|data):/.test(v)) {
      out[k] = v;
      continue;
    }
    const file = path.join(dir, v);
    let url = iconCache.get(file);
    if (url === undefined) {
      url = `data:${mimeOf(file)};base64,${readFileSyncSafe(file)}`;
      iconCache.set(file, url);
    }
    out[k] = url;
  }
  return { ...pkg, resource: { ...pkg.resource, images: out } };
}

function readFileSyncSafe(file: string): string {
  try {
    return readFileSync(file).toString('base64');
  } catch {
    return '';
  }
}

function mimeOf(file: string): string {
  const ext = path.extname(file).toLowerCase();
  return ext === '.svg' ? 'image/svg+xml' : ext === '.png' ? 'image/png' : 'application/octet-stream';
}

/**
 * Loads a repository by URI: `builtin:` (the shipped catalog), an http(s) URL or a local path of
 * a Universe index JSON file, or a local repository directory (`packages/<L>/<name>/<release>/`,
 * or a directory holding `repo/packages`). Entries it cannot read are returned as `skipped`;
 * what is not a repository at all throws RenderError with a message for people.
 */
export async function loadRepository(
  uri: string,
  opts: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Promise<RepositoryContents> {
  if (uri === BUILTIN_URI) return repoDirPackages(builtinRepoDir);
  if (/^https?:\/\//i.test(uri)) {
    const doFetch = opts.fetch ?? fetch;
    let res: Response;
    try {
      res = await doFetch(uri, {
        headers: {
          accept: 'application/vnd.dcos.universe.repo+json;charset=utf-8;version=v4, application/json',
        },
        signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
      });
    } catch (err) {
      throw new RenderError(`could not fetch ${uri}: ${(err as Error).message}`);
    }
    if (!res.ok) throw new RenderError(`could not fetch ${uri}: HTTP ${res.status}`);
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      throw new RenderError(`${uri} did not answer JSON`);
    }
    return packagesFromIndex(json);
  }
  const file = uri.startsWith('file://') ? new URL(uri).pathname : uri;
  if (!path.isAbsolute(file))
    throw new RenderError('a repository uri is builtin:, an http(s) URL or an absolute path');
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new RenderError(`${file} does not exist`);
  }
  if (info.isDirectory()) {
    const nested = path.join(file, 'repo', 'packages');
    const dir = await stat(nested).then(
      () => nested,
      () => file,
    );
    try {
      return await repoDirPackages(dir);
    } catch (err) {
      throw new RenderError(`${file} is not a Universe repository directory: ${(err as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new RenderError(`${file} is not a JSON file: ${(err as Error).message}`);
  }
  return packagesFromIndex(json);
}

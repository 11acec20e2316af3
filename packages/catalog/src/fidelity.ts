import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAppDefinition } from '@atoll/spec';
import { loadPackageDir } from './load';
import type { PackageDefinition } from './package';
import { RenderError, renderPackage } from './render';
import { packagesFromIndex } from './repository';

/**
 * How much of a Universe Atoll takes as it is: every package revision rendered with its defaults
 * (as Cosmos would on `dcos package install --yes`) and the result checked as `POST /v2/apps` checks
 * an app. Used by `npm run bench:universe <checkout>` and by the test over the copied revisions.
 */

export type Outcome =
  /** The package.json (or index entry) could not be read. */
  | { kind: 'unreadable'; reason: string }
  /** No Marathon template: a CLI-only package, nothing for Cosmos to render. */
  | { kind: 'no-template' }
  /** The render failed: invalid defaults, a template that is not a JSON object, … */
  | { kind: 'render-failed'; reason: string }
  /** Rendered, but the app was refused, with the fields and why. */
  | { kind: 'refused'; issues: string[] }
  | { kind: 'accepted' };

export interface RevisionResult {
  name: string;
  /** The revision directory (`<L>/<name>/<n>`) or the index entry's place. */
  where: string;
  release: number;
  version: string;
  packagingVersion: string;
  outcome: Outcome;
}

export interface Figure {
  /** Revisions with a Marathon template that render with their defaults. */
  rendered: number;
  accepted: number;
  /** Revisions with a Marathon template whose render failed. */
  renderFailed: number;
}

export interface UniverseReport {
  revisions: RevisionResult[];
  /** The highest release of each package. */
  latest: Figure;
  all: Figure;
}

const SOURCE = 'https://universe.mesosphere.com/repo';

/** Renders one package with its defaults and checks the app as `POST /v2/apps` would. */
export function checkPackage(pkg: PackageDefinition): Outcome {
  if (pkg.marathonTemplate === null) return { kind: 'no-template' };
  let definition: Record<string, unknown>;
  try {
    definition = renderPackage({ pkg, source: SOURCE }).definition;
  } catch (err) {
    if (err instanceof RenderError) return { kind: 'render-failed', reason: err.message };
    throw err;
  }
  const parsed = parseAppDefinition(definition);
  if (parsed.ok) return { kind: 'accepted' };
  return { kind: 'refused', issues: parsed.issues.map((i) => `${i.path}: ${i.message}`) };
}

function figure(results: RevisionResult[]): Figure {
  const count = (k: Outcome['kind']) => results.filter((r) => r.outcome.kind === k).length;
  return {
    rendered: count('accepted') + count('refused'),
    accepted: count('accepted'),
    renderFailed: count('render-failed'),
  };
}

function report(revisions: RevisionResult[]): UniverseReport {
  const latest = new Map<string, RevisionResult>();
  for (const r of revisions) {
    const seen = latest.get(r.name);
    if (!seen || r.release > seen.release) latest.set(r.name, r);
  }
  return { revisions, latest: figure([...latest.values()]), all: figure(revisions) };
}

/**
 * A Universe checkout, its `repo` or its `repo/packages` directory: `packages/<L>/<name>/<release>/`.
 */
export async function measureUniverseDir(dir: string): Promise<UniverseReport> {
  let root = dir;
  for (const nested of [path.join(dir, 'repo', 'packages'), path.join(dir, 'packages')])
    if (await isDirectory(nested)) {
      root = nested;
      break;
    }
  const revisions: RevisionResult[] = [];
  for (const letter of (await readdir(root)).sort()) {
    if (!(await stat(path.join(root, letter))).isDirectory()) continue;
    for (const name of (await readdir(path.join(root, letter))).sort()) {
      const pkgDir = path.join(root, letter, name);
      if (!(await stat(pkgDir)).isDirectory()) continue;
      for (const release of await readdir(pkgDir)) {
        if (!/^\d+$/.test(release)) continue;
        const where = `${letter}/${name}/${release}`;
        let pkg: PackageDefinition;
        try {
          pkg = await loadPackageDir(path.join(pkgDir, release));
        } catch (err) {
          revisions.push({
            name,
            where,
            release: Number(release),
            version: '',
            packagingVersion: '',
            outcome: { kind: 'unreadable', reason: relative((err as Error).message, root) },
          });
          continue;
        }
        revisions.push({
          name,
          where,
          release: Number(release),
          version: pkg.metadata.version,
          packagingVersion: pkg.metadata.packagingVersion,
          outcome: checkPackage(pkg),
        });
      }
    }
  }
  return report(revisions);
}

/** A built Universe index (`repo-up-to-*.json`): its readable entries, and the ones it skipped. */
export function measureUniverseIndex(json: unknown): UniverseReport & { skipped: number } {
  const { packages, skipped } = packagesFromIndex(json);
  const revisions = packages.map(({ pkg, releaseVersion }, i) => ({
    name: pkg.metadata.name,
    where: `#${i}`,
    release: releaseVersion,
    version: pkg.metadata.version,
    packagingVersion: pkg.metadata.packagingVersion,
    outcome: checkPackage(pkg),
  }));
  const unreadable = skipped.map((s) => ({
    name: s.name ?? `#${s.index}`,
    where: `#${s.index}`,
    release: -1,
    version: s.version ?? '',
    packagingVersion: '',
    outcome: { kind: 'unreadable', reason: s.reason } as const,
  }));
  return { ...report([...revisions, ...unreadable]), skipped: skipped.length };
}

const isDirectory = (p: string) =>
  stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );

function relative(message: string, root: string): string {
  return message.split(`${root}${path.sep}`).join('');
}

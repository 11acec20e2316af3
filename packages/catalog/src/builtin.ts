import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDir } from './load';
import type { PackageDefinition } from './package';
import { RenderError } from './render';

/** The built-in repository: plain Universe package directories, `packages/<L>/<name>/<n>/`. */
export const builtinRepoDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'universe',
  'packages',
);

/** A package version of a repository directory that could not be read, and why. */
export interface SkippedDir {
  /** Its place among the directory's package versions, in the order they are read. */
  index: number;
  /** `<L>/<name>/<release>`, relative to the repository's `packages` directory. */
  path: string;
  name: string;
  reason: string;
}

/**
 * Every package version of a repository directory, with the directory it came from; a version
 * that cannot be read is left out and reported, so one bad package.json does not hide the rest.
 */
export async function scanRepoDir(root: string = builtinRepoDir): Promise<{
  loaded: Array<{ dir: string; pkg: PackageDefinition }>;
  skipped: SkippedDir[];
}> {
  const loaded: Array<{ dir: string; pkg: PackageDefinition }> = [];
  const skipped: SkippedDir[] = [];
  let index = 0;
  for (const letter of (await readdir(root)).sort()) {
    for (const name of (await readdir(path.join(root, letter))).sort()) {
      for (const release of (await readdir(path.join(root, letter, name))).sort(
        (a, b) => Number(a) - Number(b),
      )) {
        const dir = path.join(root, letter, name, release);
        try {
          loaded.push({ dir, pkg: await loadPackageDir(dir) });
        } catch (err) {
          skipped.push({ index, path: `${letter}/${name}/${release}`, name, reason: dirReason(err, dir) });
        }
        index++;
      }
    }
  }
  return { loaded, skipped };
}

/** Why a package directory could not be read, without the host's path in it. */
function dirReason(err: unknown, dir: string): string {
  return (err as Error).message.split(`${dir}${path.sep}`).join('').split(dir).join('the directory');
}

/** Every package version of a repository directory; throws when one of them cannot be read. */
export async function loadRepoDir(
  root: string = builtinRepoDir,
): Promise<Array<{ dir: string; pkg: PackageDefinition }>> {
  const { loaded, skipped } = await scanRepoDir(root);
  if (skipped.length > 0) throw new RenderError(skipped.map((s) => `${s.path}: ${s.reason}`).join('; '));
  return loaded;
}

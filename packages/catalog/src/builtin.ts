import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDir } from './load';
import type { PackageDefinition } from './package';

/** The built-in repository: plain Universe package directories, `packages/<L>/<name>/<n>/`. */
export const builtinRepoDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'universe',
  'packages',
);

/** Every package version of a repository directory, with the directory it came from. */
export async function loadRepoDir(
  root: string = builtinRepoDir,
): Promise<Array<{ dir: string; pkg: PackageDefinition }>> {
  const out: Array<{ dir: string; pkg: PackageDefinition }> = [];
  for (const letter of (await readdir(root)).sort()) {
    for (const name of (await readdir(path.join(root, letter))).sort()) {
      for (const release of (await readdir(path.join(root, letter, name))).sort(
        (a, b) => Number(a) - Number(b),
      )) {
        const dir = path.join(root, letter, name, release);
        out.push({ dir, pkg: await loadPackageDir(dir) });
      }
    }
  }
  return out;
}

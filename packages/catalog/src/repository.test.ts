import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPackageDir } from './load';
import { RenderError, renderPackage } from './render';
import { BUILTIN_URI, loadRepository, packagesFromIndex, toIndexEntry } from './repository';

const fixtures = path.resolve(import.meta.dirname, '../../../../shared/fixtures/universe');
const tmp = await mkdtemp(path.join(os.tmpdir(), 'atoll-repo-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('Universe repository indexes', () => {
  it('round-trips a package through an index entry (base64 template) and renders the same', async () => {
    const pkg = await loadPackageDir(path.join(fixtures, 'nginx-6'));
    const entry = toIndexEntry({ pkg, releaseVersion: 6 });
    expect(typeof (entry.marathon as { v2AppMustacheTemplate: string }).v2AppMustacheTemplate).toBe('string');
    const [back] = packagesFromIndex(JSON.parse(JSON.stringify({ packages: [entry] })));
    expect(back!.releaseVersion).toBe(6);
    expect(back!.pkg.marathonTemplate).toBe(pkg.marathonTemplate);
    expect(renderPackage({ pkg: back!.pkg, source: 'x' }).definition).toEqual(
      renderPackage({ pkg, source: 'x' }).definition,
    );
  });

  it('refuses an index without packages, and names the bad entries', () => {
    expect(() => packagesFromIndex({ foo: 1 })).toThrow(/no packages array/);
    try {
      packagesFromIndex({
        packages: [{ packagingVersion: '4.0', name: 'ok', version: '1' }, { name: 'bad' }],
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RenderError);
      const paths = (err as RenderError).issues.map((i) => i.path);
      expect(paths).toContain('packages.1.packagingVersion');
      expect(paths).toContain('packages.1.version');
    }
  });

  it('loads the built-in catalog with its icons as data URLs', async () => {
    const pkgs = await loadRepository(BUILTIN_URI);
    const redis = pkgs.find((p) => p.pkg.metadata.name === 'redis');
    expect(redis?.releaseVersion).toBe(0);
    expect(String(redis?.pkg.resource.images?.['icon-medium'])).toMatch(/^data:image\/svg\+xml;base64,/);
  });

  it('loads an index file and a repository directory by path, and explains a bad path', async () => {
    const file = path.join(tmp, 'repo.json');
    const pkg = await loadPackageDir(path.join(fixtures, 'jenkins-200'));
    await writeFile(file, JSON.stringify({ packages: [toIndexEntry({ pkg, releaseVersion: 200 })] }));
    expect((await loadRepository(file)).map((p) => p.pkg.metadata.name)).toEqual(['jenkins']);
    expect(await loadRepository(`file://${file}`)).toHaveLength(1);
    await expect(loadRepository(path.join(tmp, 'nope.json'))).rejects.toThrow(/does not exist/);
    await expect(loadRepository('relative/path')).rejects.toThrow(/absolute path/);
  });
});

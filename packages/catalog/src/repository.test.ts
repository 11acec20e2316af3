import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinRepoDir } from './builtin';
import { loadPackageDir } from './load';
import { renderPackage } from './render';
import { BUILTIN_URI, loadRepository, packagesFromIndex, toIndexEntry } from './repository';

const fixtures = path.resolve(import.meta.dirname, '../../../../shared/fixtures/universe');
const tmp = await mkdtemp(path.join(os.tmpdir(), 'atoll-repo-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('Universe repository indexes', () => {
  it('round-trips a package through an index entry (base64 template) and renders the same', async () => {
    const pkg = await loadPackageDir(path.join(fixtures, 'nginx-6'));
    const entry = toIndexEntry({ pkg, releaseVersion: 6 });
    expect(typeof (entry.marathon as { v2AppMustacheTemplate: string }).v2AppMustacheTemplate).toBe('string');
    const {
      packages: [back],
      skipped,
    } = packagesFromIndex(JSON.parse(JSON.stringify({ packages: [entry] })));
    expect(skipped).toEqual([]);
    expect(back!.releaseVersion).toBe(6);
    expect(back!.pkg.marathonTemplate).toBe(pkg.marathonTemplate);
    expect(renderPackage({ pkg: back!.pkg, source: 'x' }).definition).toEqual(
      renderPackage({ pkg, source: 'x' }).definition,
    );
  });

  it('refuses what is not an index at all', async () => {
    expect(() => packagesFromIndex({ foo: 1 })).toThrow(/no packages array/);
    expect(() => packagesFromIndex([])).toThrow(/no packages array/);
    expect(() => packagesFromIndex({ packages: 'all of them' })).toThrow(/no packages array/);
    const notJson = path.join(tmp, 'not-json.json');
    await writeFile(notJson, '<html>not here</html>');
    await expect(loadRepository(notJson)).rejects.toThrow(/is not a JSON file/);
  });

  it('loads every readable entry of an index and lists the others with the field and the reason', async () => {
    const redis = toIndexEntry({
      pkg: await loadPackageDir(path.join(builtinRepoDir, 'R', 'redis', '0')),
      releaseVersion: 0,
    });
    const nginx = toIndexEntry({
      pkg: await loadPackageDir(path.join(fixtures, 'nginx-6')),
      releaseVersion: 6,
    });
    const index = {
      packages: [
        redis,
        { ...nginx, packagingVersion: '6.0', version: '9.9.9' },
        { ...redis, name: undefined, version: '0.0.1' },
        { ...redis, version: '0.0.2', config: 'type: object' },
        nginx,
        42,
        { ...redis, version: '0.0.3', tags: ['ok', 7] },
      ],
    };
    const { packages, skipped } = packagesFromIndex(JSON.parse(JSON.stringify(index)));
    expect(packages.map((p) => [p.pkg.metadata.name, p.pkg.metadata.version, p.releaseVersion])).toEqual([
      ['redis', redis.version, 0],
      ['nginx', nginx.version, 6],
    ]);
    // The readable ones are whole: they render as their directories do.
    expect(renderPackage({ pkg: packages[1]!.pkg, source: 'x' }).definition).toMatchObject({ id: '/nginx' });
    expect(skipped).toEqual([
      {
        index: 1,
        name: 'nginx',
        version: '9.9.9',
        reason: expect.stringMatching(/^packagingVersion: must be 2\.0, .*4\.0.* \(got "6\.0"\)$/),
      },
      { index: 2, version: '0.0.1', reason: 'name: missing (expected string)' },
      {
        index: 3,
        name: 'redis',
        version: '0.0.2',
        reason: expect.stringMatching(/^config: expected record, received string$/),
      },
      { index: 5, reason: 'not a JSON object' },
      { index: 6, name: 'redis', version: '0.0.3', reason: expect.stringMatching(/^tags\.1: /) },
    ]);
  });

  it('skips an unreadable version of a repository directory and loads the rest', async () => {
    const root = path.join(tmp, 'dir-repo', 'repo', 'packages');
    await cp(path.join(builtinRepoDir, 'R', 'redis'), path.join(root, 'R', 'redis'), { recursive: true });
    await cp(path.join(fixtures, 'nginx-6'), path.join(root, 'N', 'nginx', '6'), { recursive: true });
    await cp(path.join(fixtures, 'nginx-6'), path.join(root, 'N', 'nginx', '7'), { recursive: true });
    const pkgJson = path.join(root, 'N', 'nginx', '7', 'package.json');
    const meta = JSON.parse(await readFile(pkgJson, 'utf8')) as Record<string, unknown>;
    await writeFile(pkgJson, JSON.stringify({ ...meta, packagingVersion: '6.0' }));
    await writeFile(path.join(root, 'R', 'redis', '0', 'config.json'), '{ "type": ');
    const { packages, skipped } = await loadRepository(path.join(tmp, 'dir-repo'));
    expect(packages.map((p) => `${p.pkg.metadata.name}@${p.releaseVersion}`)).toEqual(['nginx@6']);
    expect(skipped).toEqual([
      {
        index: 1,
        path: 'N/nginx/7',
        name: 'nginx',
        reason: expect.stringMatching(/^package\.json: packagingVersion: must be .* \(got "6\.0"\)$/),
      },
      {
        index: 2,
        path: 'R/redis/0',
        name: 'redis',
        reason: expect.stringMatching(/^config\.json is not JSON: /),
      },
    ]);
    for (const s of skipped) expect(s.reason).not.toContain(tmp);
  });

  it('loads the built-in catalog with its icons as data URLs', async () => {
    const { packages: pkgs, skipped } = await loadRepository(BUILTIN_URI);
    expect(skipped).toEqual([]);
    const redis = pkgs.find((p) => p.pkg.metadata.name === 'redis');
    expect(redis?.releaseVersion).toBe(0);
    expect(String(redis?.pkg.resource.images?.['icon-medium'])).toMatch(/^data:image\/svg\+xml;base64,/);
  });

  it('loads an index file and a repository directory by path, and explains a bad path', async () => {
    const file = path.join(tmp, 'repo.json');
    const pkg = await loadPackageDir(path.join(fixtures, 'jenkins-200'));
    await writeFile(file, JSON.stringify({ packages: [toIndexEntry({ pkg, releaseVersion: 200 })] }));
    expect((await loadRepository(file)).packages.map((p) => p.pkg.metadata.name)).toEqual(['jenkins']);
    expect((await loadRepository(`file://${file}`)).packages).toHaveLength(1);
    await expect(loadRepository(path.join(tmp, 'nope.json'))).rejects.toThrow(/does not exist/);
    await expect(loadRepository('relative/path')).rejects.toThrow(/absolute path/);
  });
});

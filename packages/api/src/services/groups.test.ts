import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dependencyLayers, flattenGroup } from './groups';

const fixture = JSON.parse(
  readFileSync(
    path.resolve(
      path.dirname(fileURLToPath(import.meta.url)),
      '../../../../../shared/fixtures/marathon/09-group-sleep.json',
    ),
    'utf8',
  ),
) as unknown;

describe('groups', () => {
  it('flattens fixture 09 into its two apps', () => {
    const { apps, issues } = flattenGroup(fixture);
    expect(issues).toEqual([]);
    expect(apps.map((a) => a.def.id)).toEqual([
      '/sleep-group/sleep/goodnight-1',
      '/sleep-group/sleep/goodnight-2',
    ]);
  });

  it('resolves relative ids and group dependencies into the apps', () => {
    const { apps } = flattenGroup({
      id: '/prod',
      groups: [
        { id: 'db', apps: [{ id: 'pg', cmd: 'x' }] },
        {
          id: 'web',
          dependencies: ['/prod/db'],
          apps: [{ id: 'site', cmd: 'x', dependencies: ['../cache'] }],
        },
      ],
    });
    expect(apps.map((a) => [a.def.id, a.def.dependencies])).toEqual([
      ['/prod/db/pg', []],
      ['/prod/web/site', ['/prod/web/cache', '/prod/db']],
    ]);
  });

  it('names the field of an invalid app inside a group', () => {
    const { issues } = flattenGroup({
      id: '/g',
      apps: [
        { id: 'ok', cmd: 'x' },
        { id: 'bad', cmd: 'x', instances: -1 },
      ],
    });
    expect(issues.map((i) => i.path)).toEqual(['apps.1.instances']);
  });

  it('orders apps in dependency layers and refuses cycles', () => {
    const { apps } = flattenGroup({
      id: '/p',
      apps: [
        { id: 'web', cmd: 'x', dependencies: ['/p/api'] },
        { id: 'api', cmd: 'x', dependencies: ['/p/db'] },
        { id: 'db', cmd: 'x' },
      ],
    });
    expect(dependencyLayers(apps.map((a) => a.def))).toEqual([['/p/db'], ['/p/api'], ['/p/web']]);
    const cyclic = flattenGroup({
      id: '/c',
      apps: [
        { id: 'a', cmd: 'x', dependencies: ['/c/b'] },
        { id: 'b', cmd: 'x', dependencies: ['/c/a'] },
      ],
    });
    expect(() => dependencyLayers(cyclic.apps.map((a) => a.def))).toThrow(/cycle/);
  });
});

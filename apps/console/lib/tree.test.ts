import { describe, expect, it } from 'vitest';
import { buildTree, findGroup, flattenTree, parentPath } from './tree';

const apps = ['/web', '/prod/api', '/prod/eu/db', '/prod/web', '/dev/x'].map((id) => ({ id }));

describe('tree', () => {
  it.each([
    ['/web', '/'],
    ['/prod/api', '/prod'],
    ['/prod/eu/db', '/prod/eu'],
  ])('parentPath(%s) is %s', (id, parent) => {
    expect(parentPath(id)).toBe(parent);
  });

  it('nests apps in groups by path and lists groups before apps', () => {
    const rows = flattenTree(buildTree(apps), {
      collapsed: new Set(),
      sortApps: (a) => [...a].sort((x, y) => x.id.localeCompare(y.id)),
    });
    expect(
      rows.map((r) => (r.kind === 'group' ? `${r.depth}:${r.group.path}/` : `${r.depth}:${r.app.id}`)),
    ).toEqual([
      '0:/dev/',
      '1:/dev/x',
      '0:/prod/',
      '1:/prod/eu/',
      '2:/prod/eu/db',
      '1:/prod/api',
      '1:/prod/web',
      '0:/web',
    ]);
  });

  it('hides the content of collapsed groups', () => {
    const rows = flattenTree(buildTree(apps), { collapsed: new Set(['/prod']), sortApps: (a) => a });
    expect(rows.some((r) => r.kind === 'app' && r.app.id.startsWith('/prod/'))).toBe(false);
  });

  it('finds sub-groups', () => {
    expect(findGroup(buildTree(apps), '/prod/eu')?.apps.map((a) => a.id)).toEqual(['/prod/eu/db']);
    expect(findGroup(buildTree(apps), '/nope')).toBeUndefined();
  });
});

/** Groups of apps by path, as Marathon nests them: `/prod/web` is app `web` in group `/prod`. */

export interface GroupNode<A extends { id: string }> {
  /** '/' for the root, else '/prod', '/prod/eu', … */
  path: string;
  name: string;
  groups: Array<GroupNode<A>>;
  apps: A[];
}

export function parentPath(id: string): string {
  const i = id.lastIndexOf('/');
  return i <= 0 ? '/' : id.slice(0, i);
}

export function baseName(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1) || id;
}

export function buildTree<A extends { id: string }>(apps: readonly A[]): GroupNode<A> {
  const root: GroupNode<A> = { path: '/', name: '/', groups: [], apps: [] };
  const byPath = new Map<string, GroupNode<A>>([['/', root]]);
  const groupFor = (path: string): GroupNode<A> => {
    const found = byPath.get(path);
    if (found) return found;
    const parent = groupFor(parentPath(path));
    const g: GroupNode<A> = { path, name: baseName(path), groups: [], apps: [] };
    parent.groups.push(g);
    byPath.set(path, g);
    return g;
  };
  for (const app of apps) groupFor(parentPath(app.id)).apps.push(app);
  return root;
}

/** The subtree at `path`, or undefined when no app lives under it. */
export function findGroup<A extends { id: string }>(
  root: GroupNode<A>,
  path: string,
): GroupNode<A> | undefined {
  if (path === '/' || path === '') return root;
  for (const g of root.groups) {
    if (g.path === path) return g;
    if (path.startsWith(`${g.path}/`)) return findGroup(g, path);
  }
  return undefined;
}

export function allApps<A extends { id: string }>(g: GroupNode<A>): A[] {
  return [...g.apps, ...g.groups.flatMap((c) => allApps(c))];
}

export type TreeRow<A extends { id: string }> =
  | { kind: 'group'; group: GroupNode<A>; depth: number; collapsed: boolean }
  | { kind: 'app'; app: A; depth: number };

/**
 * Depth-first rows for a table: each group before its content, sub-groups before apps (as
 * DC/OS lists them). `sortApps` orders the apps of one group.
 */
export function flattenTree<A extends { id: string }>(
  g: GroupNode<A>,
  opts: { collapsed: ReadonlySet<string>; sortApps: (apps: A[]) => A[]; depth?: number },
): Array<TreeRow<A>> {
  const depth = opts.depth ?? 0;
  const rows: Array<TreeRow<A>> = [];
  const groups = [...g.groups].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  for (const child of groups) {
    const collapsed = opts.collapsed.has(child.path);
    rows.push({ kind: 'group', group: child, depth, collapsed });
    if (!collapsed) rows.push(...flattenTree(child, { ...opts, depth: depth + 1 }));
  }
  for (const app of opts.sortApps(g.apps)) rows.push({ kind: 'app', app, depth });
  return rows;
}

import { AppError } from '../errors';
import type { AuthUser } from '../context';

/**
 * Who may do what. Three roles, each including the one before it:
 * - `viewer`: reads everything but secrets;
 * - `operator`: also deploys, scales, restarts, reads logs and opens exec sessions;
 * - `admin`: also manages users, nodes, repositories, secrets' keys and settings.
 * A user may carry a scope, a group path (`/team-a`): an operator or viewer with a scope touches
 * only what lies at or under that path. Admins are never scoped.
 */
export const roles = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

/** What a request needs: to read, to operate (change workloads), or to administer the cluster. */
export type AccessLevel = 'read' | 'operate' | 'admin';

const roleRank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const levelRank: Record<AccessLevel, number> = { read: 0, operate: 1, admin: 2 };

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}

/** Whether a role reaches a level (an unknown role reaches none). */
export function roleAllows(role: string, level: AccessLevel): boolean {
  return isRole(role) && roleRank[role] >= levelRank[level];
}

/**
 * Whether `path` (an app id, a group id, a job id as a path) lies within `scope`: the scope itself
 * or anything under it. No scope means the whole cluster.
 */
export function inScope(scope: string | null, path: string): boolean {
  if (!scope || scope === '/') return true;
  const s = scope.replace(/\/+$/, '');
  const p = path.startsWith('/') ? path : `/${path}`;
  return p === s || p.startsWith(`${s}/`);
}

/**
 * Throws unless `user` may act at `level`, and (when `path` is given) on that path. The 401 when
 * nobody is logged in; a 403 that says what is missing otherwise.
 */
export function assertAccess(
  user: AuthUser | null,
  level: AccessLevel,
  path?: string | null,
): asserts user is AuthUser {
  if (!user) throw new AppError('UNAUTHORIZED', 'authentication required');
  if (!roleAllows(user.role, level)) {
    throw new AppError('FORBIDDEN', `the ${user.role} role may not ${levelVerb[level]}`);
  }
  if (path != null && !inScope(user.scope, path)) {
    throw new AppError('FORBIDDEN', `${path} is outside ${user.username}'s scope ${user.scope}`);
  }
}

const levelVerb: Record<AccessLevel, string> = {
  read: 'read this',
  operate: 'change workloads',
  admin: 'administer the cluster',
};

/*
 * Scopes in the service layer. A service function receives `s` (the Services, or a tRPC Context):
 * the user it acts for is `s.user` when present — tRPC's context always carries it; a Fastify route
 * passes `withActor(services, req.user)` — and nobody (the system: reconciler, leader loops) when
 * absent. Functions that read or change a workload call `assertInScope` with the workload's path,
 * and lists go through `visibleTo`/`filterVisible`. On the Fastify surfaces the access hook refuses
 * a scoped user on any route that does not declare how its scope is enforced (apps/control/src/
 * access-hook.ts), so a new route cannot silently skip this.
 */

/** The user a service call acts for, or null for the system. */
export function actorOf(s: object): AuthUser | null {
  return 'user' in s ? ((s as { user?: AuthUser | null }).user ?? null) : null;
}

/** The scope limiting `s`'s actor: null for the system, admins and unscoped users. */
export function scopeOf(s: object): string | null {
  const user = actorOf(s);
  if (!user || user.role === 'admin') return null;
  return user.scope && user.scope !== '/' ? user.scope : null;
}

/** The same services acting for `user` (what a Fastify route hands the service layer). */
export function withActor<T extends object>(s: T, user: AuthUser | null): T & { user: AuthUser | null } {
  return { ...s, user };
}

/** Whether `s`'s actor may see or touch the workload at `path`. */
export function visibleTo(s: object, path: string | null | undefined): boolean {
  const scope = scopeOf(s);
  if (!scope) return true;
  return path != null && inScope(scope, path);
}

/** `items` without those outside the actor's scope. */
export function filterVisible<T>(s: object, items: T[], pathOf: (item: T) => string | null | undefined): T[] {
  return scopeOf(s) ? items.filter((item) => visibleTo(s, pathOf(item))) : items;
}

/** Throws a 403 naming the path unless `s`'s actor may touch the workload at `path`. */
export function assertInScope(s: object, path: string | null | undefined): void {
  if (visibleTo(s, path)) return;
  const user = actorOf(s)!;
  throw new AppError('FORBIDDEN', `${path ?? 'this'} is outside ${user.username}'s scope ${scopeOf(s)}`);
}

/** A Metronome job id as a path: `team-a.backup` is `/team-a/backup`, the same tree as apps. */
export function jobPath(jobId: string): string {
  return `/${jobId.split('.').join('/')}`;
}

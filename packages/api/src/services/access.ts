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

'use client';

import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../lib/trpc';

const rank: Record<string, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * What the logged-in user may do (docs/access.md), from `auth.me`: the console disables what the
 * role or scope does not allow, sparing a click that would end in a 403. The API decides; until
 * `auth.me` has answered everything stays enabled.
 */
export function useAccess() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: Infinity, refetchInterval: false }));
  const user = me.data;
  const level = user ? (rank[user.role] ?? -1) : 2;
  const scope =
    user && user.role !== 'admin' && user.scope && user.scope !== '/' ? user.scope.replace(/\/+$/, '') : null;
  const inScope = (path: string) => !scope || path === scope || path.startsWith(`${scope}/`);
  return {
    role: user?.role ?? null,
    /** Deploy, scale, restart, delete (at `path`, when given: inside the user's scope). */
    canOperate: (path?: string) => level >= 1 && (path === undefined || inScope(path)),
    canAdmin: level >= 2,
    /** Why an action is disabled, for its title. */
    why: user ? `your role (${user.role}${scope ? `, scope ${scope}` : ''}) may not do this` : '',
  };
}

import { accessService, type AuthUser } from '@atoll/api';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

/**
 * Roles and scopes on control's own Fastify routes (Marathon's /v2, Metronome's /v1/jobs, Cosmos's
 * /package, /acs, task logs and exec, /service/<name>/, /metrics, /install, Mesos-DNS's /v1). The
 * tRPC and /api/v1 procedures decide in packages/api/src/trpc.ts instead. See docs/access.md.
 *
 * A route declares what it needs in its config:
 * - `access`: `public` (no login: authentication in server.ts lets it through), `self` (any logged-in
 *   user), `read`, `operate` or `admin`; without it GET and HEAD need `read`, other methods `operate`.
 * - `scope`: how a user limited to a group path (`/team-a`) is kept inside it — `service` (the handler
 *   passes `withActor(services, req.user)` and the service layer checks or filters), `cluster` (the
 *   route touches no workload: ping, info, node lists), or a function returning the workload's path
 *   from the request (checked here). A route that declares none is refused to scoped users, so a new
 *   route cannot leak across scopes by being forgotten; the prefix table below gives whole API
 *   families their default.
 */
export type RouteAccess = accessService.AccessLevel | 'self' | 'public';
export type RouteScope = 'service' | 'cluster' | ((req: FastifyRequest) => string | null);

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    scope?: RouteScope;
  }
  interface FastifyInstance {
    /** Every route with its declared access (installAccessHook), for the role walk. */
    accessRoutes: RouteRecord[];
  }
}

/** Routes served by tRPC's adapters: their procedures decide (trpc.ts protectedProcedure). */
const delegatedToTrpc = (url: string) =>
  url === '/api/trpc/:path' || url === '/api/trpc' || url === '/api/v1/*';

/**
 * Scope defaults by API family. Each of these surfaces hands the request's user to the service
 * layer (`withActor`), which checks the path of every app, group, pod, task, deployment and job.
 */
const scopeByPrefix: Array<[prefix: string, scope: RouteScope]> = [
  ['/v2/', 'service'],
  ['/v1/jobs', 'service'],
  ['/service/metronome/v1/jobs', 'service'],
  ['/package/', 'service'],
];

/** What the hook made of one route: the role walk (test/roles.test.ts) checks every one. */
export interface RouteRecord {
  method: string;
  url: string;
  /** The declared level, or null when the method decides (GET/HEAD read, others operate). */
  access: RouteAccess | 'trpc' | null;
  scope: RouteScope | null;
  websocket: boolean;
}

/** The level a request needs on a route. */
export function requiredAccess(declared: RouteAccess | undefined, method: string): RouteAccess {
  return declared ?? (method === 'GET' || method === 'HEAD' ? 'read' : 'operate');
}

function scopeOfRoute(url: string, declared: RouteScope | undefined): RouteScope | null {
  if (declared) return declared;
  return scopeByPrefix.find(([prefix]) => url.startsWith(prefix))?.[1] ?? null;
}

function forbidden(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(403).send({ message, code: 'FORBIDDEN' });
}

/** The check itself, for one request on a route that is not tRPC's. */
function check(
  user: AuthUser | null,
  access: RouteAccess,
  scope: RouteScope | null,
  req: FastifyRequest,
): { status: 401 | 403; message: string } | null {
  if (access === 'public') return null;
  if (!user) return { status: 401, message: 'authentication required' };
  if (access === 'self') return null;
  if (!accessService.roleAllows(user.role, access)) {
    const verb = { read: 'read this', operate: 'change workloads', admin: 'administer the cluster' }[access];
    return { status: 403, message: `the ${user.role} role may not ${verb}` };
  }
  const userScope = accessService.scopeOf({ user });
  if (!userScope || scope === 'service' || scope === 'cluster') return null;
  if (scope === null)
    return {
      status: 403,
      message: `${req.routeOptions.url ?? req.url} is not open to users scoped to ${userScope}`,
    };
  const path = scope(req);
  if (path !== null && accessService.inScope(userScope, path)) return null;
  return { status: 403, message: `${path ?? 'this'} is outside ${user.username}'s scope ${userScope}` };
}

/**
 * Installs the check on every route registered after it (call it before any route) and returns
 * the list of routes it saw.
 */
export function installAccessHook(app: FastifyInstance): RouteRecord[] {
  const routes: RouteRecord[] = [];
  app.decorate('accessRoutes', routes);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = ([] as string[]).concat(route.method);
    const websocket = (route as RouteOptions & { websocket?: boolean }).websocket === true;
    if (delegatedToTrpc(route.url)) {
      for (const method of methods)
        routes.push({ method, url: route.url, access: 'trpc', scope: null, websocket });
      return;
    }
    const config = (route.config ?? {}) as { access?: RouteAccess; scope?: RouteScope };
    const scope = scopeOfRoute(route.url, config.scope);
    for (const method of methods)
      routes.push({ method, url: route.url, access: config.access ?? null, scope, websocket });
    // A route-level onRequest runs after server.ts's authentication (instance hooks run first) and
    // before the body is read or a WebSocket is accepted.
    const guard = async (req: FastifyRequest, reply: FastifyReply) => {
      const denied = check(req.user, requiredAccess(config.access, req.method), scope, req);
      if (!denied) return;
      if (denied.status === 401)
        return reply.code(401).send({ message: denied.message, code: 'UNAUTHORIZED' });
      return forbidden(reply, denied.message);
    };
    const existing = route.onRequest;
    route.onRequest = existing
      ? [guard, ...([] as Array<typeof guard>).concat(existing as typeof guard)]
      : [guard];
  });
  return routes;
}

import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { appRouter, createCallerFactory, createContextInner, type AuthUser } from '@atoll/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteRecord } from '../src/access-hook';
import { startTestCluster, type TestCluster } from '../src/testing';

/**
 * The role walk (docs/access.md): every route of the live server, every tRPC procedure and every
 * /api/v1 operation, each called with no credentials, a viewer, an operator, an admin and an
 * operator scoped to /team-a. The expectation tables below name the level each one needs; a route,
 * procedure or operation missing from them fails the walk, so a new one cannot be forgotten.
 */

type Level = 'public' | 'self' | 'read' | 'operate' | 'admin';
type Principal = 'none' | 'viewer' | 'operator' | 'admin' | 'scoped';
const principals: Principal[] = ['none', 'viewer', 'scoped', 'operator', 'admin'];

/**
 * One Fastify route: the level it needs, the request the walk sends (`path` with sample values,
 * aimed at /team-b where the route touches a workload, and `body`), and what the operator scoped to
 * /team-a gets: `deny` (403: the request names something outside the scope), `allow` (not 403:
 * cluster-wide reads, lists filtered to the scope, or an unknown name answered 404 before any
 * scope applies).
 */
interface RouteCase {
  level: Level | 'trpc';
  path?: string;
  body?: unknown;
  scoped?: 'deny' | 'allow';
  /** Do not send this request as roles that pass (it would change the cluster under the walk). */
  dryForAllowed?: boolean;
}

const appB = (id: string) => ({ id, cmd: 'sleep 1000', cpus: 0.01, mem: 16, instances: 0 });
const jobB = (id: string) => ({ id, run: { cmd: 'true', cpus: 0.01, mem: 32, disk: 0 } });
const podB = (id: string) => ({
  id,
  scaling: { kind: 'fixed', instances: 0 },
  containers: [
    {
      name: 'c',
      resources: { cpus: 0.01, mem: 16 },
      image: { kind: 'DOCKER', id: 'busybox' },
      exec: { command: { shell: 'sleep 1000' } },
    },
  ],
});
const TASK_B = 'team-b_web.fake-task-for-the-role-walk';
const schedule = { id: 'nightly', cron: '0 3 * * *', timezone: 'UTC' };

/** Metronome's routes, the same under /v1 and /service/metronome/v1. */
const metronome = (prefix: string): Record<string, RouteCase> => ({
  [`GET ${prefix}/jobs`]: { level: 'read', scoped: 'allow' },
  [`POST ${prefix}/jobs`]: { level: 'operate', body: jobB('team-b.made'), scoped: 'deny' },
  [`GET ${prefix}/jobs/:jobId`]: { level: 'read', path: `${prefix}/jobs/team-b.backup`, scoped: 'deny' },
  [`PUT ${prefix}/jobs/:jobId`]: {
    level: 'operate',
    path: `${prefix}/jobs/team-b.backup`,
    body: jobB('team-b.backup'),
    scoped: 'deny',
  },
  [`DELETE ${prefix}/jobs/:jobId`]: {
    level: 'operate',
    path: `${prefix}/jobs/team-b.nothing`,
    scoped: 'deny',
  },
  [`GET ${prefix}/jobs/:jobId/runs`]: {
    level: 'read',
    path: `${prefix}/jobs/team-b.backup/runs`,
    scoped: 'deny',
  },
  [`POST ${prefix}/jobs/:jobId/runs`]: {
    level: 'operate',
    path: `${prefix}/jobs/team-b.nothing/runs`,
    scoped: 'deny',
  },
  [`GET ${prefix}/jobs/:jobId/runs/:runId`]: {
    level: 'read',
    path: `${prefix}/jobs/team-b.backup/runs/none`,
    scoped: 'deny',
  },
  [`POST ${prefix}/jobs/:jobId/runs/:runId/actions/stop`]: {
    level: 'operate',
    path: `${prefix}/jobs/team-b.backup/runs/none/actions/stop`,
    scoped: 'deny',
  },
  [`GET ${prefix}/jobs/:jobId/schedules`]: {
    level: 'read',
    path: `${prefix}/jobs/team-b.backup/schedules`,
    scoped: 'deny',
  },
  [`POST ${prefix}/jobs/:jobId/schedules`]: {
    level: 'operate',
    path: `${prefix}/jobs/team-b.nothing/schedules`,
    body: schedule,
    scoped: 'deny',
  },
  [`GET ${prefix}/jobs/:jobId/schedules/:scheduleId`]: {
    level: 'read',
    path: `${prefix}/jobs/team-b.backup/schedules/nightly`,
    scoped: 'deny',
  },
  [`PUT ${prefix}/jobs/:jobId/schedules/:scheduleId`]: {
    level: 'operate',
    path: `${prefix}/jobs/team-b.nothing/schedules/nightly`,
    body: schedule,
    scoped: 'deny',
  },
  [`DELETE ${prefix}/jobs/:jobId/schedules/:scheduleId`]: {
    level: 'operate',
    path: `${prefix}/jobs/team-b.nothing/schedules/nightly`,
    scoped: 'deny',
  },
});

/** Every Fastify route, by `METHOD url` as registered (HEAD routes follow their GET). */
const routeTable: Record<string, RouteCase> = {
  'GET /health': { level: 'public' },
  'GET /api/v1/openapi.json': { level: 'self', scoped: 'allow' },
  'POST /acs/api/v1/auth/login': { level: 'public', body: {} },
  // tRPC's adapters: walked procedure by procedure and operation by operation below.
  'GET /api/trpc/:path': { level: 'trpc' },
  'POST /api/trpc/:path': { level: 'trpc' },
  'PUT /api/trpc/:path': { level: 'trpc' },
  'PATCH /api/trpc/:path': { level: 'trpc' },
  'DELETE /api/trpc/:path': { level: 'trpc' },
  'OPTIONS /api/trpc/:path': { level: 'trpc' },
  'TRACE /api/trpc/:path': { level: 'trpc' },
  'QUERY /api/trpc/:path': { level: 'trpc' },
  'GET /api/v1/*': { level: 'trpc' },
  'POST /api/v1/*': { level: 'trpc' },
  'PUT /api/v1/*': { level: 'trpc' },
  'PATCH /api/v1/*': { level: 'trpc' },
  'DELETE /api/v1/*': { level: 'trpc' },
  // Marathon
  'GET /ping': { level: 'read', scoped: 'allow' },
  'GET /v2/ping': { level: 'read', scoped: 'allow' },
  'GET /v2/info': { level: 'read', scoped: 'allow' },
  'GET /v2/leader': { level: 'read', scoped: 'allow' },
  // An admin abdicating would leave the walk without a leader: the walk checks only the refusals.
  'DELETE /v2/leader': { level: 'admin', scoped: 'allow', dryForAllowed: true },
  'GET /v2/schemas/app': { level: 'read', scoped: 'allow' },
  'GET /v2/eventSubscriptions': { level: 'read', scoped: 'allow' },
  'POST /v2/eventSubscriptions': { level: 'operate', scoped: 'allow' },
  'PUT /v2/eventSubscriptions': { level: 'operate', scoped: 'allow' },
  'PATCH /v2/eventSubscriptions': { level: 'operate', scoped: 'allow' },
  'DELETE /v2/eventSubscriptions': { level: 'operate', scoped: 'allow' },
  'OPTIONS /v2/eventSubscriptions': { level: 'operate', scoped: 'allow' },
  'TRACE /v2/eventSubscriptions': { level: 'operate', scoped: 'allow' },
  'QUERY /v2/eventSubscriptions': { level: 'operate', scoped: 'allow' },
  'GET /v2/apps': { level: 'read', scoped: 'allow' },
  'PUT /v2/apps': { level: 'operate', body: [{ id: '/team-b/web', instances: 0 }], scoped: 'deny' },
  'POST /v2/apps': { level: 'operate', body: appB('/team-b/made'), scoped: 'deny' },
  'GET /v2/apps/*': { level: 'read', path: '/v2/apps/team-b/web', scoped: 'deny' },
  'PUT /v2/apps/*': { level: 'operate', path: '/v2/apps/team-b/web', body: { instances: 0 }, scoped: 'deny' },
  'POST /v2/apps/*': { level: 'operate', path: '/v2/apps/team-b/web/restart', scoped: 'deny' },
  'DELETE /v2/apps/*': { level: 'operate', path: '/v2/apps/team-b/nothing', scoped: 'deny' },
  'GET /v2/groups': { level: 'read', scoped: 'allow' },
  'GET /v2/groups/*': { level: 'read', path: '/v2/groups/team-b', scoped: 'deny' },
  'POST /v2/groups': {
    level: 'operate',
    body: { id: '/team-b/g', apps: [appB('/team-b/g/a')] },
    scoped: 'deny',
  },
  'POST /v2/groups/*': { level: 'operate', path: '/v2/groups/team-b/h', body: { apps: [] }, scoped: 'deny' },
  'PUT /v2/groups/*': { level: 'operate', path: '/v2/groups/team-b', body: { scaleBy: 1 }, scoped: 'deny' },
  'DELETE /v2/groups/*': { level: 'operate', path: '/v2/groups/team-b/nothing', scoped: 'deny' },
  'GET /v2/pods': { level: 'read', scoped: 'allow' },
  'POST /v2/pods': { level: 'operate', body: podB('/team-b/pod'), scoped: 'deny' },
  'GET /v2/pods/*': { level: 'read', path: '/v2/pods/team-b/pod', scoped: 'deny' },
  'PUT /v2/pods/*': {
    level: 'operate',
    path: '/v2/pods/team-b/pod',
    body: podB('/team-b/pod'),
    scoped: 'deny',
  },
  'DELETE /v2/pods/*': { level: 'operate', path: '/v2/pods/team-b/nothing', scoped: 'deny' },
  'GET /v2/tasks': { level: 'read', scoped: 'allow' },
  'POST /v2/tasks/delete': { level: 'operate', body: { ids: [TASK_B] }, scoped: 'deny', dryForAllowed: true },
  'GET /v2/deployments': { level: 'read', scoped: 'allow' },
  'DELETE /v2/deployments/:id': {
    level: 'operate',
    path: `/v2/deployments/${randomUUID()}`,
    scoped: 'allow',
  },
  'GET /v2/events': { level: 'read', scoped: 'allow' },
  'GET /v2/queue': { level: 'read', scoped: 'allow' },
  'DELETE /v2/queue/*': { level: 'operate', path: '/v2/queue/team-b/web/delay', scoped: 'deny' },
  // Cosmos: all POSTs; reads are `read`, repositories `admin`. The packages do not exist: 404 first.
  'POST /package/search': { level: 'read', body: {}, scoped: 'allow' },
  'POST /package/describe': { level: 'read', body: { packageName: 'nothing' }, scoped: 'allow' },
  'POST /package/list-versions': { level: 'read', body: { packageName: 'nothing' }, scoped: 'allow' },
  'POST /package/render': { level: 'read', body: { packageName: 'nothing' }, scoped: 'allow' },
  'POST /package/install': { level: 'operate', body: { packageName: 'nothing' }, scoped: 'allow' },
  'POST /package/uninstall': {
    level: 'operate',
    body: { packageName: 'nothing', appId: '/team-b/web' },
    scoped: 'allow',
  },
  'POST /package/list': { level: 'read', body: {}, scoped: 'allow' },
  'POST /package/repository/list': { level: 'read', body: {}, scoped: 'allow' },
  'POST /package/repository/add': { level: 'admin', body: {}, scoped: 'deny' },
  'POST /package/repository/delete': { level: 'admin', body: { name: 'nothing' }, scoped: 'deny' },
  ...metronome('/v1'),
  ...metronome('/service/metronome/v1'),
  // Mesos-DNS: what any task can resolve anyway.
  'GET /v1/version': { level: 'read', scoped: 'allow' },
  'GET /v1/config': { level: 'read', scoped: 'allow' },
  'GET /v1/hosts/:host': { level: 'read', path: '/v1/hosts/web.team-b.marathon.mesos', scoped: 'allow' },
  'GET /v1/services/:service': {
    level: 'read',
    path: '/v1/services/_web._tcp.marathon.mesos',
    scoped: 'allow',
  },
  'GET /v1/enumerate': { level: 'read', scoped: 'allow' },
  // Task logs and exec: operators, and a scoped one only inside the scope.
  'GET /api/v1/tasks/:taskId/logs': {
    level: 'operate',
    path: `/api/v1/tasks/${TASK_B}/logs`,
    scoped: 'deny',
  },
  'GET /api/v1/tasks/:taskId/exec': {
    level: 'operate',
    path: `/api/v1/tasks/${TASK_B}/exec`,
    scoped: 'deny',
  },
  // /service/<name>/: the proxied app may do anything with the session — operators, any method.
  'GET /service/*': { level: 'operate', path: '/service/nothing/', scoped: 'allow' },
  'HEAD /service/*': { level: 'operate', path: '/service/nothing/', scoped: 'allow' },
  'POST /service/*': { level: 'operate', path: '/service/nothing/', scoped: 'allow' },
  'PUT /service/*': { level: 'operate', path: '/service/nothing/', scoped: 'allow' },
  'PATCH /service/*': { level: 'operate', path: '/service/nothing/', scoped: 'allow' },
  'DELETE /service/*': { level: 'operate', path: '/service/nothing/', scoped: 'allow' },
  'OPTIONS /service/*': { level: 'operate', path: '/service/nothing/', scoped: 'allow' },
  // Every app's figures: no scope declared, so refused to scoped users.
  'GET /metrics': { level: 'read', scoped: 'deny' },
  // What a new host fetches before it has any credential.
  'GET /install/agent.sh': { level: 'public' },
  'GET /install/atoll-agent.mjs': { level: 'public', dryForAllowed: true },
  'GET /install/node': { level: 'public', dryForAllowed: true },
  'POST /install/token-check': { level: 'public', body: { token: 'nothing' } },
  // Agents authenticate on the socket with their node credential.
  'GET /agent/v1': { level: 'public' },
  // Control replicas authenticate on their link with the holder's token (read from PostgreSQL).
  'GET /internal/v1/replicas/link': { level: 'public' },
};

/** Every tRPC procedure (and so every /api/v1 operation) and the level it needs. */
const procedureTable: Record<string, Level> = {
  'auth.login': 'public',
  'auth.logout': 'self',
  'auth.me': 'self',
  'auth.createApiToken': 'self',
  'auth.listApiTokens': 'self',
  'auth.revokeApiToken': 'self',
  'auth.changePassword': 'self',
  'auth.sessions': 'self',
  'auth.revokeSession': 'self',
  'nodes.list': 'read',
  'nodes.get': 'read',
  'nodes.joinTokens': 'admin',
  'nodes.createJoinToken': 'admin',
  'nodes.revokeJoinToken': 'admin',
  'nodes.drain': 'admin',
  'nodes.undrain': 'admin',
  'nodes.maintenance': 'admin',
  'nodes.decommission': 'admin',
  'nodes.setAttributes': 'admin',
  'nodes.setReservation': 'admin',
  'apps.list': 'read',
  'apps.get': 'read',
  'apps.create': 'operate',
  'apps.update': 'operate',
  'apps.scale': 'operate',
  'apps.restart': 'operate',
  'apps.rollback': 'operate',
  'apps.delete': 'operate',
  'apps.versions': 'read',
  'apps.version': 'read',
  'tasks.list': 'read',
  'tasks.kill': 'operate',
  'tasks.get': 'read',
  'tasks.logs': 'operate',
  'deployments.list': 'read',
  'deployments.cancel': 'operate',
  'queue.list': 'read',
  'queue.resetDelay': 'operate',
  'groups.get': 'read',
  'groups.create': 'operate',
  'groups.update': 'operate',
  'groups.delete': 'operate',
  'pods.list': 'read',
  'pods.get': 'read',
  'pods.status': 'read',
  'pods.create': 'operate',
  'pods.update': 'operate',
  'pods.delete': 'operate',
  'cluster.info': 'read',
  'cluster.events': 'read',
  'cluster.changes': 'read',
  'metrics.cluster': 'read',
  'metrics.node': 'read',
  'metrics.app': 'read',
  'metrics.task': 'read',
  'metrics.samples': 'read',
  'catalog.search': 'read',
  'catalog.describe': 'read',
  'catalog.versions': 'read',
  'catalog.render': 'read',
  'catalog.install': 'operate',
  'catalog.installed': 'read',
  'catalog.uninstall': 'operate',
  'catalog.upgradePreview': 'read',
  'catalog.upgrade': 'operate',
  'catalog.repositories': 'read',
  'catalog.addRepository': 'admin',
  'catalog.removeRepository': 'admin',
  'jobs.list': 'read',
  'jobs.get': 'read',
  'jobs.create': 'operate',
  'jobs.update': 'operate',
  'jobs.remove': 'operate',
  'jobs.runs': 'read',
  'jobs.run': 'read',
  'jobs.start': 'operate',
  'jobs.stop': 'operate',
  'jobs.history': 'read',
  'jobs.schedules': 'read',
  'jobs.createSchedule': 'operate',
  'jobs.updateSchedule': 'operate',
  'jobs.removeSchedule': 'operate',
  'jobs.nextRuns': 'read',
  'network.resolve': 'read',
  'network.records': 'read',
  'network.vips': 'read',
  'services.link': 'read',
  // Viewers read everything but secrets (docs/secrets.md).
  'secrets.list': 'operate',
  'secrets.get': 'operate',
  'secrets.create': 'operate',
  'secrets.update': 'operate',
  'secrets.remove': 'operate',
  'secrets.keys': 'operate',
  'secrets.rotate': 'admin',
  'audit.list': 'admin',
  'users.list': 'admin',
  'users.get': 'admin',
  'users.create': 'admin',
  'users.update': 'admin',
  'users.disable': 'admin',
  'users.enable': 'admin',
  'users.resetPassword': 'admin',
  'users.remove': 'admin',
  'users.tokens': 'admin',
  'users.createToken': 'admin',
  'users.revokeToken': 'admin',
};

/**
 * How each procedure keeps an operator scoped to /team-a inside the scope: an input naming a
 * /team-b workload (the call must answer FORBIDDEN), `filtered` (the answer holds nothing of
 * /team-b), `cluster` (nothing scoped: allowed), `admin` or `self` (decided by the role alone), or
 * `own` (the secrets' own tests check their scopes: test/secrets.test.ts).
 */
const B = { id: '/team-b/web' };
const JOB = { id: 'team-b.backup' };
const scopeTable: Record<string, { input: unknown } | 'filtered' | 'cluster' | 'admin' | 'self' | 'own'> = {
  'apps.list': 'filtered',
  'apps.get': { input: B },
  'apps.create': { input: { definition: appB('/team-b/made-by-trpc') } },
  'apps.update': { input: { ...B, definition: { instances: 0 } } },
  'apps.scale': { input: { ...B, instances: 0 } },
  'apps.restart': { input: B },
  'apps.rollback': { input: { ...B, version: '2026-01-01T00:00:00.000Z' } },
  'apps.delete': { input: { id: '/team-b/nothing' } },
  'apps.versions': { input: B },
  'apps.version': { input: { ...B, version: '2026-01-01T00:00:00.000Z' } },
  'tasks.list': 'filtered',
  'tasks.kill': { input: { taskIds: [TASK_B] } },
  'tasks.get': { input: { taskId: TASK_B } },
  'tasks.logs': { input: { taskId: TASK_B, lines: 1, follow: false } },
  'deployments.list': 'filtered',
  'deployments.cancel': 'cluster',
  'queue.list': 'filtered',
  'queue.resetDelay': { input: B },
  'groups.get': { input: { id: '/team-b' } },
  'groups.create': { input: { definition: { id: '/team-b/g', apps: [appB('/team-b/g/a')] } } },
  'groups.update': { input: { id: '/team-b', definition: { scaleBy: 1 } } },
  'groups.delete': { input: { id: '/team-b/nothing' } },
  'pods.list': 'filtered',
  'pods.get': { input: { id: '/team-b/pod' } },
  'pods.status': { input: { id: '/team-b/pod' } },
  'pods.create': { input: { definition: podB('/team-b/pod-by-trpc') } },
  'pods.update': { input: { id: '/team-b/pod', definition: podB('/team-b/pod') } },
  'pods.delete': { input: { id: '/team-b/pod' } },
  'nodes.list': 'cluster',
  'nodes.get': 'cluster',
  'cluster.info': 'cluster',
  'cluster.events': 'filtered',
  'cluster.changes': 'cluster',
  'metrics.cluster': 'cluster',
  'metrics.node': 'cluster',
  'metrics.app': { input: { appId: '/team-b/web', range: '1h' } },
  'metrics.task': { input: { taskId: TASK_B } },
  'metrics.samples': 'cluster',
  'catalog.search': 'cluster',
  'catalog.describe': 'cluster',
  'catalog.versions': 'cluster',
  'catalog.render': 'cluster',
  'catalog.install': 'cluster',
  'catalog.installed': 'filtered',
  'catalog.uninstall': 'cluster',
  'catalog.upgradePreview': { input: { appId: '/team-b/web' } },
  'catalog.upgrade': { input: { appId: '/team-b/web' } },
  'catalog.repositories': 'cluster',
  'catalog.addRepository': 'admin',
  'catalog.removeRepository': 'admin',
  'jobs.list': 'filtered',
  'jobs.get': { input: JOB },
  'jobs.create': { input: { job: jobB('team-b.made-by-trpc') } },
  'jobs.update': { input: { ...JOB, job: jobB('team-b.backup') } },
  'jobs.remove': { input: JOB },
  'jobs.runs': { input: JOB },
  'jobs.run': { input: { ...JOB, runId: 'none' } },
  'jobs.start': { input: JOB },
  'jobs.stop': { input: { ...JOB, runId: 'none' } },
  'jobs.history': { input: JOB },
  'jobs.schedules': { input: JOB },
  'jobs.createSchedule': { input: { ...JOB, schedule } },
  'jobs.updateSchedule': { input: { ...JOB, scheduleId: 'nightly', schedule } },
  'jobs.removeSchedule': { input: { ...JOB, scheduleId: 'nightly' } },
  'jobs.nextRuns': 'cluster',
  'network.resolve': 'cluster',
  'network.records': 'cluster',
  'network.vips': 'cluster',
  'services.link': { input: { appId: '/team-b/web' } },
  'secrets.list': 'own',
  'secrets.get': 'own',
  'secrets.create': 'own',
  'secrets.update': 'own',
  'secrets.remove': 'own',
  'secrets.keys': 'own',
  'secrets.rotate': 'admin',
  'audit.list': 'admin',
};
for (const [name, level] of Object.entries(procedureTable)) {
  if (level === 'admin') scopeTable[name] ??= 'admin';
  if (level === 'self' || level === 'public') scopeTable[name] ??= 'self';
}

/** Procedures the walk only checks for refusals: an allowed call would change the walk's own cluster. */
const dryProcedures = new Set(['secrets.rotate', 'auth.logout']);

const rank: Record<Principal, number> = { none: -1, viewer: 0, scoped: 1, operator: 1, admin: 2 };
const need: Record<Level, number> = { public: -2, self: -1, read: 0, operate: 1, admin: 2 };
/** What a principal must get on something needing `level`: 401, 403 or anything else. */
function expected(level: Level, who: Principal): 401 | 403 | 'ok' {
  if (level === 'public') return 'ok';
  if (who === 'none') return 401;
  return rank[who] >= need[level] ? 'ok' : 403;
}

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

describe('the role walk', () => {
  let cluster: TestCluster;
  const tokens = {} as Record<Exclude<Principal, 'none'>, string>;
  const users = {} as Record<Exclude<Principal, 'none'>, AuthUser>;

  beforeAll(async () => {
    cluster = await startTestCluster({ agent: false });
    const prisma = cluster.control.db.prisma;
    const admin = await prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
    tokens.admin = cluster.token;
    users.admin = { id: admin.id, username: 'admin', role: 'admin', scope: null, kind: 'user' };
    // Users straight in the database (the users API is walked like any other).
    for (const [who, role, scope] of [
      ['viewer', 'viewer', null],
      ['operator', 'operator', null],
      ['scoped', 'operator', '/team-a'],
    ] as const) {
      const user = await prisma.user.create({
        data: { username: `walk-${who}`, role, scope, kind: 'user', passwordHash: 'unused' },
      });
      const token = `tok_walk_${who}_${randomUUID()}`;
      await prisma.apiToken.create({ data: { name: 'walk', tokenHash: sha256(token), userId: user.id } });
      tokens[who] = token;
      users[who] = { id: user.id, username: user.username, role, scope, kind: 'user' };
    }
    // Workloads in both teams, and a task of /team-b/web on a node that never connects.
    for (const id of ['/team-a/web', '/team-b/web'])
      expect((await call('admin', 'POST', '/v2/apps', appB(id))).status).toBe(201);
    for (const id of ['team-a.backup', 'team-b.backup']) {
      expect((await call('admin', 'POST', '/v1/jobs', jobB(id))).status).toBe(201);
      expect((await call('admin', 'POST', `/v1/jobs/${id}/schedules`, schedule)).status).toBe(201);
    }
    const node = await prisma.node.create({
      data: {
        hostname: 'walk-node',
        address: '192.0.2.1',
        runtime: 'docker',
        cpus: 1,
        memMb: 1024,
        diskMb: 1024,
        portRangeStart: 30000,
        portRangeEnd: 30010,
        agentVersion: 'walk',
        credentialHash: sha256(randomUUID()),
      },
    });
    const app = await prisma.app.findUniqueOrThrow({ where: { id: '/team-b/web' } });
    await prisma.task.create({
      data: {
        id: TASK_B,
        appId: '/team-b/web',
        appVersion: app.configVersion,
        nodeId: node.id,
        state: 'TASK_RUNNING',
        host: 'walk-node',
        cpus: 0.01,
        memMb: 16,
        diskMb: 0,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  /**
   * One request with node:http (fetch refuses TRACE and QUERY). An event stream or a download is
   * cut after its first chunk; a connection the server drops answers status 0.
   */
  function call(who: Principal, method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = {};
    if (who !== 'none') headers.authorization = `Bearer ${tokens[who]}`;
    // Bodies only where HTTP gives them a meaning (Node sends DELETE, OPTIONS and TRACE unframed).
    const payload =
      body === undefined || !['POST', 'PUT', 'PATCH'].includes(method) ? undefined : JSON.stringify(body);
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise<{ status: number; text: string }>((resolve) => {
      const req = http.request(cluster.url + path, { method, headers }, (res) => {
        let text = '';
        const type = String(res.headers['content-type'] ?? '');
        const cut = type.startsWith('text/event-stream') || type.startsWith('application/octet-stream');
        const done = () => resolve({ status: res.statusCode ?? 0, text });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (cut) {
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      });
      req.on('error', (err) => resolve({ status: 0, text: String(err) }));
      req.end(payload);
    });
  }

  /** Allowed: anything but a 403 or the authentication's 401 (a route may answer 401 itself). */
  function verdict(status: number, want: 401 | 403 | 'ok', text = ''): boolean {
    if (want === 'ok') return status !== 403 && !(status === 401 && text.includes('authentication required'));
    return status === want;
  }

  it('every route of the live server is in the expectation table', () => {
    const routes: RouteRecord[] = cluster.control.routes;
    expect(routes.length).toBeGreaterThan(100);
    const missing = routes
      .filter((r) => r.method !== 'HEAD' || !routes.some((g) => g.method === 'GET' && g.url === r.url))
      .map((r) => `${r.method} ${r.url}`)
      .filter((key) => !(key in routeTable));
    expect(missing).toEqual([]);
    // ...and the table names no route that is gone.
    const live = new Set(routes.map((r) => `${r.method} ${r.url}`));
    expect(Object.keys(routeTable).filter((k) => !live.has(k))).toEqual([]);
  });

  it('every route answers each role as its level says (401, 403, or allowed)', async () => {
    const failures: string[] = [];
    for (const route of cluster.control.routes) {
      const key = `${route.method} ${route.url}`;
      const c = routeTable[key] ?? (route.method === 'HEAD' ? routeTable[`GET ${route.url}`] : undefined);
      if (!c || c.level === 'trpc') continue;
      const path = c.path ?? route.url;
      for (const who of principals) {
        let want = expected(c.level, who);
        if (who === 'scoped' && want === 'ok' && c.scoped === 'deny') want = 403;
        if (want === 'ok' && c.dryForAllowed && who !== 'none') continue;
        if (want === 'ok' && c.dryForAllowed && c.level === 'public') continue;
        const body = route.method === 'GET' || route.method === 'HEAD' ? undefined : (c.body ?? {});
        const res = await call(who, route.method, path, body);
        if (!verdict(res.status, want, res.text))
          failures.push(`${key} as ${who}: ${res.status} (wanted ${want}) ${res.text.slice(0, 160)}`);
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('every tRPC procedure is in the expectation table and checks the role', async () => {
    const procedures = (
      appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } }
    )._def.procedures;
    const names = Object.keys(procedures);
    expect(names.length).toBeGreaterThan(90);
    expect(names.filter((n) => !(n in procedureTable))).toEqual([]);
    expect(Object.keys(procedureTable).filter((n) => !names.includes(n))).toEqual([]);

    const createCaller = createCallerFactory(appRouter);
    const failures: string[] = [];
    for (const name of names) {
      const level = procedureTable[name]!;
      for (const who of principals) {
        const want = expected(level, who);
        if (want === 'ok' && (dryProcedures.has(name) || level === 'public')) continue;
        const ctx = createContextInner(cluster.control.services, who === 'none' ? null : users[who]);
        const caller = createCaller(ctx) as unknown as Record<
          string,
          Record<string, (i: unknown) => Promise<unknown>>
        >;
        const [ns, proc] = name.split('.') as [string, string];
        let code = 'OK';
        try {
          const out = await caller[ns]![proc]!(undefined);
          // A subscription answers an iterator: close it unread.
          if (out && typeof (out as AsyncIterator<unknown>).return === 'function')
            await (out as AsyncIterator<unknown>).return!();
        } catch (err) {
          code = (err as { code?: string }).code ?? 'THROWN';
        }
        const got = code === 'UNAUTHORIZED' ? 401 : code === 'FORBIDDEN' ? 403 : 200;
        if (!verdict(got, want)) failures.push(`${name} as ${who}: ${code} (wanted ${want})`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('every /api/v1 operation of openapi.json answers each role as its procedure says', async () => {
    const doc = JSON.parse((await call('admin', 'GET', '/api/v1/openapi.json')).text) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const failures: string[] = [];
    let operations = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        operations++;
        const procedure = (op.operationId ?? '').replace(/-/g, '.');
        const level = procedureTable[procedure];
        if (!level) {
          failures.push(`${method.toUpperCase()} ${path}: operation ${op.operationId} is not in the table`);
          continue;
        }
        const url = `/api/v1${path.replace(/\{[^}]+\}/g, randomUUID())}`;
        for (const who of ['none', 'viewer', 'operator', 'admin'] as const) {
          const want = expected(level, who);
          if (want === 'ok' && (dryProcedures.has(procedure) || level === 'public')) continue;
          const body = method === 'get' || method === 'delete' ? undefined : {};
          const res = await call(who, method.toUpperCase(), url, body);
          if (!verdict(res.status, want))
            failures.push(`${method.toUpperCase()} ${path} as ${who}: ${res.status} (wanted ${want})`);
        }
      }
    }
    expect(operations).toBeGreaterThan(80);
    expect(failures).toEqual([]);
  }, 180_000);

  describe('an operator scoped to /team-a', () => {
    const scopedCaller = () =>
      createCallerFactory(appRouter)(createContextInner(cluster.control.services, users.scoped));

    it('every tRPC procedure keeps it in the scope (a scope table entry for each)', async () => {
      const procedures = Object.keys(
        (appRouter as unknown as { _def: { procedures: Record<string, unknown> } })._def.procedures,
      );
      expect(procedures.filter((n) => !(n in scopeTable))).toEqual([]);
      const caller = scopedCaller() as unknown as Record<
        string,
        Record<string, (i: unknown) => Promise<unknown>>
      >;
      const failures: string[] = [];
      for (const name of procedures) {
        const how = scopeTable[name]!;
        if (how === 'self' || how === 'own') continue;
        const [ns, proc] = name.split('.') as [string, string];
        let code = 'OK';
        let out: unknown;
        try {
          out = await caller[ns]![proc]!(typeof how === 'object' ? how.input : undefined);
          if (out && typeof (out as AsyncIterator<unknown>).next === 'function') {
            const it = out as AsyncIterator<unknown>;
            // A subscription's checks run when it starts: read its first item or end it.
            if (typeof how === 'object') await it.next();
            await it.return?.();
          }
        } catch (err) {
          code = (err as { code?: string }).code ?? 'THROWN';
        }
        const ok =
          how === 'admin' || typeof how === 'object'
            ? code === 'FORBIDDEN'
            : how === 'filtered'
              ? code === 'OK' && !JSON.stringify(out).includes('team-b')
              : code !== 'FORBIDDEN';
        if (!ok) failures.push(`${name} (${typeof how === 'object' ? 'input at /team-b' : how}): ${code}`);
      }
      expect(failures).toEqual([]);
    }, 60_000);

    it('sees only /team-a in lists: apps, groups, tasks, jobs, events', async () => {
      const apps = JSON.parse((await call('scoped', 'GET', '/v2/apps')).text) as {
        apps: Array<{ id: string }>;
      };
      expect(apps.apps.map((a) => a.id)).toEqual(['/team-a/web']);
      const jobs = JSON.parse((await call('scoped', 'GET', '/v1/jobs')).text) as Array<{ id: string }>;
      expect(jobs.map((j) => j.id)).toEqual(['team-a.backup']);
      const tasks = JSON.parse((await call('scoped', 'GET', '/v2/tasks')).text) as { tasks: unknown[] };
      expect(tasks.tasks).toEqual([]);
      const group = JSON.parse((await call('scoped', 'GET', '/v2/groups')).text) as {
        groups: Array<{ id: string }>;
      };
      expect(group.groups.map((g) => g.id)).toEqual(['/team-a']);

      const caller = scopedCaller();
      expect((await caller.apps.list()).map((a) => a.id)).toEqual(['/team-a/web']);
      expect((await caller.jobs.list({ embed: [] })).map((j) => j.id)).toEqual(['team-a.backup']);
      const events = await caller.cluster.events({ limit: 1000 });
      expect(events.length).toBeGreaterThan(0);
      expect(events.filter((e) => !/^(\/team-a\/|team-a\.)/.test(e.subject ?? ''))).toEqual([]);
      // An admin sees both teams.
      const all = JSON.parse((await call('admin', 'GET', '/v2/apps')).text) as {
        apps: Array<{ id: string }>;
      };
      expect(all.apps.map((a) => a.id)).toEqual(expect.arrayContaining(['/team-a/web', '/team-b/web']));
    });

    it('creates inside the scope, and outside it gets a 403 naming the path', async () => {
      const inside = await call('scoped', 'POST', '/v2/apps', appB('/team-a/api'));
      expect(inside.status).toBe(201);
      const outside = await call('scoped', 'POST', '/v2/apps', appB('/team-b/api'));
      expect(outside.status).toBe(403);
      expect(outside.text).toContain('/team-b/api');
      await expect(scopedCaller().apps.create({ definition: appB('/team-c/api') })).rejects.toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringContaining('/team-c/api'),
      });
      const job = await call('scoped', 'POST', '/v1/jobs', jobB('team-b.mine'));
      expect(job.status).toBe(403);
      expect(job.text).toContain('/team-b/mine');
    });

    it('cannot read the logs of a task outside the scope (tRPC subscription too)', async () => {
      const caller = scopedCaller();
      await expect(
        (async () => {
          const it = await caller.tasks.logs({ taskId: TASK_B, lines: 1, follow: false });
          for await (const _ of it) break;
        })(),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });

    it("/v2/events streams only the scope's events", async () => {
      const abort = new AbortController();
      const res = await fetch(`${cluster.url}/v2/events`, {
        headers: { authorization: `Bearer ${tokens.scoped}` },
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      await reader.read(); // event_stream_attached
      // team-b first, then team-a: when team-a's event arrives, team-b's would have come before it.
      expect(
        (await call('admin', 'PUT', '/v2/apps/team-b/web?force=true', { instances: 0, cmd: 'sleep 999' }))
          .status,
      ).toBe(200);
      expect(
        (await call('admin', 'PUT', '/v2/apps/team-a/web?force=true', { instances: 0, cmd: 'sleep 999' }))
          .status,
      ).toBe(200);
      while (!text.includes('/team-a/web')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      abort.abort();
      expect(text).toContain('/team-a/web');
      expect(text).not.toContain('/team-b');
    });
  });
});

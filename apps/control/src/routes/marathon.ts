import { normalizeAppId } from '@atoll/spec';
import {
  appsService,
  AppError,
  deploymentsService,
  eventsService,
  groupsService,
  podsService,
  queueService,
  accessService,
  type AuthUser,
  type Services,
} from '@atoll/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Leadership } from '../server';
import { sendError } from './errors';
import { appJsonSchema } from './marathon-schema';
import { ReadCache } from './read-cache';
import {
  listEmbed,
  marathonApp,
  marathonDeployment,
  marathonGroup,
  marathonQueueItem,
  marathonTask,
  matchesLabelSelector,
  singleEmbed,
  streamsEvent,
} from './marathon-shapes';

/**
 * The Marathon release whose `/v2` API Atoll follows. `/v2/info` reports it as `version`, because
 * Marathon's clients gate features on it (the DC/OS CLI refuses a Marathon older than 0.8.1);
 * Atoll's own version is in `buildref`.
 */
export const MARATHON_API_VERSION = '1.11.0';

/**
 * Marathon's REST API (`/v2`), so a DC/OS user's scripts keep working. Thin: every handler calls
 * the same service functions as tRPC; only the request and response shapes are Marathon's.
 */
export function registerMarathonRoutes(app: FastifyInstance, s: Services, leadership: Leadership): void {
  // The services acting for the request's user: the service layer keeps a scoped user in the scope.
  const actor = (req: { user: AuthUser | null }) => accessService.withActor(s, req.user);
  // Routes about the cluster, not a workload: the same for every scope.
  const cluster = { config: { scope: 'cluster' } } as const;
  const handle =
    (fn: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        return await fn(req, reply);
      } catch (err) {
        return sendError(reply, err);
      }
    };

  // Marathon serves its ping at the root (what marathon-python's ping() asks) and under /v2.
  for (const path of ['/ping', '/v2/ping'])
    app.get(path, cluster, async (_req, reply) => reply.type('text/plain').send('pong'));

  app.get(
    '/v2/info',
    cluster,
    handle(async () => {
      const publicUrl = new URL(s.config.publicUrl);
      const leader = await leadership.leaderUrl();
      return {
        name: 'atoll',
        version: MARATHON_API_VERSION,
        buildref: `atoll-${s.config.version}`,
        elected: leadership.isLeader(),
        leader: leader ? new URL(leader).host : null,
        frameworkId: s.config.clusterName,
        marathon_config: {
          master: 'atoll',
          hostname: publicUrl.hostname,
          task_launch_timeout: 300000,
        },
        // Atoll keeps its state in PostgreSQL: there are no ZooKeeper settings to show.
        zookeeper_config: {},
        // HTTP callback subscriptions went with Marathon 1.5; /v2/events is the event bus.
        event_subscriber: null,
        http_config: { http_port: Number(publicUrl.port || 80) },
      };
    }),
  );

  app.get(
    '/v2/leader',
    cluster,
    handle(async (_req, reply) => {
      const leader = await leadership.leaderUrl();
      if (!leader) return reply.code(404).send({ message: 'There is no leader' });
      return { leader: new URL(leader).host };
    }),
  );

  app.delete(
    '/v2/leader',
    { config: { access: 'admin', scope: 'cluster' } },
    handle(async (_req, reply) => {
      if (!(await leadership.abdicate())) {
        const leader = await leadership.leaderUrl();
        return reply.code(leader ? 409 : 404).send({
          message: leader ? `this replica does not lead; ask the leader at ${leader}` : 'There is no leader',
        });
      }
      return { message: 'Leadership abdicated' };
    }),
  );

  // Marathon's app JSON Schema (until 1.8), which the DC/OS CLI 0.x validates `app add` against.
  const schema = appJsonSchema();
  app.get('/v2/schemas/app', cluster, async () => schema);

  // Marathon 1.5 removed the HTTP callback subscriptions; its event stream replaced them.
  app.all(
    '/v2/eventSubscriptions',
    cluster,
    handle(async (_req, reply) =>
      reply.code(404).send({
        message:
          'event subscriptions (HTTP callbacks) were removed in Marathon 1.5 and Atoll has none: read the event stream at /v2/events',
      }),
    ),
  );

  // The two big list reads answer from a rendered cache while their tables are unchanged
  // (read-cache.ts): at 1,000 apps a rendering is a megabyte of JSON.
  const appsCache = new ReadCache(s.db.pool, ['apps', 'tasks', 'deployments']);
  const tasksCache = new ReadCache(s.db.pool, ['apps', 'tasks']);
  const cacheKey = (req: FastifyRequest) => `${accessService.scopeOf(actor(req)) ?? '/'} ${req.url}`;
  const sendRead = (reply: FastifyReply, r: { body: string; hit: boolean }) =>
    reply
      .header('x-atoll-cache', r.hit ? 'hit' : 'miss')
      .type('application/json; charset=utf-8')
      .send(r.body);

  app.get(
    '/v2/apps',
    handle(async (req, reply) => {
      const q = req.query as { embed?: string | string[]; id?: string; cmd?: string; label?: string };
      const embed = listEmbed(([] as string[]).concat(q.embed ?? []));
      const render = async () => {
        let apps = (
          await appsService.listApps(actor(req), {
            embedTasks: embed.has('tasks') || embed.has('taskStats') || embed.has('readiness'),
          })
        ).filter((a) => !podsService.isPod(a));
        // Marathon's filters: case-insensitive substrings of the id and the cmd, a label selector.
        const contains = (text: unknown, part: string) =>
          typeof text === 'string' && text.toLowerCase().includes(part.toLowerCase());
        if (q.id) apps = apps.filter((a) => contains(a.id, q.id!));
        if (q.cmd) apps = apps.filter((a) => contains(a.cmd, q.cmd!));
        if (q.label) {
          const selector = q.label;
          apps = apps.filter((a) =>
            matchesLabelSelector(selector, (a.labels ?? {}) as Record<string, string>),
          );
        }
        const now = s.now();
        // An app in backoff turns from Delayed when its delay ends, with no write to mark it.
        const delays = apps.flatMap((a) => (a.atoll.delayUntil ? [Date.parse(a.atoll.delayUntil)] : []));
        return {
          body: JSON.stringify({ apps: apps.map((a) => marathonApp(a, embed, now)) }),
          ...(delays.length > 0 ? { validUntil: Math.min(...delays) } : {}),
        };
      };
      // Task lifetimes (taskStats) change with every read: those are never kept.
      if (embed.has('taskStats')) return sendRead(reply, { body: (await render()).body, hit: false });
      return sendRead(reply, await appsCache.read(cacheKey(req), () => s.now().getTime(), render));
    }),
  );

  // Marathon's PUT /v2/apps: several app changes at once (each one is its own deployment here;
  // the answer names the last).
  app.put(
    '/v2/apps',
    handle(async (req) => {
      if (!Array.isArray(req.body) || req.body.length === 0)
        throw AppError.invalid([
          { path: '(root)', message: 'the body must be a non-empty list of app updates' },
        ]);
      const q = req.query as { force?: string; partialUpdate?: string };
      const updates = req.body as unknown[];
      updates.forEach((u, i) => {
        if (typeof u !== 'object' || u === null || typeof (u as { id?: unknown }).id !== 'string')
          throw AppError.invalid([{ path: `${i}.id`, message: 'each app update needs its id' }]);
      });
      // Every update checked before any is applied: a refused list changes nothing.
      const checked = updates as Array<Record<string, unknown> & { id: string }>;
      await appsService.checkAppUpdates(actor(req), checked, {
        partial: !isFalse(q.partialUpdate),
        force: isTrue(q.force),
      });
      let last: { version: string; deploymentId: string } | null = null;
      for (const [i, u] of (updates as Array<Record<string, unknown> & { id: string }>).entries()) {
        try {
          const r = await appsService.updateApp(actor(req), u.id, u, {
            partial: !isFalse(q.partialUpdate),
            force: isTrue(q.force),
          });
          last = { version: r.version, deploymentId: r.deploymentId };
        } catch (err) {
          // Name the field with the update's place in the list.
          if (err instanceof AppError && err.issues)
            throw AppError.invalid(err.issues.map((x) => ({ path: `${i}.${x.path}`, message: x.message })));
          throw err;
        }
      }
      return last;
    }),
  );

  app.post(
    '/v2/apps',
    handle(async (req, reply) => {
      const body = requireObject(req.body);
      const { app: created, deploymentId } = await appsService.createApp(actor(req), body);
      return reply
        .code(201)
        .header('Location', `/v2/apps${created.id}`)
        .header('Marathon-Deployment-Id', deploymentId)
        .send(marathonApp(created, listEmbed([]), s.now()));
    }),
  );

  // One wildcard route per method: app ids contain slashes, so suffixes are parsed here.
  app.get(
    '/v2/apps/*',
    handle(async (req) => {
      const path = wildcard(req);
      let m = /^(.*)\/versions\/([^/]+)$/.exec(path);
      if (m) return appsService.getAppVersion(actor(req), m[1]!, decodeURIComponent(m[2]!));
      m = /^(.*)\/versions$/.exec(path);
      if (m) return { versions: await appsService.listAppVersions(actor(req), m[1]!) };
      m = /^(.*)\/tasks$/.exec(path);
      if (m) {
        await appsService.getApp(actor(req), m[1]!); // 404 for an unknown app
        return { tasks: (await appsService.listTasks(actor(req), { appId: m[1]! })).map(marathonTask) };
      }
      const q = req.query as { embed?: string | string[] };
      const app = await appsService.getApp(actor(req), path);
      if (podsService.isPod(app)) throw AppError.notFound(`App '${app.id}'`);
      return { app: marathonApp(app, singleEmbed(([] as string[]).concat(q.embed ?? [])), s.now()) };
    }),
  );

  app.put(
    '/v2/apps/*',
    handle(async (req, reply) => {
      const body = requireObject(req.body);
      const q = req.query as { partialUpdate?: string; force?: string };
      const r = await appsService.updateApp(actor(req), wildcard(req), body, {
        partial: !isFalse(q.partialUpdate),
        force: isTrue(q.force),
      });
      return reply
        .code(r.created ? 201 : 200)
        .header('Marathon-Deployment-Id', r.deploymentId)
        .send({ version: r.version, deploymentId: r.deploymentId });
    }),
  );

  app.delete(
    '/v2/apps/*',
    handle(async (req) => {
      const path = wildcard(req);
      const m = /^(.*)\/tasks\/([^/]+)$/.exec(path);
      const q = req.query as { scale?: string; force?: string; host?: string; wipe?: string };
      if (m) {
        const appId = normalizeAppId(m[1]!);
        const taskId = decodeURIComponent(m[2]!);
        const task = (await appsService.listTasks(actor(req), { appId })).find((t) => t.id === taskId);
        if (!task) throw AppError.notFound(`Task '${taskId}' of app '${appId}'`);
        const [killed] = await appsService.killTasks(actor(req), [taskId], { scale: isTrue(q.scale) });
        return { task: marathonTask(killed!) };
      }
      const tasksMatch = /^(.*)\/tasks$/.exec(path);
      if (tasksMatch) {
        await appsService.getApp(actor(req), tasksMatch[1]!); // 404 for an unknown app
        // Marathon's ?host= kills only the tasks on that agent.
        const tasks = (await appsService.listTasks(actor(req), { appId: tasksMatch[1]! })).filter(
          (t) => !q.host || t.host === q.host,
        );
        if (tasks.length === 0) return { tasks: [] };
        const killed = await appsService.killTasks(
          s,
          tasks.map((t) => t.id),
          { scale: isTrue(q.scale) },
        );
        return { tasks: killed.map(marathonTask) };
      }
      return appsService.deleteApp(actor(req), path, { force: isTrue(q.force) });
    }),
  );

  app.post(
    '/v2/apps/*',
    handle(async (req, reply) => {
      const m = /^(.*)\/restart$/.exec(wildcard(req));
      if (!m) return reply.code(404).send({ message: 'not found' });
      const q = req.query as { force?: string };
      return appsService.restartApp(actor(req), m[1]!, { force: isTrue(q.force) });
    }),
  );

  // Groups: path prefixes of apps, created and changed as a whole.
  app.get(
    '/v2/groups',
    handle(async (req) => marathonGroup(await groupsService.getGroup(actor(req), '/'), s.now())),
  );
  app.get(
    '/v2/groups/*',
    handle(async (req) => {
      const path = wildcard(req);
      let m = /^(.*)\/versions\/([^/]+)$/.exec(path);
      if (m)
        return marathonGroup(
          await groupsService.getGroupVersion(actor(req), m[1]!, decodeURIComponent(m[2]!)),
          s.now(),
        );
      m = /^(.*)\/versions$/.exec(path);
      if (m) return groupsService.listGroupVersions(actor(req), m[1]!);
      return marathonGroup(await groupsService.getGroup(actor(req), path), s.now());
    }),
  );
  app.post(
    '/v2/groups',
    handle(async (req, reply) =>
      reply.code(201).send(await groupsService.createGroup(actor(req), requireObject(req.body))),
    ),
  );
  app.post(
    '/v2/groups/*',
    handle(async (req, reply) => {
      const body = requireObject(req.body);
      const base = wildcard(req);
      const id =
        typeof body.id === 'string' && body.id.startsWith('/')
          ? body.id
          : `${base}/${String(body.id ?? '')}`.replace(/\/+$/, '');
      return reply.code(201).send(await groupsService.createGroup(actor(req), { ...body, id }));
    }),
  );
  app.put(
    '/v2/groups/*',
    handle(async (req) => {
      const q = req.query as { force?: string };
      return groupsService.updateGroup(actor(req), wildcard(req), requireObject(req.body), {
        force: isTrue(q.force),
      });
    }),
  );
  app.delete(
    '/v2/groups/*',
    handle(async (req) => {
      const q = req.query as { force?: string };
      return groupsService.deleteGroup(actor(req), wildcard(req), { force: isTrue(q.force) });
    }),
  );

  // Pods: several containers per instance, scheduled as one task (see services/pods.ts).
  app.post(
    '/v2/pods',
    handle(async (req, reply) => {
      const { pod, deploymentId } = await podsService.createPod(actor(req), requireObject(req.body));
      return reply
        .code(201)
        .header('Location', `/v2/pods${pod.id}`)
        .header('Marathon-Deployment-Id', deploymentId)
        .send(pod);
    }),
  );
  app.get(
    '/v2/pods',
    handle(async (req) => podsService.listPods(actor(req))),
  );
  app.get(
    '/v2/pods/*',
    handle(async (req) => {
      const path = wildcard(req);
      if (path === '/::status')
        return Promise.all(
          (await podsService.listPods(actor(req))).map((p) => podsService.podStatus(actor(req), p.id)),
        );
      const m = /^(.*)::status$/.exec(path);
      return m ? podsService.podStatus(actor(req), m[1]!) : podsService.getPod(actor(req), path);
    }),
  );
  app.put(
    '/v2/pods/*',
    handle(async (req, reply) => {
      const q = req.query as { force?: string };
      const r = await podsService.updatePod(actor(req), wildcard(req), requireObject(req.body), {
        force: isTrue(q.force),
      });
      return reply
        .header('Marathon-Deployment-Id', r.deploymentId)
        .send(await podsService.getPod(actor(req), wildcard(req)));
    }),
  );
  app.delete(
    '/v2/pods/*',
    handle(async (req, reply) => {
      const q = req.query as { force?: string };
      const r = await podsService.deletePod(actor(req), wildcard(req), { force: isTrue(q.force) });
      return reply.code(202).header('Marathon-Deployment-Id', r.deploymentId).send();
    }),
  );

  app.get(
    '/v2/tasks',
    handle(async (req, reply) => {
      const q = req.query as { status?: string };
      const render = async () => {
        let tasks = await appsService.listTasks(actor(req));
        if (q.status) tasks = tasks.filter((t) => t.state === `TASK_${q.status!.toUpperCase()}`);
        return { body: JSON.stringify({ tasks: tasks.map(marathonTask) }) };
      };
      return sendRead(reply, await tasksCache.read(cacheKey(req), () => s.now().getTime(), render));
    }),
  );

  app.post(
    '/v2/tasks/delete',
    handle(async (req) => {
      const body = requireObject(req.body) as { ids?: unknown };
      if (!Array.isArray(body.ids) || !body.ids.every((x) => typeof x === 'string')) {
        throw AppError.invalid([{ path: 'ids', message: 'ids must be a list of task ids' }]);
      }
      const q = req.query as { scale?: string };
      const killed = await appsService.killTasks(actor(req), body.ids as string[], {
        scale: isTrue(q.scale),
      });
      return { tasks: killed.map(marathonTask) };
    }),
  );

  app.get(
    '/v2/deployments',
    handle(async (req) => (await deploymentsService.listDeployments(actor(req))).map(marathonDeployment)),
  );

  app.delete(
    '/v2/deployments/:id',
    handle(async (req, reply) => {
      const { id } = req.params as { id: string };
      const q = req.query as { force?: string };
      if (!/^[0-9a-f-]{36}$/.test(id)) throw new AppError('NOT_FOUND', `DeploymentPlan ${id} does not exist`);
      const r = await appsService.cancelDeployment(actor(req), id, { force: isTrue(q.force) });
      return r ? reply.code(200).send(r) : reply.code(202).send();
    }),
  );

  // Marathon's event bus as server-sent events: `event: <eventType>` + `data: <json>`. Marathon's
  // event types unless `event_type` names others (or `atoll_events=true` adds Atoll's own);
  // `plan-format=light` leaves the groups out of deployment plans, as Marathon 1.6+.
  app.get('/v2/events', (req, reply) => {
    const q = req.query as { event_type?: string | string[]; atoll_events?: string; 'plan-format'?: string };
    const filter = {
      wanted: new Set(([] as string[]).concat(q.event_type ?? [])),
      atollEvents: isTrue(q.atoll_events),
    };
    const light = q['plan-format'] === 'light';
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    // At once: with an event_type filter the first event may be long in coming.
    res.flushHeaders();
    const reader = actor(req);
    const send = (e: { eventType: string; plan?: unknown }, subject?: string) => {
      if (!streamsEvent(e.eventType, filter)) return;
      // A scoped reader's stream holds only the events of the apps and jobs in the scope.
      if (
        e.eventType !== 'event_stream_attached' &&
        !eventsService.eventVisible(reader, e.eventType, subject)
      )
        return;
      let out: unknown = e;
      if (light && e.plan && typeof e.plan === 'object') {
        const { original: _o, target: _t, ...plan } = e.plan as Record<string, unknown>;
        out = { ...e, plan };
      }
      res.write(`event: ${e.eventType}\ndata: ${JSON.stringify(out)}\n\n`);
    };
    send({
      eventType: 'event_stream_attached',
      remoteAddress: req.ip,
      timestamp: new Date().toISOString(),
    } as { eventType: string });
    const off = s.bus.subscribeEvents(send);
    const keepAlive = setInterval(() => res.write(':\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(keepAlive);
      off();
    });
  });

  app.get(
    '/v2/queue',
    handle(async (req) => {
      const q = req.query as { embed?: string | string[] };
      const lastUnusedOffers = ([] as string[]).concat(q.embed ?? []).includes('lastUnusedOffers');
      const now = s.now();
      return {
        queue: (await queueService.listQueue(actor(req))).map((item) =>
          marathonQueueItem(item, { lastUnusedOffers, now }),
        ),
      };
    }),
  );

  app.delete(
    '/v2/queue/*',
    handle(async (req, reply) => {
      const m = /^(.*)\/delay$/.exec(wildcard(req));
      if (!m) return reply.code(404).send({ message: 'not found' });
      await queueService.resetDelay(actor(req), m[1]!);
      return reply.code(204).send();
    }),
  );
}

function wildcard(req: FastifyRequest): string {
  return '/' + ((req.params as { '*': string })['*'] ?? '').replace(/^\/+|\/+$/g, '');
}

function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('BAD_REQUEST', 'the request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** Marathon's boolean query parameters, read as Jersey read them: `true`, `True` and `TRUE` alike. */
function isTrue(value: string | undefined): boolean {
  return value?.toLowerCase() === 'true';
}

function isFalse(value: string | undefined): boolean {
  return value?.toLowerCase() === 'false';
}

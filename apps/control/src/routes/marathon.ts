import {
  appsService,
  AppError,
  deploymentsService,
  groupsService,
  podsService,
  queueService,
  type Services,
} from '@atoll/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Leadership } from '../server';
import { sendError } from './errors';

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
    app.get(path, async (_req, reply) => reply.type('text/plain').send('pong'));

  app.get(
    '/v2/info',
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
    handle(async (_req, reply) => {
      const leader = await leadership.leaderUrl();
      if (!leader) return reply.code(404).send({ message: 'There is no leader' });
      return { leader: new URL(leader).host };
    }),
  );

  app.delete(
    '/v2/leader',
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

  app.get(
    '/v2/apps',
    handle(async (req) => {
      const q = req.query as { embed?: string | string[]; id?: string; cmd?: string; label?: string };
      const embed = ([] as string[]).concat(q.embed ?? []);
      let apps = (await appsService.listApps(s, { embedTasks: embed.includes('apps.tasks') })).filter(
        (a) => !podsService.isPod(a),
      );
      if (q.id) apps = apps.filter((a) => a.id.includes(q.id!));
      if (q.cmd) apps = apps.filter((a) => typeof a.cmd === 'string' && a.cmd.includes(q.cmd!));
      return { apps: apps.map(withoutAtoll) };
    }),
  );

  app.post(
    '/v2/apps',
    handle(async (req, reply) => {
      const body = requireObject(req.body);
      const { app: created, deploymentId } = await appsService.createApp(s, body);
      return reply
        .code(201)
        .header('Location', `/v2/apps${created.id}`)
        .header('Marathon-Deployment-Id', deploymentId)
        .send(withoutAtoll(created));
    }),
  );

  // One wildcard route per method: app ids contain slashes, so suffixes are parsed here.
  app.get(
    '/v2/apps/*',
    handle(async (req) => {
      const path = wildcard(req);
      let m = /^(.*)\/versions\/([^/]+)$/.exec(path);
      if (m) return appsService.getAppVersion(s, m[1]!, decodeURIComponent(m[2]!));
      m = /^(.*)\/versions$/.exec(path);
      if (m) return { versions: await appsService.listAppVersions(s, m[1]!) };
      m = /^(.*)\/tasks$/.exec(path);
      if (m) {
        await appsService.getApp(s, m[1]!); // 404 for an unknown app
        return { tasks: await appsService.listTasks(s, { appId: m[1]! }) };
      }
      return { app: withoutAtoll(await appsService.getApp(s, path)) };
    }),
  );

  app.put(
    '/v2/apps/*',
    handle(async (req, reply) => {
      const body = requireObject(req.body);
      const q = req.query as { partialUpdate?: string; force?: string };
      const r = await appsService.updateApp(s, wildcard(req), body, {
        partial: q.partialUpdate !== 'false',
        force: q.force === 'true',
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
      const q = req.query as { scale?: string; force?: string };
      if (m) {
        const [task] = await appsService.killTasks(s, [decodeURIComponent(m[2]!)], {
          scale: q.scale === 'true',
        });
        return { task };
      }
      const tasksMatch = /^(.*)\/tasks$/.exec(path);
      if (tasksMatch) {
        const tasks = await appsService.listTasks(s, { appId: tasksMatch[1]! });
        if (tasks.length === 0) return { tasks: [] };
        return {
          tasks: await appsService.killTasks(
            s,
            tasks.map((t) => t.id),
            { scale: q.scale === 'true' },
          ),
        };
      }
      return appsService.deleteApp(s, path, { force: q.force === 'true' });
    }),
  );

  app.post(
    '/v2/apps/*',
    handle(async (req, reply) => {
      const m = /^(.*)\/restart$/.exec(wildcard(req));
      if (!m) return reply.code(404).send({ message: 'not found' });
      const q = req.query as { force?: string };
      return appsService.restartApp(s, m[1]!, { force: q.force === 'true' });
    }),
  );

  // Groups: path prefixes of apps, created and changed as a whole.
  app.get(
    '/v2/groups',
    handle(async () => groupsService.getGroup(s, '/')),
  );
  app.get(
    '/v2/groups/*',
    handle(async (req) => groupsService.getGroup(s, wildcard(req))),
  );
  app.post(
    '/v2/groups',
    handle(async (req, reply) =>
      reply.code(201).send(await groupsService.createGroup(s, requireObject(req.body))),
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
      return reply.code(201).send(await groupsService.createGroup(s, { ...body, id }));
    }),
  );
  app.put(
    '/v2/groups/*',
    handle(async (req) => {
      const q = req.query as { force?: string };
      return groupsService.updateGroup(s, wildcard(req), requireObject(req.body), {
        force: q.force === 'true',
      });
    }),
  );
  app.delete(
    '/v2/groups/*',
    handle(async (req) => {
      const q = req.query as { force?: string };
      return groupsService.deleteGroup(s, wildcard(req), { force: q.force === 'true' });
    }),
  );

  // Pods: several containers per instance, scheduled as one task (see services/pods.ts).
  app.post(
    '/v2/pods',
    handle(async (req, reply) => {
      const { pod, deploymentId } = await podsService.createPod(s, requireObject(req.body));
      return reply
        .code(201)
        .header('Location', `/v2/pods${pod.id}`)
        .header('Marathon-Deployment-Id', deploymentId)
        .send(pod);
    }),
  );
  app.get(
    '/v2/pods',
    handle(async () => podsService.listPods(s)),
  );
  app.get(
    '/v2/pods/*',
    handle(async (req) => {
      const path = wildcard(req);
      if (path === '/::status')
        return Promise.all((await podsService.listPods(s)).map((p) => podsService.podStatus(s, p.id)));
      const m = /^(.*)::status$/.exec(path);
      return m ? podsService.podStatus(s, m[1]!) : podsService.getPod(s, path);
    }),
  );
  app.put(
    '/v2/pods/*',
    handle(async (req, reply) => {
      const q = req.query as { force?: string };
      const r = await podsService.updatePod(s, wildcard(req), requireObject(req.body), {
        force: q.force === 'true',
      });
      return reply
        .header('Marathon-Deployment-Id', r.deploymentId)
        .send(await podsService.getPod(s, wildcard(req)));
    }),
  );
  app.delete(
    '/v2/pods/*',
    handle(async (req, reply) => {
      const q = req.query as { force?: string };
      const r = await podsService.deletePod(s, wildcard(req), { force: q.force === 'true' });
      return reply.code(202).header('Marathon-Deployment-Id', r.deploymentId).send();
    }),
  );

  app.get(
    '/v2/tasks',
    handle(async (req) => {
      const q = req.query as { status?: string };
      let tasks = await appsService.listTasks(s);
      if (q.status) tasks = tasks.filter((t) => t.state === `TASK_${q.status!.toUpperCase()}`);
      return { tasks };
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
      return { tasks: await appsService.killTasks(s, body.ids as string[], { scale: q.scale === 'true' }) };
    }),
  );

  app.get(
    '/v2/deployments',
    handle(async () => deploymentsService.listDeployments(s)),
  );

  app.delete(
    '/v2/deployments/:id',
    handle(async (req, reply) => {
      const { id } = req.params as { id: string };
      const q = req.query as { force?: string };
      if (!/^[0-9a-f-]{36}$/.test(id)) throw new AppError('NOT_FOUND', `DeploymentPlan ${id} does not exist`);
      const r = await appsService.cancelDeployment(s, id, { force: q.force === 'true' });
      return r ? reply.code(200).send(r) : reply.code(202).send();
    }),
  );

  // Marathon's event bus as server-sent events: `event: <eventType>` + `data: <json>`.
  app.get('/v2/events', (req, reply) => {
    const q = req.query as { event_type?: string | string[] };
    const wanted = new Set(([] as string[]).concat(q.event_type ?? []));
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const send = (e: { eventType: string }) => {
      if (wanted.size > 0 && !wanted.has(e.eventType)) return;
      res.write(`event: ${e.eventType}\ndata: ${JSON.stringify(e)}\n\n`);
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
    handle(async () => ({ queue: await queueService.listQueue(s) })),
  );

  app.delete(
    '/v2/queue/*',
    handle(async (req, reply) => {
      const m = /^(.*)\/delay$/.exec(wildcard(req));
      if (!m) return reply.code(404).send({ message: 'not found' });
      await queueService.resetDelay(s, m[1]!);
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

function withoutAtoll<T extends { atoll?: unknown }>(app: T): Omit<T, 'atoll'> {
  const { atoll: _atoll, ...rest } = app;
  return rest;
}

import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import { AppError } from '../errors';
import * as apps from '../services/apps';
import * as streams from '../services/agent-streams';
import * as deployments from '../services/deployments';
import * as queue from '../services/queue';
import * as groups from '../services/groups';
import * as pods from '../services/pods';
import {
  appDefinitionInput,
  appView,
  deploymentResult,
  deploymentView,
  queueItemView,
  taskView,
} from '../schemas';

const force = z.boolean().default(false).describe('override the deployment lock (Marathon ?force=true)');

const appId = z.string().min(1, 'id is required');

export const appsRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/apps', tags: ['apps'], protect: true } })
    .input(z.object({ embedTasks: z.boolean().default(false) }).default({ embedTasks: false }))
    .output(z.array(appView))
    .query(({ ctx, input }) => apps.listApps(ctx, { embedTasks: input.embedTasks })),
  get: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/apps/detail',
        tags: ['apps'],
        protect: true,
        summary: 'One app with its tasks',
      },
    })
    .input(z.object({ id: appId }))
    .output(appView)
    .query(({ ctx, input }) => apps.getApp(ctx, input.id)),
  create: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/apps',
        tags: ['apps'],
        protect: true,
        summary: 'Create an app from a Marathon app definition',
      },
    })
    .input(z.object({ definition: appDefinitionInput }))
    .output(z.object({ app: appView, deploymentId: z.string() }))
    .mutation(({ ctx, input }) => apps.createApp(ctx, input.definition)),
  update: protectedProcedure
    .meta({
      openapi: {
        method: 'PUT',
        path: '/apps',
        tags: ['apps'],
        protect: true,
        summary: 'Change an app (fields given replace the stored ones)',
      },
    })
    .input(z.object({ id: appId, definition: appDefinitionInput, partial: z.boolean().default(true), force }))
    .output(deploymentResult.extend({ created: z.boolean() }))
    .mutation(({ ctx, input }) =>
      apps.updateApp(ctx, input.id, input.definition, { partial: input.partial, force: input.force }),
    ),
  scale: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/apps/scale', tags: ['apps'], protect: true } })
    .input(
      z.object({
        id: appId,
        instances: z.number().int('instances must be a whole number').min(0, 'instances must be 0 or more'),
        force,
      }),
    )
    .output(deploymentResult)
    .mutation(({ ctx, input }) => apps.scaleApp(ctx, input.id, input.instances, { force: input.force })),
  restart: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/apps/restart',
        tags: ['apps'],
        protect: true,
        summary: 'Replace every task with a new one, rolling',
      },
    })
    .input(z.object({ id: appId, force }))
    .output(deploymentResult)
    .mutation(({ ctx, input }) => apps.restartApp(ctx, input.id, { force: input.force })),
  rollback: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/apps/rollback',
        tags: ['apps'],
        protect: true,
        summary: 'Deploy a stored version again',
      },
    })
    .input(z.object({ id: appId, version: z.string().min(1, 'version is required'), force }))
    .output(deploymentResult.extend({ created: z.boolean() }))
    .mutation(({ ctx, input }) =>
      apps.updateApp(ctx, input.id, { version: input.version }, { force: input.force }),
    ),
  delete: protectedProcedure
    .meta({ openapi: { method: 'DELETE', path: '/apps', tags: ['apps'], protect: true } })
    .input(z.object({ id: appId, force }))
    .output(deploymentResult)
    .mutation(({ ctx, input }) => apps.deleteApp(ctx, input.id, { force: input.force })),
  versions: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/apps/versions', tags: ['apps'], protect: true } })
    .input(z.object({ id: appId }))
    .output(z.array(z.string()))
    .query(({ ctx, input }) => apps.listAppVersions(ctx, input.id)),
  version: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/apps/version',
        tags: ['apps'],
        protect: true,
        summary: 'One stored version of an app definition',
      },
    })
    .input(z.object({ id: appId, version: z.string().min(1, 'version is required') }))
    .output(appDefinitionInput)
    .query(
      ({ ctx, input }) =>
        apps.getAppVersion(ctx, input.id, input.version) as Promise<unknown> as Promise<
          Record<string, unknown>
        >,
    ),
});

export const deploymentsRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/deployments', tags: ['deployments'], protect: true } })
    .input(z.void())
    .output(z.array(deploymentView))
    .query(({ ctx }) => deployments.listDeployments(ctx)),
  cancel: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/deployments/cancel',
        tags: ['deployments'],
        protect: true,
        summary: 'Cancel with a rollback deployment, or stop it (force)',
      },
    })
    .input(z.object({ id: z.string().uuid('id must be a deployment id'), force: z.boolean().default(false) }))
    .output(deploymentResult.nullable())
    .mutation(({ ctx, input }) => apps.cancelDeployment(ctx, input.id, { force: input.force })),
});

export const queueRouter = router({
  list: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/queue',
        tags: ['queue'],
        protect: true,
        summary: 'Apps waiting for tasks, their back-off and why they wait',
      },
    })
    .input(z.void())
    .output(z.array(queueItemView))
    .query(({ ctx }) => queue.listQueue(ctx)),
  resetDelay: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/queue/reset-delay', tags: ['queue'], protect: true } })
    .input(z.object({ id: appId }))
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      await queue.resetDelay(ctx, input.id);
      return { ok: true };
    }),
});

export const tasksRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/tasks', tags: ['tasks'], protect: true } })
    .input(
      z
        .object({ appId: z.string().optional(), includeTerminal: z.boolean().default(false) })
        .default({ includeTerminal: false }),
    )
    .output(z.array(taskView))
    .query(({ ctx, input }) =>
      apps.listTasks(ctx, { appId: input.appId, includeTerminal: input.includeTerminal }),
    ),
  kill: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/tasks/kill', tags: ['tasks'], protect: true } })
    .input(
      z.object({
        taskIds: z.array(z.string().min(1)).min(1, 'name at least one task'),
        scale: z.boolean().default(false),
      }),
    )
    .output(z.array(taskView))
    .mutation(({ ctx, input }) => apps.killTasks(ctx, input.taskIds, { scale: input.scale })),
  get: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/tasks/{taskId}',
        tags: ['tasks'],
        protect: true,
        summary: 'One task, also after it ended (while its record is kept)',
      },
    })
    .input(z.object({ taskId: z.string().min(1) }))
    .output(taskView)
    .query(async ({ ctx, input }) => {
      // 404 for an unknown task, 403 for one outside the caller's scope.
      await streams.taskLocation(ctx, input.taskId);
      const task = (await apps.listTasks(ctx, { includeTerminal: true })).find((t) => t.id === input.taskId);
      if (!task) throw AppError.notFound(`task ${input.taskId}`);
      return task;
    }),
  /**
   * A task's stdout and stderr: the last `lines` (null: all, up to the agent's whole log), then with
   * `follow` what it writes next. Each chunk names its stream; the last item is `{ end }`. REST:
   * `GET /api/v1/tasks/{taskId}/logs` (text/plain).
   */
  logs: protectedProcedure
    .meta({ access: 'operate' })
    .input(
      z.object({
        taskId: z.string().min(1),
        lines: z.number().int().min(0).max(streams.MAX_LOG_LINES).nullable().default(100),
        follow: z.boolean().default(false),
      }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      yield* streams.taskLogChunks(ctx, input, signal);
    }),
});

const groupView: z.ZodType<groups.GroupView> = z.lazy(() =>
  z.object({
    id: z.string(),
    apps: z.array(z.looseObject({ id: z.string() })) as unknown as z.ZodType<groups.GroupView['apps']>,
    groups: z.array(groupView),
    pods: z.array(z.unknown()),
    dependencies: z.array(z.string()),
    version: z.string().nullable(),
  }),
);

export const groupsRouter = router({
  get: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/groups',
        tags: ['groups'],
        protect: true,
        summary: 'A group with its apps and subgroups (id / for all)',
      },
    })
    .input(z.object({ id: z.string().default('/') }).default({ id: '/' }))
    .output(groupView)
    .query(({ ctx, input }) => groups.getGroup(ctx, input.id)),
  create: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/groups',
        tags: ['groups'],
        protect: true,
        summary: 'Create a group of apps (Marathon group JSON) as one deployment',
      },
    })
    .input(z.object({ definition: appDefinitionInput }))
    .output(deploymentResult)
    .mutation(({ ctx, input }) => groups.createGroup(ctx, input.definition)),
  update: protectedProcedure
    .meta({
      openapi: {
        method: 'PUT',
        path: '/groups',
        tags: ['groups'],
        protect: true,
        summary: 'Scale a group (scaleBy) or create/replace its apps',
      },
    })
    .input(z.object({ id: appId, definition: appDefinitionInput, force }))
    .output(deploymentResult)
    .mutation(({ ctx, input }) =>
      groups.updateGroup(ctx, input.id, input.definition, { force: input.force }),
    ),
  delete: protectedProcedure
    .meta({ openapi: { method: 'DELETE', path: '/groups', tags: ['groups'], protect: true } })
    .input(z.object({ id: appId, force }))
    .output(deploymentResult)
    .mutation(({ ctx, input }) => groups.deleteGroup(ctx, input.id, { force: input.force })),
});

const podView = z.looseObject({
  id: z.string(),
  containers: z.array(z.looseObject({ name: z.string() })),
  version: z.string(),
});

export const podsRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/pods', tags: ['pods'], protect: true } })
    .input(z.void())
    .output(z.array(podView))
    .query(({ ctx }) => pods.listPods(ctx)),
  get: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/pods/detail', tags: ['pods'], protect: true } })
    .input(z.object({ id: appId }))
    .output(podView)
    .query(({ ctx, input }) => pods.getPod(ctx, input.id)),
  status: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/pods/status',
        tags: ['pods'],
        protect: true,
        summary: "Marathon's pod status with its instances",
      },
    })
    .input(z.object({ id: appId }))
    .output(
      z.looseObject({
        id: z.string(),
        status: z.string(),
        instances: z.array(z.looseObject({ id: z.string(), status: z.string() })),
      }),
    )
    .query(({ ctx, input }) => pods.podStatus(ctx, input.id)),
  create: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/pods',
        tags: ['pods'],
        protect: true,
        summary: 'Create a pod from a Marathon pod definition',
      },
    })
    .input(z.object({ definition: appDefinitionInput }))
    .output(z.object({ pod: podView, deploymentId: z.string() }))
    .mutation(({ ctx, input }) => pods.createPod(ctx, input.definition)),
  update: protectedProcedure
    .meta({ openapi: { method: 'PUT', path: '/pods', tags: ['pods'], protect: true } })
    .input(z.object({ id: appId, definition: appDefinitionInput, force }))
    .output(deploymentResult)
    .mutation(({ ctx, input }) => pods.updatePod(ctx, input.id, input.definition, { force: input.force })),
  delete: protectedProcedure
    .meta({ openapi: { method: 'DELETE', path: '/pods', tags: ['pods'], protect: true } })
    .input(z.object({ id: appId, force }))
    .output(deploymentResult)
    .mutation(({ ctx, input }) => pods.deletePod(ctx, input.id, { force: input.force })),
});

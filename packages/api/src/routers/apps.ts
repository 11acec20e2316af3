import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import * as apps from '../services/apps';
import { appDefinitionInput, appView, deploymentResult, deploymentView, taskView } from '../schemas';

const appId = z.string().min(1, 'id is required');

export const appsRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/apps', tags: ['apps'], protect: true } })
    .input(z.object({ embedTasks: z.boolean().default(false) }).default({ embedTasks: false }))
    .output(z.array(appView))
    .query(({ ctx, input }) => apps.listApps(ctx, { embedTasks: input.embedTasks })),
  get: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/apps/detail', tags: ['apps'], protect: true, summary: 'One app with its tasks' } })
    .input(z.object({ id: appId }))
    .output(appView)
    .query(({ ctx, input }) => apps.getApp(ctx, input.id)),
  create: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/apps', tags: ['apps'], protect: true, summary: 'Create an app from a Marathon app definition' } })
    .input(z.object({ definition: appDefinitionInput }))
    .output(z.object({ app: appView, deploymentId: z.string() }))
    .mutation(({ ctx, input }) => apps.createApp(ctx, input.definition)),
  update: protectedProcedure
    .meta({ openapi: { method: 'PUT', path: '/apps', tags: ['apps'], protect: true, summary: 'Change an app (fields given replace the stored ones)' } })
    .input(z.object({ id: appId, definition: appDefinitionInput, partial: z.boolean().default(true) }))
    .output(deploymentResult.extend({ created: z.boolean() }))
    .mutation(({ ctx, input }) => apps.updateApp(ctx, input.id, input.definition, { partial: input.partial })),
  scale: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/apps/scale', tags: ['apps'], protect: true } })
    .input(z.object({ id: appId, instances: z.number().int('instances must be a whole number').min(0, 'instances must be 0 or more') }))
    .output(deploymentResult)
    .mutation(({ ctx, input }) => apps.scaleApp(ctx, input.id, input.instances)),
  delete: protectedProcedure
    .meta({ openapi: { method: 'DELETE', path: '/apps', tags: ['apps'], protect: true } })
    .input(z.object({ id: appId }))
    .output(deploymentResult)
    .mutation(({ ctx, input }) => apps.deleteApp(ctx, input.id)),
  versions: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/apps/versions', tags: ['apps'], protect: true } })
    .input(z.object({ id: appId }))
    .output(z.array(z.string()))
    .query(({ ctx, input }) => apps.listAppVersions(ctx, input.id)),
  deployments: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/deployments', tags: ['apps'], protect: true } })
    .input(z.void())
    .output(z.array(deploymentView))
    .query(({ ctx }) => apps.listDeployments(ctx)),
});

export const tasksRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/tasks', tags: ['tasks'], protect: true } })
    .input(z.object({ appId: z.string().optional(), includeTerminal: z.boolean().default(false) }).default({ includeTerminal: false }))
    .output(z.array(taskView))
    .query(({ ctx, input }) => apps.listTasks(ctx, { appId: input.appId, includeTerminal: input.includeTerminal })),
  kill: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/tasks/kill', tags: ['tasks'], protect: true } })
    .input(z.object({ taskIds: z.array(z.string().min(1)).min(1, 'name at least one task'), scale: z.boolean().default(false) }))
    .output(z.array(taskView))
    .mutation(({ ctx, input }) => apps.killTasks(ctx, input.taskIds, { scale: input.scale })),
});

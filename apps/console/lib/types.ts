import type { AppRouter, Change } from '@atoll/api';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

/** Shapes of the API as the console sees them; type-only, so no server code reaches the bundle. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

export type App = RouterOutputs['apps']['list'][number];
export type AppDetail = RouterOutputs['apps']['get'];
export type Task = RouterOutputs['tasks']['list'][number];
export type ClusterNode = RouterOutputs['nodes']['list'][number];
export type Deployment = RouterOutputs['deployments']['list'][number];
export type QueueItem = RouterOutputs['queue']['list'][number];
export type ClusterEvent = RouterOutputs['cluster']['events'][number];
export type Job = RouterOutputs['jobs']['list'][number];
export type JobRun = RouterOutputs['jobs']['runs'][number];
export type JobSchedule = RouterOutputs['jobs']['schedules'][number];
export type ServiceStatus = App['atoll']['status'];
export type TaskState = Task['state'];
export type { Change };

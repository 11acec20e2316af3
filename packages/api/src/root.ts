import { router } from './trpc';
import {
  appsRouter,
  deploymentsRouter,
  groupsRouter,
  podsRouter,
  queueRouter,
  tasksRouter,
} from './routers/apps';
import { authRouter } from './routers/auth';
import { catalogRouter } from './routers/catalog';
import { clusterRouter } from './routers/cluster';
import { metricsRouter } from './routers/metrics';
import { nodesRouter } from './routers/nodes';

export const appRouter = router({
  auth: authRouter,
  nodes: nodesRouter,
  apps: appsRouter,
  tasks: tasksRouter,
  deployments: deploymentsRouter,
  queue: queueRouter,
  groups: groupsRouter,
  pods: podsRouter,
  cluster: clusterRouter,
  metrics: metricsRouter,
  catalog: catalogRouter,
});

export type AppRouter = typeof appRouter;

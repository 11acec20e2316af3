import { router } from './trpc';
import {
  appsRouter,
  deploymentsRouter,
  groupsRouter,
  podsRouter,
  queueRouter,
  tasksRouter,
} from './routers/apps';
import { auditRouter } from './routers/audit';
import { authRouter } from './routers/auth';
import { catalogRouter } from './routers/catalog';
import { clusterRouter } from './routers/cluster';
import { jobsRouter } from './routers/jobs';
import { metricsRouter } from './routers/metrics';
import { networkRouter } from './routers/network';
import { nodesRouter } from './routers/nodes';
import { secretsRouter } from './routers/secrets';
import { servicesRouter } from './routers/services';
import { usersRouter } from './routers/users';

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
  jobs: jobsRouter,
  network: networkRouter,
  services: servicesRouter,
  secrets: secretsRouter,
  audit: auditRouter,
  users: usersRouter,
});

export type AppRouter = typeof appRouter;

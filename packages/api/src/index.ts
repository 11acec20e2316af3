export { appRouter, type AppRouter } from './root';
export { createCallerFactory, procedureAccess } from './trpc';
export {
  createContextInner,
  type Context,
  type Services,
  type AuthUser,
  type ClusterConfig,
} from './context';
export { ChangeBus, type Change } from './bus';
export { AppError, errorCodes, type AppErrorCode, callerDbError, internalErrorMessage } from './errors';
export * as accessService from './services/access';
export * as authService from './services/auth';
export * as usersService from './services/users';
export * as appsService from './services/apps';
export * as nodesService from './services/nodes';
export * as eventsService from './services/events';
export * as deploymentsService from './services/deployments';
export * as queueService from './services/queue';
export * as groupsService from './services/groups';
export * as podsService from './services/pods';
export * as catalogService from './services/catalog';
export * as jobsService from './services/jobs';
export * as secretsService from './services/secrets';
export { SecretKeyring, SecretKeyError, parseSecretKeys, newSecretKeyEntry } from './services/secrets';
export { DnsPublisher } from './services/dns';
export { VipPublisher, DEFAULT_VIP_CIDR } from './services/vips';
export * as agentsService from './services/agents';
export { type AgentDispatcher, AgentWriteBatcher } from './services/agents';
export { reconcile, ReconcileLoop, buildTaskSpec, taskEnvironment, newTaskId } from './services/reconciler';
export { LAUNCH_RESEND_MS, resendStagedLaunches } from './services/relaunch';
export * as streamsService from './services/agent-streams';
export { StreamRelay } from './services/agent-streams';
export * as metricsService from './services/metrics';
export { MetricsStore } from './services/metrics';
export * as auditService from './services/audit';
export { AuditLog } from './services/audit';
export * as serviceRoutesService from './services/service-routes';
export { ServiceRouteCache } from './services/service-routes';

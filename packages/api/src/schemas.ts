import { z } from 'zod';
import { taskStateSchema } from '@atoll/spec';

/** Response shapes of the API, shared by tRPC's `.output()` and the OpenAPI document. */
export const taskPortView = z.object({
  hostPort: z.number(),
  containerPort: z.number().optional(),
  protocol: z.string(),
  name: z.string().optional(),
});

export const taskView = z.object({
  id: z.string(),
  appId: z.string(),
  host: z.string(),
  ports: z.array(z.number()),
  servicePorts: z.array(z.number()),
  stagedAt: z.string(),
  startedAt: z.string().nullable(),
  version: z.string(),
  state: taskStateSchema,
  slaveId: z.string(),
  agentId: z.string(),
  healthCheckResults: z.array(z.unknown()),
  readinessCheckResults: z.array(z.unknown()).optional(),
  portMappings: z.array(taskPortView),
  message: z.string().nullable(),
});

export const appView = z.looseObject({
  id: z.string(),
  instances: z.number(),
  cpus: z.number(),
  mem: z.number(),
  disk: z.number(),
  version: z.string(),
  versionInfo: z.object({ lastScalingAt: z.string(), lastConfigChangeAt: z.string() }),
  tasksStaged: z.number(),
  tasksRunning: z.number(),
  tasksHealthy: z.number(),
  tasksUnhealthy: z.number(),
  deployments: z.array(z.object({ id: z.string() })),
  tasks: z.array(taskView).optional(),
  lastTaskFailure: z.unknown().optional(),
  atoll: z.object({
    status: z.enum(['Running', 'Deploying', 'Delayed', 'Waiting', 'Stopped', 'Deleting']),
    placementIssue: z.string().nullable(),
    delayUntil: z.string().nullable(),
    backoffFailures: z.number(),
  }),
});

export const nodeView = z.object({
  id: z.string(),
  hostname: z.string(),
  address: z.string(),
  runtime: z.string(),
  status: z.string(),
  mode: z.enum(['ACTIVE', 'DRAINING', 'DRAINED', 'MAINTENANCE', 'DECOMMISSIONED']),
  modeChangedAt: z.string().nullable(),
  drain: z.object({ total: z.number(), remaining: z.number(), blocked: z.string().nullable() }).nullable(),
  connected: z.boolean(),
  agentVersion: z.string(),
  /** Effective attributes (the agent's overlaid by the operator's): what constraints see. */
  attributes: z.record(z.string(), z.string()),
  agentAttributes: z.record(z.string(), z.string()),
  operatorAttributes: z.record(z.string(), z.string()),
  reserved: z.object({ cpus: z.number(), memMb: z.number() }),
  registeredAt: z.string(),
  lastHeartbeatAt: z.string().nullable(),
  resources: z.object({
    cpus: z.number(),
    memMb: z.number(),
    diskMb: z.number(),
    portRange: z.tuple([z.number(), z.number()]),
  }),
  allocated: z.object({ cpus: z.number(), memMb: z.number(), diskMb: z.number(), ports: z.number() }),
  tasks: z.number(),
});

export const deploymentResult = z.object({ version: z.string(), deploymentId: z.string() });

export const deploymentView = z.object({
  id: z.string(),
  version: z.string(),
  affectedApps: z.array(z.string()),
  affectedPods: z.array(z.string()),
  steps: z.array(z.object({ actions: z.array(z.object({ action: z.string(), app: z.string() })) })),
  currentActions: z.array(
    z.object({ action: z.string(), app: z.string(), readinessCheckResults: z.array(z.unknown()) }),
  ),
  currentStep: z.number(),
  totalSteps: z.number(),
  progress: z.array(
    z.object({
      appId: z.string(),
      instances: z.number(),
      updated: z.number(),
      old: z.number(),
      healthy: z.number(),
    }),
  ),
});

export const queueItemView = z.object({
  app: z.looseObject({ id: z.string() }),
  count: z.number(),
  delay: z.object({ timeLeftSeconds: z.number(), overdue: z.boolean() }),
  since: z.string(),
  processedOffersSummary: z.object({
    processedOffersCount: z.number(),
    unusedOffersCount: z.number(),
    rejectSummaryLastOffers: z.array(
      z.object({ reason: z.string(), declined: z.number(), processed: z.number() }),
    ),
  }),
  lastUnusedOffers: z.array(z.unknown()),
  atoll: z.object({
    placementIssue: z.string().nullable(),
    reasons: z.record(z.string(), z.number()),
    excluded: z.array(z.object({ nodeId: z.string(), hostname: z.string(), reason: z.string() })),
  }),
});

export const eventView = z.object({
  id: z.string(),
  type: z.string(),
  at: z.string(),
  subject: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
});

/** An app definition as the caller wrote it (Marathon JSON); validated by the service with field errors. */
export const appDefinitionInput = z.record(z.string(), z.unknown());

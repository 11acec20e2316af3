import { z } from 'zod';

/**
 * Marathon 1.x app definition (field names, defaults and validation follow Marathon's RAML and its
 * AppDefinition JSON schema). `parseAppDefinition` accepts what a DC/OS user already has, including
 * deprecated shapes, and returns the normalised, defaulted form that Atoll stores.
 */

// Marathon's path id: absolute or relative segments of lowercase letters, digits, '-' and '.'.
const ID_SEGMENT = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;

export const pathIdSchema = z
  .string()
  .min(1, 'id must not be empty')
  .refine(
    (id) =>
      id
        .split('/')
        .filter((s) => s !== '' && s !== '.' && s !== '..')
        .every((s) => ID_SEGMENT.test(s)),
    {
      message:
        'path segments must consist of lowercase letters, digits, hyphens and dots, and start and end with a letter or digit',
    },
  );

/** '/a/b' for 'a/b', '/a/b/' or '/a//b'. */
export function normalizeAppId(id: string): string {
  return '/' + id.split('/').filter(Boolean).join('/');
}

/** Resolves a (possibly relative) path against a base group, as Marathon does for dependencies. */
export function resolvePath(path: string, base: string): string {
  if (path.startsWith('/')) return normalizeAppId(path);
  const parts = base.split('/').filter(Boolean);
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** The group an app or group id belongs to: '/a/b/c' → '/a/b'. */
export function parentOf(id: string): string {
  const parts = id.split('/').filter(Boolean);
  parts.pop();
  return '/' + parts.join('/');
}

export const constraintOperators = [
  'UNIQUE',
  'CLUSTER',
  'GROUP_BY',
  'LIKE',
  'UNLIKE',
  'MAX_PER',
  'IS',
] as const;
export type ConstraintOperator = (typeof constraintOperators)[number];

export const constraintSchema = z
  .array(z.string())
  .min(2, 'a constraint is [field, operator] or [field, operator, value]')
  .max(3, 'a constraint is [field, operator] or [field, operator, value]')
  .transform((c, ctx) => {
    const op = c[1]!.toUpperCase() === 'EQ' ? 'IS' : c[1]!.toUpperCase();
    if (!(constraintOperators as readonly string[]).includes(op)) {
      ctx.addIssue({
        code: 'custom',
        path: [1],
        message: `unknown constraint operator '${c[1]}'; expected one of ${constraintOperators.join(', ')}`,
      });
      return z.NEVER;
    }
    return c.length === 3 ? [c[0]!, op, c[2]!] : [c[0]!, op];
  });


/**
 * Marathon's JSON readers coerced scalars: a number given as a string (`"cpus": "0.5"`, common in
 * templates that quote every value) was read as the number, and `"true"`/`"false"` as booleans.
 * Atoll reads them the same way and stores the number; a string that is not a number stays an
 * error naming the field.
 */
const NUMERIC = /^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const coerceNumber = (v: unknown) => (typeof v === 'string' && NUMERIC.test(v) ? Number(v) : v);
const coerceBoolean = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);
function num<T extends z.ZodType>(schema: T) {
  return z.preprocess(coerceNumber, schema);
}
function bool<T extends z.ZodType>(schema: T) {
  return z.preprocess(coerceBoolean, schema);
}
/** Marathon read `null` for a collection as the collection's default (`"env": null` is `{}`). */
function nullAsDefault<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === null ? undefined : v), schema);
}

const labelsSchema = z.record(z.string(), z.string());

// Nested objects (port mappings, docker, upgradeStrategy, …) ignore fields they do not know, as
// Marathon's readers did: Universe templates carry such fields (`upgradeStrategy.constraints`, a
// misspelt `minimunHealthCapacity`) and DC/OS installed them. They are dropped, not stored; unknown
// top-level fields are kept and returned.

export const portMappingSchema = z.object({
  containerPort: num(z.number().int().min(0).max(65535)).default(0),
  hostPort: num(z.number().int().min(0).max(65535)).optional(),
  servicePort: num(z.number().int().min(0).max(65535)).default(0),
  protocol: z
    .string()
    .regex(/^(tcp|udp|udp,tcp|tcp,udp)$/, 'protocol must be tcp, udp or udp,tcp')
    .default('tcp'),
  name: z.string().optional(),
  labels: labelsSchema.optional(),
  networkNames: z.array(z.string()).optional(),
});
export type PortMapping = z.infer<typeof portMappingSchema>;

export const portDefinitionSchema = z.object({
  port: num(z.number().int().min(0).max(65535)),
  // Marathon 1.x took (and ignored) a service port here, as older apps and Universe templates
  // still give it; read and dropped.
  servicePort: num(z.number().int().min(0).max(65535)).optional(),
  protocol: z
    .string()
    .regex(/^(tcp|udp|udp,tcp|tcp,udp)$/, 'protocol must be tcp, udp or udp,tcp')
    .default('tcp'),
  name: z.string().optional(),
  labels: labelsSchema.optional(),
});
export type PortDefinition = z.infer<typeof portDefinitionSchema>;

const volumeSchema = z.looseObject({
  containerPath: z.string(),
  hostPath: z.string().optional(),
  mode: z.enum(['RO', 'RW']).default('RW'),
  persistent: z.looseObject({ size: num(z.number()), type: z.string().optional() }).optional(),
  external: z.looseObject({ name: z.string().optional(), provider: z.string().optional() }).optional(),
});

const dockerSchema = z.object({
  image: z.string().min(1, 'container.docker.image must not be empty'),
  forcePullImage: bool(z.boolean()).default(false),
  privileged: bool(z.boolean()).default(false),
  parameters: nullAsDefault(z.array(z.object({ key: z.string(), value: z.string() })).default([])),
  // Deprecated (Marathon < 1.5): normalised into `networks` and `container.portMappings`.
  network: z.enum(['BRIDGE', 'HOST', 'USER', 'NONE']).optional(),
  portMappings: z.array(portMappingSchema).optional(),
  credential: z.unknown().optional(),
  pullConfig: z.unknown().optional(),
});

const containerSchema = z.object({
  type: z.enum(['DOCKER', 'MESOS']).default('DOCKER'),
  docker: dockerSchema.optional(),
  portMappings: z.array(portMappingSchema).optional(),
  volumes: nullAsDefault(z.array(volumeSchema).default([])),
  linuxInfo: z.unknown().optional(),
});

export const networkSchema = z.object({
  mode: z.enum(['host', 'container/bridge', 'container']).default('host'),
  name: z.string().optional(),
  labels: labelsSchema.optional(),
});
export type Network = z.infer<typeof networkSchema>;

export const healthCheckSchema = z.looseObject({
  protocol: z
    .enum(['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'])
    .default('HTTP'),
  path: z.string().optional(),
  portIndex: num(z.number().int().min(0)).optional(),
  port: num(z.number().int().min(0).max(65535)).optional(),
  command: z.object({ value: z.string() }).optional(),
  gracePeriodSeconds: num(z.number().int().min(0)).default(300),
  intervalSeconds: num(z.number().int().min(0)).default(60),
  timeoutSeconds: num(z.number().int().min(0)).default(20),
  maxConsecutiveFailures: num(z.number().int().min(0)).default(3),
  delaySeconds: num(z.number().int().min(0)).default(15),
  ignoreHttp1xx: bool(z.boolean()).default(false),
  ipProtocol: z.enum(['IPv4', 'IPv6']).optional(),
});
export type HealthCheck = z.infer<typeof healthCheckSchema>;

export const readinessCheckSchema = z.looseObject({
  name: z.string().default('readinessCheck'),
  protocol: z.enum(['HTTP', 'HTTPS']).default('HTTP'),
  path: z.string().default('/'),
  portName: z.string().default('http-api'),
  intervalSeconds: num(z.number().int().min(1)).default(30),
  timeoutSeconds: num(z.number().int().min(1)).default(10),
  httpStatusCodesForReady: z.array(num(z.number().int())).default([200]),
  preserveLastResponse: bool(z.boolean()).default(false),
});

const envValueSchema = z.union([z.string(), z.object({ secret: z.string() })]);

const unreachableStrategySchema = z.union([
  z.literal('disabled'),
  z.object({
    inactiveAfterSeconds: num(z.number().int().min(0)).default(0),
    expungeAfterSeconds: num(z.number().int().min(0)).default(0),
  }),
]);

// Unknown top-level fields are kept and returned (Marathon's newer fields, labels of tools).
const appDefinitionInput = z.looseObject({
  id: pathIdSchema,
  cmd: z.string().min(1, 'cmd must not be empty').nullish(),
  args: z.array(z.string()).nullish(),
  user: z.string().nullish(),
  env: nullAsDefault(z.record(z.string(), envValueSchema).default({})),
  instances: num(z.number().int().min(0, 'instances must be 0 or more')).default(1),
  cpus: num(z.number().min(0, 'cpus must be 0 or more')).default(1),
  mem: num(z.number().min(0, 'mem must be 0 or more')).default(128),
  disk: num(z.number().min(0, 'disk must be 0 or more')).default(0),
  gpus: num(z.number().int().min(0)).default(0),
  executor: z.string().default(''),
  constraints: nullAsDefault(z.array(constraintSchema).default([])),
  acceptedResourceRoles: z.array(z.string()).optional(),
  labels: nullAsDefault(labelsSchema.default({})),
  container: containerSchema.nullish(),
  networks: nullAsDefault(z.array(networkSchema).optional()),
  portDefinitions: nullAsDefault(z.array(portDefinitionSchema).optional()),
  // Deprecated: plain port numbers, normalised into portDefinitions.
  ports: z.array(num(z.number().int().min(0).max(65535))).optional(),
  requirePorts: bool(z.boolean()).default(false),
  healthChecks: nullAsDefault(z.array(healthCheckSchema).default([])),
  readinessChecks: nullAsDefault(z.array(readinessCheckSchema).default([])),
  dependencies: nullAsDefault(z.array(z.string()).default([])),
  upgradeStrategy: z
    .object({
      minimumHealthCapacity: num(z.number().min(0).max(1)).default(1),
      maximumOverCapacity: num(z.number().min(0).max(1)).default(1),
    })
    .default({ minimumHealthCapacity: 1, maximumOverCapacity: 1 }),
  backoffSeconds: num(z.number().min(0)).default(1),
  backoffFactor: num(z.number().min(1)).default(1.15),
  maxLaunchDelaySeconds: num(z.number().min(0)).default(300),
  killSelection: z.enum(['YOUNGEST_FIRST', 'OLDEST_FIRST']).default('YOUNGEST_FIRST'),
  unreachableStrategy: unreachableStrategySchema.default({ inactiveAfterSeconds: 0, expungeAfterSeconds: 0 }),
  taskKillGracePeriodSeconds: num(z.number().int().min(0)).nullish(),
  fetch: nullAsDefault(z.array(z.looseObject({ uri: z.string() })).default([])),
  uris: z.array(z.string()).optional(),
  secrets: nullAsDefault(z.record(z.string(), z.object({ source: z.string() })).default({})),
  ipAddress: z.unknown().optional(),
  residency: z.unknown().optional(),
  resourceLimits: z
    .object({
      cpus: z.union([num(z.number()), z.literal('unlimited')]).optional(),
      mem: z.union([num(z.number()), z.literal('unlimited')]).optional(),
    })
    .optional(),
  role: z.string().optional(),
  tty: bool(z.boolean()).optional(),
  storeUrls: z.array(z.string()).optional(),
  // Read-only fields that Marathon returns; accepted on input so a GET can be PUT back.
  version: z.string().optional(),
  versionInfo: z.unknown().optional(),
  tasksRunning: z.unknown().optional(),
  tasksStaged: z.unknown().optional(),
  tasksHealthy: z.unknown().optional(),
  tasksUnhealthy: z.unknown().optional(),
  deployments: z.unknown().optional(),
  tasks: z.unknown().optional(),
  lastTaskFailure: z.unknown().optional(),
});

export type AppDefinitionInput = z.input<typeof appDefinitionInput>;

/** The normalised app definition Atoll stores and returns (without read-only status fields). */
export const appDefinitionSchema = appDefinitionInput
  .superRefine((app, ctx) => {
    if (app.cmd && app.args && app.args.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['args'],
        message: 'AppDefinition must either contain one of cmd or args, not both',
      });
    }
    const dockerNet = app.container?.docker?.network;
    if (dockerNet && app.networks && app.networks.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['container', 'docker', 'network'],
        message: 'container.docker.network is deprecated and cannot be combined with networks',
      });
    }
    if (!app.cmd && !(app.args && app.args.length) && !app.container?.docker) {
      ctx.addIssue({
        code: 'custom',
        path: ['cmd'],
        message: 'an app needs cmd, args or container.docker.image',
      });
    }
  })
  .transform((app) => {
    const {
      version: _v,
      versionInfo: _vi,
      tasksRunning: _tr,
      tasksStaged: _ts,
      tasksHealthy: _th,
      tasksUnhealthy: _tu,
      deployments: _d,
      tasks: _t,
      lastTaskFailure: _l,
      ports,
      ...rest
    } = app;
    const container = rest.container ?? undefined;
    // Deprecated docker.network / docker.portMappings → networks / container.portMappings.
    let networks = rest.networks;
    let containerOut = container;
    if (container?.docker) {
      const { network, portMappings: legacyMappings, ...docker } = container.docker;
      if (network && !networks) {
        networks = [
          { mode: network === 'BRIDGE' ? 'container/bridge' : network === 'USER' ? 'container' : 'host' },
        ];
      }
      containerOut = {
        ...container,
        docker,
        portMappings: container.portMappings ?? legacyMappings,
      };
    }
    networks ??= [{ mode: 'host' }];
    let portDefinitions = rest.portDefinitions?.map(({ servicePort: _sp, ...d }) => d);
    if (!portDefinitions && ports) portDefinitions = ports.map((port) => ({ port, protocol: 'tcp' }));
    const bridged = networks.some((n) => n.mode !== 'host');
    if (bridged) {
      portDefinitions = undefined;
      if (containerOut) containerOut = { ...containerOut, portMappings: containerOut.portMappings ?? [] };
    } else {
      portDefinitions ??= [];
      if (containerOut) {
        const { portMappings: _pm, ...c } = containerOut;
        containerOut = c;
      }
    }
    return {
      ...rest,
      id: normalizeAppId(rest.id),
      cmd: rest.cmd ?? undefined,
      args: rest.args ?? undefined,
      user: rest.user ?? undefined,
      container: containerOut,
      networks,
      ...(portDefinitions ? { portDefinitions } : {}),
      taskKillGracePeriodSeconds: rest.taskKillGracePeriodSeconds ?? undefined,
    };
  });

export type AppDefinition = z.output<typeof appDefinitionSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };
export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `container.docker.image`. */
  path: string;
  message: string;
}

export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : i.message,
  }));
}

export function parseAppDefinition(input: unknown): ParseResult<AppDefinition> {
  const r = appDefinitionSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: toFieldIssues(r.error) };
}

/** The ports an app asks the node for, in order: what `PORT0..n` and `PORTS` describe. */
export interface RequestedPort {
  /** Fixed host port, or 0 for "any free port in the node's range". */
  hostPort: number;
  containerPort?: number;
  protocol: string;
  name?: string;
}

export function requestedPorts(app: AppDefinition): RequestedPort[] {
  const mappings = app.container?.portMappings;
  if (mappings) {
    // Marathon: in container/bridge mode a mapping without hostPort gets a random one (0); on a
    // user network ("container") it gets no host port at all.
    const bridge = app.networks.some((n) => n.mode === 'container/bridge');
    return mappings
      .filter((m) => m.hostPort !== undefined || bridge)
      .map((m) => ({
        hostPort: m.hostPort ?? 0,
        containerPort: m.containerPort,
        protocol: m.protocol,
        ...(m.name ? { name: m.name } : {}),
      }));
  }
  return (app.portDefinitions ?? []).map((p) => ({
    hostPort: app.requirePorts ? p.port : 0,
    protocol: p.protocol,
    ...(p.name ? { name: p.name } : {}),
  }));
}

export function isBridged(app: AppDefinition): boolean {
  return app.networks.some((n) => n.mode !== 'host');
}

import { z } from 'zod';
import { pathIdSchema, toFieldIssues, type ParseResult } from './app';

/**
 * Marathon pods (`/v2/pods`): several containers that run together on one node, share a network
 * namespace and volumes, and live and die together. Atoll stores a pod as an app whose resources
 * are the sum of its containers, with the pod definition kept beside it (`pod`), so placement,
 * deployments, back-off and failure handling are the apps' own.
 */
const endpointSchema = z.looseObject({
  name: z.string().min(1),
  containerPort: z.number().int().min(0).max(65535).optional(),
  hostPort: z.number().int().min(0).max(65535).optional(),
  protocol: z.array(z.enum(['tcp', 'udp'])).default(['tcp']),
  labels: z.record(z.string(), z.string()).optional(),
});

const podContainerSchema = z.looseObject({
  name: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'a container name is lowercase letters, digits and hyphens'),
  resources: z.looseObject({
    cpus: z.number().min(0).default(1),
    mem: z.number().min(0).default(128),
    disk: z.number().min(0).default(0),
  }),
  image: z
    .looseObject({
      kind: z.enum(['DOCKER', 'APPC']).default('DOCKER'),
      id: z.string().min(1),
      forcePull: z.boolean().default(false),
    })
    .optional(),
  exec: z
    .looseObject({
      command: z.union([
        z.strictObject({ shell: z.string().min(1) }),
        z.strictObject({ argv: z.array(z.string()).min(1) }),
      ]),
    })
    .optional(),
  endpoints: z.array(endpointSchema).default([]),
  environment: z
    .record(z.string(), z.union([z.string(), z.strictObject({ secret: z.string() })]))
    .default({}),
  volumeMounts: z
    .array(
      z.looseObject({ name: z.string(), mountPath: z.string().min(1), readOnly: z.boolean().default(false) }),
    )
    .default([]),
  labels: z.record(z.string(), z.string()).optional(),
});

export const podSchema = z
  .looseObject({
    id: pathIdSchema,
    labels: z.record(z.string(), z.string()).default({}),
    environment: z
      .record(z.string(), z.union([z.string(), z.strictObject({ secret: z.string() })]))
      .default({}),
    containers: z.array(podContainerSchema).min(1, 'a pod needs at least one container'),
    volumes: z.array(z.looseObject({ name: z.string().min(1), host: z.string().optional() })).default([]),
    networks: z
      .array(
        z.looseObject({
          mode: z.enum(['host', 'container', 'container/bridge']).default('host'),
          name: z.string().optional(),
        }),
      )
      .default([{ mode: 'host' }]),
    scaling: z
      .looseObject({
        kind: z.literal('fixed').default('fixed'),
        instances: z.number().int().min(0).default(1),
      })
      .default({ kind: 'fixed', instances: 1 }),
    scheduling: z
      .looseObject({
        placement: z
          .looseObject({
            constraints: z
              .array(
                z.looseObject({ fieldName: z.string(), operator: z.string(), value: z.string().optional() }),
              )
              .default([]),
          })
          .optional(),
        upgrade: z
          .looseObject({
            minimumHealthCapacity: z.number().min(0).max(1).default(1),
            maximumOverCapacity: z.number().min(0).max(1).default(1),
          })
          .optional(),
        killSelection: z.enum(['YOUNGEST_FIRST', 'OLDEST_FIRST']).optional(),
        unreachableStrategy: z.unknown().optional(),
      })
      .optional(),
    version: z.string().optional(),
  })
  .superRefine((pod, ctx) => {
    // Mesos runs an image-less pod container on the host filesystem; Atoll runs pods on Docker,
    // where such a container uses the pod's first image (see podImage). One image is needed.
    if (!pod.containers.some((c) => c.image)) {
      ctx.addIssue({
        code: 'custom',
        path: ['containers', 0, 'image'],
        message: 'a pod needs at least one container with an image (pods run on the Docker runtime)',
      });
    }
    const names = new Set<string>();
    pod.containers.forEach((c, i) => {
      if (names.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['containers', i, 'name'],
          message: `container name '${c.name}' is used twice`,
        });
      names.add(c.name);
      c.volumeMounts.forEach((m, j) => {
        if (!pod.volumes.some((v) => v.name === m.name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['containers', i, 'volumeMounts', j, 'name'],
            message: `no pod volume named '${m.name}'`,
          });
        }
      });
    });
  });

export type Pod = z.output<typeof podSchema>;

export function parsePod(input: unknown): ParseResult<Pod> {
  const r = podSchema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: toFieldIssues(r.error) };
}

/** The image a pod container runs: its own, or else the pod's first image. */
export function podImage(pod: Pod, container: Pod['containers'][number]): string {
  return container.image?.id ?? pod.containers.find((c) => c.image)!.image!.id;
}

/** The app definition (Marathon JSON) a pod is scheduled as: summed resources, its endpoints as ports. */
export function podAsApp(pod: Pod): Record<string, unknown> {
  const bridged = pod.networks.some((n) => n.mode !== 'host');
  const endpoints = pod.containers.flatMap((c) => c.endpoints);
  const sum = (f: (c: Pod['containers'][number]) => number) =>
    Math.round(pod.containers.reduce((a, c) => a + f(c), 0) * 1000) / 1000;
  return {
    id: pod.id,
    instances: pod.scaling.instances,
    cpus: sum((c) => c.resources.cpus),
    mem: sum((c) => c.resources.mem),
    disk: sum((c) => c.resources.disk),
    labels: pod.labels,
    constraints: (pod.scheduling?.placement?.constraints ?? []).map((c) =>
      c.value === undefined ? [c.fieldName, c.operator] : [c.fieldName, c.operator, c.value],
    ),
    ...(pod.scheduling?.upgrade ? { upgradeStrategy: pod.scheduling.upgrade } : {}),
    ...(pod.scheduling?.killSelection ? { killSelection: pod.scheduling.killSelection } : {}),
    networks: [{ mode: bridged ? 'container/bridge' : 'host' }],
    container: {
      type: 'DOCKER',
      docker: { image: podImage(pod, pod.containers[0]!) },
      ...(bridged
        ? {
            portMappings: endpoints.map((e) => ({
              containerPort: e.containerPort ?? 0,
              hostPort: e.hostPort ?? 0,
              name: e.name,
              protocol: e.protocol.join(','),
            })),
          }
        : {}),
    },
    ...(bridged
      ? {}
      : {
          portDefinitions: endpoints.map((e) => ({
            port: e.hostPort ?? 0,
            name: e.name,
            protocol: e.protocol.join(','),
          })),
        }),
    pod,
  };
}

import {
  healthCheckSpecSchema,
  readinessCheckSpecSchema,
  type HealthCheckSpec,
  type ReadinessCheckSpec,
  type TaskPort,
  type TaskSpec,
} from '@atoll/spec';
import { z } from 'zod';

/**
 * What the agent needs to keep checking a task: its health and readiness checks, and the grace
 * period of a kill for failing them. Persisted with the task (container label, exec record) so a
 * restarted agent can check re-adopted tasks again.
 */
export const taskChecksSchema = z.object({
  healthChecks: z.array(healthCheckSpecSchema).default([]),
  readinessChecks: z.array(readinessCheckSpecSchema).default([]),
  killGracePeriodSeconds: z.number().min(0).default(3),
});
export type TaskChecks = z.infer<typeof taskChecksSchema>;

/** The checks of a task spec; undefined when it has none (nothing to run, nothing to persist). */
export function taskChecksOf(spec: TaskSpec): TaskChecks | undefined {
  if (spec.healthChecks.length === 0 && spec.readinessChecks.length === 0) return undefined;
  return {
    healthChecks: spec.healthChecks,
    readinessChecks: spec.readinessChecks,
    killGracePeriodSeconds: spec.killGracePeriodSeconds,
  };
}

/** Parses persisted checks (label or record); undefined when absent or unreadable. */
export function parseTaskChecks(raw: unknown): TaskChecks | undefined {
  const parsed = taskChecksSchema.safeParse(typeof raw === 'string' ? safeJson(raw) : raw);
  if (!parsed.success) return undefined;
  const checks = parsed.data;
  return checks.healthChecks.length > 0 || checks.readinessChecks.length > 0 ? checks : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The host port a network check probes at 127.0.0.1. Control resolves it; a port of 0 (or none)
 * means control left the choice to the runtime, so the task's first port as bound is used.
 */
export function probePort(
  check: Pick<HealthCheckSpec, 'port'> | Pick<ReadinessCheckSpec, 'port'>,
  ports: readonly TaskPort[],
): number | undefined {
  if (check.port !== undefined && check.port > 0) return check.port;
  const first = ports[0]?.hostPort;
  return first !== undefined && first > 0 ? first : undefined;
}

/** Marathon's path rule: a path without a leading slash gets one. */
export function absolutePath(path: string | undefined): string {
  const p = path ?? '';
  return p.startsWith('/') ? p : `/${p}`;
}

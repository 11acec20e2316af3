import {
  containerLabels,
  type AppDefinition,
  type JobRunSpec,
  type TaskPort,
  type TaskSpec,
} from '@atoll/spec';
import type { Services } from '../context';
import { taskSpecOf } from './jobs';
import { buildTaskSpec } from './reconciler';
import {
  appSecretUse,
  applyTaskSecrets,
  jobSecretUse,
  resolveTaskSecrets,
  usesSecrets,
  type SecretUse,
} from './secrets';

/** A task still STAGING this long after its launch was sent never reached its agent (control.ts). */
export const LAUNCH_RESEND_MS = 10_000;

/**
 * A new leader sends the launch of every app task still STAGING from before it led, again.
 *
 * The reconciler writes a task row (STAGING) and then sends its launch; a leader that dies in
 * between — or whose message to the replica holding the agent was still on the wire — leaves a
 * task no agent heard of, which would count as an instance for ever. Agents ignore a launch of a
 * task they already have (they answer its state), so sending it again never starts a task twice.
 * Tasks whose node no replica holds now are left to the agent's next hello (which marks the ones
 * it does not have TASK_GONE, so the reconciler replaces them). A job run's staged task is sent
 * again the same way, rebuilt from the run's spec as jobs.ts built it.
 *
 * Returns how many launches were sent.
 */
export async function resendStagedLaunches(
  s: Pick<Services, 'db' | 'agents' | 'secrets' | 'log'>,
  before: Date,
): Promise<number> {
  const { rows } = await s.db.pool.query<{
    id: string;
    app_id: string;
    app_version: string;
    node_id: string;
    host: string;
    ports: TaskPort[];
    config_version: string;
    definition: AppDefinition;
    version_definition: AppDefinition | null;
  }>(
    `SELECT t.id, t.app_id, t.app_version, t.node_id, t.host, t.ports, a.config_version, a.definition,
            v.definition AS version_definition
     FROM tasks t JOIN apps a ON a.id = t.app_id
     LEFT JOIN app_versions v ON v.app_id = t.app_id AND v.version = t.app_version
     WHERE t.state = 'TASK_STAGING' AND t.staged_at < $1 AND t.kill_requested_at IS NULL AND NOT a.deleting`,
    [before],
  );
  const { rows: runTasks } = await s.db.pool.query<{
    id: string;
    node_id: string;
    host: string;
    run_id: string;
    job_id: string;
    run: JobRunSpec;
  }>(
    `SELECT t.id, t.node_id, t.host, r.id AS run_id, r.job_id, r.run
     FROM tasks t JOIN job_runs r ON r.id = t.run_id
     WHERE t.state = 'TASK_STAGING' AND t.staged_at < $1 AND t.kill_requested_at IS NULL
       AND r.stop_requested_at IS NULL`,
    [before],
  );
  let sent = 0;
  const cache = new Map<string, Promise<string>>();
  const send = async (taskId: string, nodeId: string, spec: TaskSpec, use: SecretUse) => {
    try {
      spec.labels[containerLabels.nodeId] = nodeId;
      if (usesSecrets(use)) applyTaskSecrets(spec, await resolveTaskSecrets(s, use, cache));
      if (s.agents.send(nodeId, { type: 'launchTask', task: spec })) sent++;
    } catch (err) {
      // A secret gone since: the first launch had failed the task the same way.
      s.log.warn({ err, taskId }, 'could not send a staged task again');
    }
  };
  for (const t of runTasks) {
    if (!s.agents.isConnected(t.node_id)) continue;
    const spec = taskSpecOf(
      { id: t.run_id, jobId: t.job_id, run: t.run },
      { id: t.id, host: t.host, nodeId: t.node_id },
    );
    await send(t.id, t.node_id, spec, jobSecretUse(t.run));
  }
  for (const t of rows) {
    if (!s.agents.isConnected(t.node_id)) continue;
    // The reconciler builds a launch from the app's current definition at its configVersion.
    const def = t.app_version === t.config_version ? t.definition : t.version_definition;
    if (!def) continue;
    const spec = buildTaskSpec(def, t.app_version, {
      id: t.id,
      host: t.host,
      nodeId: t.node_id,
      ports: t.ports,
    });
    await send(t.id, t.node_id, spec, appSecretUse(def));
  }
  if (sent > 0) s.log.info({ sent }, 'sent again the launches of tasks staged before this leader');
  return sent;
}

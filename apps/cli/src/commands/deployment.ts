import type { Command } from 'commander';
import type { AtollClient } from '../client';
import type { CommandContext } from '../context';
import { CliError, ExitCode } from '../errors';
import type { ClusterEvent } from '../events';
import { deploymentProgress, deploymentTable, outcomeLine, type DeploymentOutcome } from '../format';
import { watchEvents, watchPrinter } from '../watch';

/** How often a watched deployment is fetched again when no event came. */
const DEPLOYMENT_WATCH_IDLE_MS = 2_000;
/**
 * A deployment gone from the list without a success or failure event (a forced change cancels
 * the running one silently) counts as canceled once this long has passed without one.
 */
const OUTCOME_GRACE_MS = 5_000;
/** Exit code of a watch the user interrupted (as a shell reports SIGINT). */
const EXIT_INTERRUPTED = 130;

type DeploymentView = Awaited<ReturnType<AtollClient['deployments']['list']['query']>>[number];

export function registerDeploymentCommands(program: Command, ctx: CommandContext): void {
  const deployment = program.command('deployment').description('changes to apps being rolled out');

  deployment
    .command('list')
    .description('list running deployments with their progress')
    .action(async () => {
      const list = await (await ctx.client()).deployments.list.query();
      ctx.print(list, () => deploymentTable(list));
    });

  deployment
    .command('watch')
    .description(
      'show the progress of a deployment (default: of all running ones) until it ends: ' +
        'exit 0 when it finished, 1 when it was canceled or failed, 130 on Ctrl-C',
    )
    .argument('[id]', 'deployment id (or a unique beginning of one)')
    .action(async (id: string | undefined) => {
      const code = await watchDeployments(ctx, id);
      if (code !== 0) throw new ExitCode(code);
    });

  deployment
    .command('rollback')
    .description('cancel a deployment and roll its apps back to their previous versions (a new deployment)')
    .argument('<id>', 'deployment id (or a unique beginning of one)')
    .action(async (id: string) => {
      const client = await ctx.client();
      const full = await resolveDeploymentId(client, id);
      const res = await client.deployments.cancel.mutate({ id: full, force: false });
      ctx.print({ canceled: full, ...(res ?? {}) }, () =>
        res
          ? `Canceled deployment ${full}; rolling back (deployment ${res.deploymentId})`
          : `Canceled deployment ${full}`,
      );
    });

  deployment
    .command('stop')
    .description('stop a deployment without rollback: its apps stay as they are now')
    .argument('<id>', 'deployment id (or a unique beginning of one)')
    .action(async (id: string) => {
      const client = await ctx.client();
      const full = await resolveDeploymentId(client, id);
      await client.deployments.cancel.mutate({ id: full, force: true });
      ctx.print({ stopped: full }, () => `Stopped deployment ${full}; its apps stay as they are now`);
    });
}

/**
 * A running deployment's id from what the user typed: the id itself or a unique beginning of a
 * running one's. Anything else is passed on as is, for the API to say it does not exist.
 */
export async function resolveDeploymentId(client: AtollClient, typed: string): Promise<string> {
  return matchDeploymentId(await client.deployments.list.query(), typed);
}

export function matchDeploymentId(running: Array<{ id: string }>, typed: string): string {
  const id = typed.trim().toLowerCase();
  if (running.some((d) => d.id === id)) return id;
  const matches = running.filter((d) => d.id.startsWith(id));
  if (id !== '' && matches.length === 1) return matches[0]!.id;
  if (matches.length > 1) {
    throw new CliError(`'${typed}' matches several deployments: ${matches.map((d) => d.id).join(', ')}`);
  }
  return id;
}

/** The outcome event of a deployment, if `event` is one. */
export function outcomeOf(event: ClusterEvent): DeploymentOutcome | null {
  const id = event.data.id;
  if (typeof id !== 'string') return null;
  if (event.eventType === 'deployment_success') return { id, ok: true };
  if (event.eventType === 'deployment_failed') {
    const reason = event.data.reason;
    return { id, ok: false, reason: typeof reason === 'string' ? reason : 'failed' };
  }
  return null;
}

/** The stored success or failure event of a deployment that has ended, if control recorded one. */
async function storedOutcome(
  client: AtollClient,
  id: string,
  subject: string | undefined,
): Promise<DeploymentOutcome | undefined> {
  const found = await Promise.all(
    ['deployment_success', 'deployment_failed'].map((type) =>
      client.cluster.events.query({ type, limit: subject ? 200 : 1000, ...(subject ? { subject } : {}) }),
    ),
  );
  for (const e of found.flat()) {
    const o = outcomeOf({ eventType: e.type, data: e.payload });
    if (o?.id === id) return o;
  }
  return undefined;
}

async function watchDeployments(ctx: CommandContext, typed: string | undefined): Promise<number> {
  const client = await ctx.client();
  const print = watchPrinter(ctx);
  let watched: string[] | null = null;
  const subjects = new Map<string, string>();
  const outcomes = new Map<string, DeploymentOutcome>();
  const goneSince = new Map<string, number>();

  return watchEvents(ctx, {
    idleRefreshMs: DEPLOYMENT_WATCH_IDLE_MS,
    interruptedCode: EXIT_INTERRUPTED,
    onEvent: (e) => {
      const o = outcomeOf(e);
      if (o) outcomes.set(o.id, o);
    },
    refresh: async () => {
      const list = await client.deployments.list.query();
      if (watched === null) {
        if (typed === undefined) {
          if (list.length === 0) {
            print({ deployments: [], ended: [] }, () => 'No deployments.\n');
            return 0;
          }
          watched = list.map((d) => d.id);
        } else {
          const id = matchDeploymentId(list, typed);
          if (!list.some((d) => d.id === id)) {
            // Not running: it ended before we looked, or it never was.
            const o = outcomes.get(id) ?? (await storedOutcome(client, id, undefined));
            if (!o) throw new CliError(`no deployment ${typed}`, { hints: ['see `atoll deployment list`'] });
            print({ deployments: [], ended: [o] }, () => deploymentProgress([], [o]));
            return finish([o]);
          }
          watched = [id];
        }
      }
      const running: DeploymentView[] = [];
      for (const id of watched) {
        const d = list.find((x) => x.id === id);
        if (d && !outcomes.has(id)) {
          running.push(d);
          if (d.affectedApps[0]) subjects.set(id, d.affectedApps[0]);
          continue;
        }
        if (outcomes.has(id)) continue;
        const o = await storedOutcome(client, id, subjects.get(id));
        if (o) {
          outcomes.set(id, o);
          continue;
        }
        const since = goneSince.get(id) ?? Date.now();
        goneSince.set(id, since);
        if (Date.now() - since >= OUTCOME_GRACE_MS) {
          outcomes.set(id, {
            id,
            ok: false,
            reason: 'ended without finishing (canceled by a forced change?)',
          });
        }
      }
      const ended = watched.flatMap((id) => outcomes.get(id) ?? []);
      print({ deployments: running, ended }, () => deploymentProgress(running, ended));
      return ended.length === watched.length ? finish(ended) : undefined;
    },
  });

  function finish(ended: DeploymentOutcome[]): number {
    const failed = ended.filter((o) => !o.ok);
    if (failed.length === 0) return 0;
    for (const o of failed)
      ctx.io.stderr.write(`error: ${outcomeLine(o).replace(/^Deployment/, 'deployment')}\n`);
    return 1;
  }
}

import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { podDetail, podTable, type PodStatusRow } from '../format';
import { normalizeAppId, readDefinition } from './app';

export function registerPodCommands(program: Command, ctx: CommandContext): void {
  const pod = program
    .command('pod')
    .description('pods (Marathon pods): containers that run together, instance by instance');

  pod
    .command('add')
    .description('create a pod from a Marathon pod definition (JSON)')
    .argument('<file.json|->', 'the pod definition; - reads it from standard input')
    .action(async (file: string) => {
      const definition = await readDefinition(file, ctx.io, 'pod');
      const res = await (await ctx.client()).pods.create.mutate({ definition });
      ctx.print(res, () => `Created pod ${res.pod.id} (deployment ${res.deploymentId})`);
    });

  pod
    .command('list')
    .description('list pods with their status and running instances')
    .action(async () => {
      const client = await ctx.client();
      const pods = await client.pods.list.query();
      // The table's status and instances come from each pod's status; --json prints the pods only.
      // A pod removed between the two calls has no status: it shows as `-`.
      const statuses = ctx.json
        ? []
        : await Promise.all(pods.map((p) => client.pods.status.query({ id: p.id }).catch(() => undefined)));
      const byId = new Map<string, PodStatusRow>();
      for (const s of statuses) if (s) byId.set(s.id, s as PodStatusRow);
      ctx.print(pods, () => podTable(pods, byId));
    });

  pod
    .command('show')
    .description('show a pod, its status and its instances')
    .argument('<id>', 'pod id, e.g. /simple-pod')
    .action(async (id: string) => {
      const client = await ctx.client();
      const [view, status] = await Promise.all([
        client.pods.get.query({ id }),
        client.pods.status.query({ id }),
      ]);
      ctx.print(status, () => podDetail(view, status as PodStatusRow));
    });

  pod
    .command('remove')
    .description('stop all instances of a pod and delete it')
    .argument('<id>', 'pod id')
    .option('--force', 'override the lock of a running deployment')
    .action(async (id: string, opts: { force?: boolean }) => {
      const res = await (await ctx.client()).pods.delete.mutate({ id, force: opts.force ?? false });
      ctx.print(res, () => `Removing pod ${normalizeAppId(id)} (deployment ${res.deploymentId})`);
    });
}

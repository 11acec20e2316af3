import { InvalidArgumentError, type Command } from 'commander';
import type { CommandContext } from '../context';
import { groupTree } from '../format';
import { normalizeAppId, readDefinition } from './app';

export function registerGroupCommands(program: Command, ctx: CommandContext): void {
  const group = program
    .command('group')
    .description('groups of apps (Marathon groups): app ids under a common path');

  group
    .command('add')
    .description('create every app of a Marathon group definition (JSON) as one deployment')
    .argument('<file.json|->', 'the group definition; - reads it from standard input')
    .action(async (file: string) => {
      const definition = await readDefinition(file, ctx.io, 'group');
      const res = await (await ctx.client()).groups.create.mutate({ definition });
      const id = typeof definition.id === 'string' ? normalizeAppId(definition.id) : 'group';
      ctx.print(res, () => `Created group ${id} (deployment ${res.deploymentId})`);
    });

  group
    .command('show')
    .description('show a group as a tree of its subgroups and apps')
    .argument('[id]', 'group id, e.g. /prod', '/')
    .action(async (id: string) => {
      const client = await ctx.client();
      // The tree leaves out the apps' status: `app list` has it.
      const [tree, apps] = await Promise.all([client.groups.get.query({ id }), client.apps.list.query()]);
      ctx.print(tree, () => groupTree(tree, new Map(apps.map((a) => [a.id, a.atoll.status]))));
    });

  group
    .command('scale')
    .description('multiply the instances of every app in a group (rounded up)')
    .argument('<id>', 'group id')
    .argument('<factor>', 'the factor, e.g. 2 or 0.5', parseFactor)
    .option('--force', 'override the lock of a running deployment')
    .action(async (id: string, factor: number, opts: { force?: boolean }) => {
      const res = await (
        await ctx.client()
      ).groups.update.mutate({ id, definition: { scaleBy: factor }, force: opts.force ?? false });
      ctx.print(
        res,
        () => `Scaling group ${normalizeAppId(id)} by ${factor} (deployment ${res.deploymentId})`,
      );
    });

  group
    .command('remove')
    .description('stop all tasks of every app in a group and delete the apps')
    .argument('<id>', 'group id')
    .option('--force', 'override the lock of a running deployment')
    .action(async (id: string, opts: { force?: boolean }) => {
      const res = await (await ctx.client()).groups.delete.mutate({ id, force: opts.force ?? false });
      ctx.print(res, () => `Removing group ${normalizeAppId(id)} (deployment ${res.deploymentId})`);
    });
}

/** A scale factor: a number greater than 0, e.g. `2`, `1.5` or `.5`. */
export function parseFactor(value: string): number {
  const v = value.trim();
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v)) throw new InvalidArgumentError('It must be a number greater than 0.');
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError('It must be a number greater than 0.');
  if (!Number.isFinite(n)) throw new InvalidArgumentError('It is too large.');
  return n;
}

import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { CommandContext } from '../context';
import { CliError } from '../errors';
import { appDetail, appTable } from '../format';

export function registerAppCommands(program: Command, ctx: CommandContext): void {
  const app = program.command('app').description('long-running services (Marathon apps)');

  app
    .command('list')
    .description('list apps')
    .action(async () => {
      const apps = await (await ctx.client()).apps.list.query();
      ctx.print(apps, () => appTable(apps));
    });

  app
    .command('add')
    .description('create an app from a Marathon app definition (JSON)')
    .argument('<file.json>', 'the app definition')
    .action(async (file: string) => {
      const definition = await readDefinition(file);
      const res = await (await ctx.client()).apps.create.mutate({ definition });
      ctx.print(res, () => `Created app ${res.app.id} (deployment ${res.deploymentId})`);
    });

  app
    .command('show')
    .description('show an app and its tasks')
    .argument('<id>', 'app id, e.g. /web')
    .action(async (id: string) => {
      const view = await (await ctx.client()).apps.get.query({ id });
      ctx.print(view, () => appDetail(view));
    });

  app
    .command('scale')
    .description('change the number of instances of an app')
    .argument('<id>', 'app id')
    .argument('<instances>', 'wanted number of instances', parseInstances)
    .option('--force', 'override the lock of a running deployment')
    .action(async (id: string, instances: number, opts: { force?: boolean }) => {
      const res = await (await ctx.client()).apps.scale.mutate({ id, instances, force: opts.force ?? false });
      ctx.print(
        res,
        () =>
          `Scaling ${id} to ${instances} instance${instances === 1 ? '' : 's'} (deployment ${res.deploymentId})`,
      );
    });

  app
    .command('remove')
    .description('stop all tasks of an app and delete it')
    .argument('<id>', 'app id')
    .option('--force', 'override the lock of a running deployment')
    .action(async (id: string, opts: { force?: boolean }) => {
      const res = await (await ctx.client()).apps.delete.mutate({ id, force: opts.force ?? false });
      ctx.print(res, () => `Removing app ${id} (deployment ${res.deploymentId})`);
    });
}

export function parseInstances(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('It must be a whole number, 0 or more.');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('It is too large.');
  return n;
}

async function readDefinition(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError(`${file} must hold one app definition (a JSON object)`);
  }
  return value as Record<string, unknown>;
}

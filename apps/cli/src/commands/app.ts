import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { CliIO, CommandContext } from '../context';
import { CliError } from '../errors';
import { appDetail, appTable, versionTable } from '../format';
import { watchEvents, watchPrinter } from '../watch';

/** How often a watched app list or app is fetched again when no event came. */
const APP_WATCH_IDLE_MS = 10_000;

export function registerAppCommands(program: Command, ctx: CommandContext): void {
  const app = program.command('app').description('long-running services (Marathon apps)');

  app
    .command('list')
    .description('list apps')
    .option('--watch', 'print the list again on every change, until Ctrl-C')
    .action(async (opts: { watch?: boolean }) => {
      const client = await ctx.client();
      if (!opts.watch) {
        const apps = await client.apps.list.query();
        ctx.print(apps, () => appTable(apps));
        return;
      }
      const print = watchPrinter(ctx);
      await watchEvents(ctx, {
        idleRefreshMs: APP_WATCH_IDLE_MS,
        interruptedCode: 0,
        refresh: async () => {
          const apps = await client.apps.list.query();
          print(apps, () => appTable(apps));
          return undefined;
        },
      });
    });

  app
    .command('add')
    .description('create an app from a Marathon app definition (JSON)')
    .argument('<file.json>', 'the app definition; - reads it from standard input')
    .action(async (file: string) => {
      const definition = await readDefinition(file, ctx.io);
      const res = await (await ctx.client()).apps.create.mutate({ definition });
      ctx.print(res, () => `Created app ${res.app.id} (deployment ${res.deploymentId})`);
    });

  app
    .command('show')
    .description('show an app, its health and its tasks')
    .argument('<id>', 'app id, e.g. /web')
    .option('--watch', 'show it again on every change, until Ctrl-C')
    .action(async (id: string, opts: { watch?: boolean }) => {
      const client = await ctx.client();
      if (!opts.watch) {
        const view = await client.apps.get.query({ id });
        ctx.print(view, () => appDetail(view));
        return;
      }
      const print = watchPrinter(ctx);
      await watchEvents(ctx, {
        idleRefreshMs: APP_WATCH_IDLE_MS,
        interruptedCode: 0,
        refresh: async () => {
          const view = await client.apps.get.query({ id });
          print(view, () => appDetail(view));
          return undefined;
        },
      });
    });

  app
    .command('update')
    .description('replace an app’s definition (a new version, rolled out by a deployment)')
    .argument('<id>', 'app id')
    .argument('<file.json|->', 'the new app definition (JSON); - reads it from standard input')
    .option('--partial', 'merge the file’s fields into the current definition instead of replacing it')
    .option('--force', 'override the lock of a running deployment')
    .action(async (id: string, file: string, opts: { partial?: boolean; force?: boolean }) => {
      const definition = await readDefinition(file, ctx.io);
      if (typeof definition.id === 'string' && normalizeAppId(definition.id) !== normalizeAppId(id)) {
        throw new CliError(
          `${file === '-' ? 'the definition' : file} is for app ${definition.id}, not ${id}`,
          {
            hints: ['remove "id" from the file or give the matching app id'],
          },
        );
      }
      const res = await (
        await ctx.client()
      ).apps.update.mutate({
        id,
        definition,
        partial: opts.partial ?? false,
        force: opts.force ?? false,
      });
      ctx.print(res, () =>
        res.created
          ? `Created app ${normalizeAppId(id)} (deployment ${res.deploymentId})`
          : `Updating app ${normalizeAppId(id)} to version ${res.version} (deployment ${res.deploymentId})`,
      );
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
    .command('restart')
    .description('replace every task of an app with a new one, rolling (a deployment)')
    .argument('<id>', 'app id')
    .option('--force', 'override the lock of a running deployment')
    .action(async (id: string, opts: { force?: boolean }) => {
      const res = await (await ctx.client()).apps.restart.mutate({ id, force: opts.force ?? false });
      ctx.print(res, () => `Restarting app ${normalizeAppId(id)} (deployment ${res.deploymentId})`);
    });

  app
    .command('kill')
    .description('kill all tasks of an app; it starts replacements unless --scale')
    .argument('<id>', 'app id')
    .option('--scale', 'lower the app’s instances instead of replacing the tasks', false)
    .action(async (id: string, opts: { scale: boolean }) => {
      const client = await ctx.client();
      // The app first: an unknown one is an error, not an app without tasks.
      const view = await client.apps.get.query({ id });
      const taskIds = (await client.tasks.list.query({ appId: view.id })).map((t) => t.id);
      if (taskIds.length === 0) {
        ctx.print([], () => `App ${view.id} has no tasks to kill`);
        return;
      }
      const killed = await client.tasks.kill.mutate({ taskIds, scale: opts.scale });
      ctx.print(killed, () =>
        killed
          .map((t) => `Killing task ${t.id} of ${t.appId}${opts.scale ? ' (scaling the app down)' : ''}`)
          .join('\n'),
      );
    });

  app
    .command('rollback')
    .description('deploy a stored version of an app again (see `app version list`)')
    .argument('<id>', 'app id')
    .argument('<version>', 'the version to go back to')
    .option('--force', 'override the lock of a running deployment')
    .action(async (id: string, version: string, opts: { force?: boolean }) => {
      const res = await (
        await ctx.client()
      ).apps.rollback.mutate({ id, version, force: opts.force ?? false });
      ctx.print(
        res,
        () =>
          `Rolling back ${normalizeAppId(id)} to version ${version} as version ${res.version} (deployment ${res.deploymentId})`,
      );
    });

  const version = app.command('version').description('stored versions of an app definition');

  version
    .command('list')
    .description('list the versions of an app, newest first')
    .argument('<id>', 'app id')
    .action(async (id: string) => {
      const client = await ctx.client();
      const [versions, view] = await Promise.all([
        client.apps.versions.query({ id }),
        client.apps.get.query({ id }),
      ]);
      ctx.print(versions, () => versionTable(versions, view.version));
    });

  version
    .command('show')
    .description('print one version of an app definition (JSON)')
    .argument('<id>', 'app id')
    .argument('<version>', 'the version')
    .action(async (id: string, v: string) => {
      const definition = await (await ctx.client()).apps.version.query({ id, version: v });
      ctx.out(JSON.stringify(definition, null, 2));
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

/** App ids as control stores them: absolute, without empty segments (`web/` → `/web`). */
export function normalizeAppId(id: string): string {
  return '/' + id.split('/').filter(Boolean).join('/');
}

/** Reads one app (or group or pod) definition, a JSON object, from a file, or from standard input for `-`. */
export async function readDefinition(
  file: string,
  io: CliIO,
  kind: 'app' | 'group' | 'pod' = 'app',
): Promise<Record<string, unknown>> {
  return readJsonObject(file, io, {
    what: 'the definition',
    mustHold: `one ${kind} definition (a JSON object)`,
  });
}

/**
 * Reads a JSON object from a file, or from standard input for `-`. Errors name the file (or
 * standard input): `what` says what was to be read, `mustHold` what the file must hold.
 */
export async function readJsonObject(
  file: string,
  io: CliIO,
  { what, mustHold }: { what: string; mustHold: string },
): Promise<Record<string, unknown>> {
  const name = file === '-' ? 'standard input' : file;
  let text: string;
  if (file === '-') {
    if (!io.readStdin) throw new CliError(`cannot read ${what}: no standard input`);
    text = await io.readStdin();
  } else {
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new CliError(
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      );
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError(`${name} must hold ${mustHold}`);
  }
  return value as Record<string, unknown>;
}

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AtollClient } from '../client';
import type { CommandContext } from '../context';
import { CliError } from '../errors';
import { formatTable, timestamp } from '../format';

export type SecretRow = Awaited<ReturnType<AtollClient['secrets']['list']['query']>>[number];

export function secretTable(secrets: SecretRow[]): string {
  return formatTable(
    ['PATH', 'DESCRIPTION', 'KEY', 'USED BY', 'UPDATED'],
    secrets.map((s) => [
      s.path,
      s.description ?? '-',
      s.keyId,
      [...s.usedBy.apps, ...s.usedBy.jobs.map((j) => `job ${j}`)].join(', ') || '-',
      timestamp(s.updatedAt),
    ]),
  );
}

interface ValueOptions {
  value?: string;
  valueFile?: string;
}

/**
 * The value to store: `--value`, `--value-file <file>` (`-` for standard input), else typed at the
 * terminal without echo, else standard input. Standard input loses one trailing newline (what
 * `echo` adds); a file is taken byte for byte.
 */
async function readValue(
  ctx: CommandContext,
  opts: ValueOptions,
  required: boolean,
): Promise<string | undefined> {
  if (opts.value !== undefined && opts.valueFile !== undefined)
    throw new CliError('give --value or --value-file, not both');
  if (opts.value !== undefined) return opts.value;
  if (opts.valueFile !== undefined && opts.valueFile !== '-') {
    try {
      return await readFile(opts.valueFile, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read --value-file ${opts.valueFile}: ${(err as Error).message}`);
    }
  }
  if (!required && opts.valueFile === undefined) return undefined;
  if (opts.valueFile === undefined && ctx.io.readSecret) return ctx.io.readSecret('Value: ');
  if (!ctx.io.readStdin)
    throw new CliError('no value: give --value, --value-file or pipe it to standard input');
  return (await ctx.io.readStdin()).replace(/\r?\n$/, '');
}

/** `atoll secret …`: the secret store (values go in, never come out). */
export function registerSecretCommands(program: Command, ctx: CommandContext): void {
  const secret = program
    .command('secret')
    .description('secrets by path: values are stored encrypted and never shown');

  secret
    .command('list')
    .description('list secrets: path, description, key, and the apps and jobs that use each')
    .action(async () => {
      const client = await ctx.client();
      const secrets = await client.secrets.list.query();
      ctx.print(secrets, () => (secrets.length === 0 ? 'No secrets.' : secretTable(secrets)));
    });

  secret
    .command('create')
    .description('create a secret; the value from --value, --value-file, the terminal or standard input')
    .argument('<path>', 'the secret path, e.g. /team-a/db-password')
    .option('--value <value>', 'the value (visible in your shell history: prefer --value-file or stdin)')
    .option('--value-file <file>', 'read the value from a file (- for standard input)')
    .option('--description <text>', 'what it is for')
    .action(async (path: string, opts: ValueOptions & { description?: string }) => {
      const value = (await readValue(ctx, opts, true))!;
      const client = await ctx.client();
      const created = await client.secrets.create.mutate({
        path,
        value,
        ...(opts.description !== undefined ? { description: opts.description } : {}),
      });
      ctx.print(created, () => `Created secret ${created.path}`);
    });

  secret
    .command('update')
    .description('change a secret’s value and/or description')
    .argument('<path>', 'the secret path')
    .option('--value <value>', 'the new value')
    .option('--value-file <file>', 'read the new value from a file (- for standard input)')
    .option('--description <text>', 'the new description ("" clears it)')
    .action(async (path: string, opts: ValueOptions & { description?: string }) => {
      const value = await readValue(ctx, opts, opts.description === undefined);
      const client = await ctx.client();
      const updated = await client.secrets.update.mutate({
        path,
        ...(value !== undefined ? { value } : {}),
        ...(opts.description !== undefined
          ? { description: opts.description === '' ? null : opts.description }
          : {}),
      });
      ctx.print(updated, () => `Updated secret ${updated.path}`);
    });

  secret
    .command('remove')
    .alias('rm')
    .description('delete a secret (apps and jobs that use it cannot start new tasks until it exists again)')
    .argument('<path>', 'the secret path')
    .action(async (path: string) => {
      const client = await ctx.client();
      const removed = await client.secrets.remove.mutate({ path });
      const users = [...removed.usedBy.apps, ...removed.usedBy.jobs.map((j) => `job ${j}`)];
      if (users.length > 0 && !ctx.json)
        ctx.warn(`still referred to by ${users.join(', ')}: their next tasks will fail to start`);
      ctx.print(removed, () => `Removed secret ${removed.path}`);
    });

  secret
    .command('keys')
    .description('the keyring: the current key and how many secrets each key holds')
    .action(async () => {
      const client = await ctx.client();
      const keys = await client.secrets.keys.query();
      ctx.print(keys, () =>
        formatTable(
          ['KEY', 'CURRENT', 'CONFIGURED', 'SECRETS'],
          keys.keys.map((k) => [
            k.id,
            k.id === keys.currentKeyId ? 'yes' : '',
            k.configured ? 'yes' : 'NO',
            String(k.secrets),
          ]),
        ),
      );
    });

  secret
    .command('rotate')
    .description('re-encrypt every secret under the current (first) key (admins)')
    .action(async () => {
      const client = await ctx.client();
      const r = await client.secrets.rotate.mutate();
      ctx.print(r, () =>
        [
          `Re-encrypted ${r.total - r.failed.length} of ${r.total} secrets under key ${r.currentKeyId} (${r.rotated} moved from an older key)`,
          ...r.failed.map((f) => `  could not read ${f.path} (key ${f.keyId}): ${f.error}`),
        ].join('\n'),
      );
      if (r.failed.length > 0)
        throw new CliError(`${r.failed.length} secret(s) could not be read: add their keys to the keyring`);
    });
}

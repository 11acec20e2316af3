import type { Command } from 'commander';
import type { AtollClient } from '../client';
import type { CommandContext } from '../context';
import { CliError } from '../errors';
import { formatTable, timestamp } from '../format';
import { findUser } from './user';

export type TokenRow = Awaited<ReturnType<AtollClient['auth']['listApiTokens']['query']>>[number];

export function tokenTable(tokens: TokenRow[]): string {
  return formatTable(
    ['ID', 'NAME', 'CREATED', 'EXPIRES', 'LAST USED'],
    tokens.map((t) => [
      t.id,
      t.name,
      timestamp(t.createdAt),
      timestamp(t.expiresAt),
      timestamp(t.lastUsedAt),
    ]),
  );
}

function parseDays(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3650)
    throw new CliError(`invalid --expires-in-days '${value}': a whole number of days from 1 to 3650`);
  return n;
}

/**
 * `atoll token …`: API tokens (Nomad's ACL tokens): your own, or with `--user` a service
 * account's (admins). A token is printed once, when it is created.
 */
export function registerTokenCommands(program: Command, ctx: CommandContext): void {
  const token = program
    .command('token')
    .description('API tokens: your own, or a service account’s with --user (admins)');

  token
    .command('list')
    .description('list API tokens (never their secrets)')
    .option('--user <account>', 'a service account (username or id)')
    .action(async (opts: { user?: string }) => {
      const client = await ctx.client();
      const who = opts.user ? await findUser(client, opts.user) : null;
      const tokens = who
        ? await client.users.tokens.query({ id: who.id })
        : await client.auth.listApiTokens.query();
      ctx.print(tokens, () =>
        tokens.length === 0 ? `No tokens${who ? ` for ${who.username}` : ''}.` : tokenTable(tokens),
      );
    });

  token
    .command('create')
    .description('create an API token and print it (only this once)')
    .argument('<name>', 'what the token is for, e.g. ci-deploy')
    .option('--user <account>', 'a service account (username or id)')
    .option('--expires-in-days <n>', 'days until it expires (default: never)', parseDays)
    .action(async (name: string, opts: { user?: string; expiresInDays?: number }) => {
      const client = await ctx.client();
      if (opts.user) {
        const who = await findUser(client, opts.user);
        const created = await client.users.createToken.mutate({
          id: who.id,
          name,
          ...(opts.expiresInDays !== undefined ? { expiresInDays: opts.expiresInDays } : {}),
        });
        ctx.print(
          { ...created, user: who.username },
          () =>
            `Created token ${created.id} for ${who.username}${created.expiresAt ? ` (expires ${timestamp(created.expiresAt)})` : ''}; it is shown only now:\n${created.token}`,
        );
        return;
      }
      if (opts.expiresInDays !== undefined)
        throw new CliError('--expires-in-days applies to service accounts’ tokens (with --user)');
      const created = await client.auth.createApiToken.mutate({ name });
      ctx.print(
        { ...created, name },
        () => `Created token ${created.id}; it is shown only now:\n${created.token}`,
      );
    });

  token
    .command('revoke')
    .description('revoke an API token: it stops working at once')
    .argument('<id>', 'token id (see `atoll token list`)')
    .option('--user <account>', 'a service account (username or id)')
    .action(async (id: string, opts: { user?: string }) => {
      const client = await ctx.client();
      if (opts.user) {
        const who = await findUser(client, opts.user);
        await client.users.revokeToken.mutate({ id: who.id, tokenId: id });
      } else {
        await client.auth.revokeApiToken.mutate({ id });
      }
      ctx.print({ id, revoked: true }, () => `Revoked token ${id}`);
    });
}

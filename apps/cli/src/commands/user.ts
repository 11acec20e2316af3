import { TRPCClientError } from '@trpc/client';
import type { Command } from 'commander';
import type { AtollClient } from '../client';
import type { CommandContext } from '../context';
import { CliError, issuesOf } from '../errors';
import { formatFields, formatTable, timestamp } from '../format';
import { isYes } from '../prompt';

export type UserRow = Awaited<ReturnType<AtollClient['users']['list']['query']>>[number];

/** One word for an account's state: disabled, locked (until when) or active. */
export function userState(u: Pick<UserRow, 'disabled' | 'lockedUntil'>): string {
  if (u.disabled) return 'disabled';
  if (u.lockedUntil) return `locked until ${timestamp(u.lockedUntil)}`;
  return 'active';
}

export function userTable(users: UserRow[]): string {
  return formatTable(
    ['USERNAME', 'KIND', 'ROLE', 'SCOPE', 'STATE', 'TOKENS', 'CREATED'],
    users.map((u) => [
      u.username,
      u.kind,
      u.role,
      u.scope ?? '-',
      userState(u),
      String(u.tokens),
      timestamp(u.createdAt),
    ]),
    ['left', 'left', 'left', 'left', 'left', 'right', 'left'],
  );
}

export function userDetail(u: UserRow): string {
  return formatFields([
    ['ID', u.id],
    ['USERNAME', u.username],
    ['KIND', u.kind === 'service' ? 'service account (API tokens only)' : 'user'],
    ['ROLE', u.role],
    ['SCOPE', u.scope ?? (u.role === 'admin' ? '- (admins see everything)' : '- (the whole cluster)')],
    ['STATE', userState(u)],
    ['TOKENS', String(u.tokens)],
    ['CREATED', timestamp(u.createdAt)],
    ['PASSWORD SET', u.kind === 'user' ? timestamp(u.passwordChangedAt) : null],
  ]);
}

/** The account named by a username or an id (admins list them all; there are few). */
export async function findUser(client: AtollClient, ref: string): Promise<UserRow> {
  const users = await client.users.list.query();
  const user = users.find((u) => u.username === ref || u.id === ref);
  if (!user) throw new CliError(`no user or service account ${ref}`, { hints: ['atoll user list'] });
  return user;
}

/**
 * Field errors of a procedure as the user typed them: `error: invalid user:` then `  password: …`.
 * AppErrors (422 from the service) carry their issues the same way zod's do.
 */
async function withFieldErrors<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof TRPCClientError)) throw err;
    const issues = issuesOf(err.data);
    if (issues.length === 0) throw err;
    throw new CliError(`invalid ${what}:`, {
      hints: issues.map((i) => `${i.path || '(input)'}: ${i.message}`),
      cause: err,
    });
  }
}

/** A password from the option, else asked twice on the terminal; an error naming the option without one. */
async function passwordFrom(
  ctx: CommandContext,
  given: string | undefined,
  prompt: string,
  option: string,
): Promise<string> {
  if (given !== undefined) return given;
  if (!ctx.io.readSecret)
    throw new CliError('no password given and no terminal to ask for one', { hints: [`pass ${option}`] });
  const first = await ctx.io.readSecret(`${prompt}: `);
  const again = await ctx.io.readSecret(`${prompt} (again): `);
  if (first !== again) throw new CliError('the passwords do not match');
  return first;
}

async function confirm(ctx: CommandContext, question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!ctx.io.readLine)
    throw new CliError(`${question.replace(/\?$/, '')}: no terminal to ask for confirmation`, {
      hints: ['run again with --yes to go ahead without asking'],
    });
  if (!isYes(await ctx.io.readLine(`${question} [y/N] `))) throw new CliError('cancelled');
}

function parseRole(value: string): 'viewer' | 'operator' | 'admin' {
  if (value === 'viewer' || value === 'operator' || value === 'admin') return value;
  throw new CliError(`invalid role '${value}': viewer, operator or admin`);
}

/**
 * `atoll user …`: users and service accounts (admins only), DC/OS's Organization page on the
 * command line. `passwd` without a user changes your own password.
 */
export function registerUserCommands(program: Command, ctx: CommandContext): void {
  const user = program
    .command('user')
    .description('users and service accounts: roles, scopes, passwords (admins; `passwd` for yourself)');

  user
    .command('list')
    .description('list users and service accounts with their role, scope and state')
    .action(async () => {
      const users = await (await ctx.client()).users.list.query();
      ctx.print(users, () => userTable(users));
    });

  user
    .command('show')
    .description('show one account')
    .argument('<user>', 'username or id')
    .action(async (ref: string) => {
      const u = await findUser(await ctx.client(), ref);
      ctx.print(u, () => userDetail(u));
    });

  user
    .command('add')
    .description('create a user (with a password) or, with --service, a service account (API tokens only)')
    .argument('<username>', 'a-z, 0-9, dot, underscore and hyphen')
    .option('--role <role>', 'viewer, operator or admin', parseRole, 'viewer')
    .option('--scope <path>', 'limit an operator or viewer to a group path, e.g. /team-a')
    .option('--service', 'a service account: no password; give it tokens with `atoll token create --user`')
    .option('--password <password>', 'the user’s password (default: asked on the terminal)')
    .action(
      async (
        username: string,
        opts: { role: 'viewer' | 'operator' | 'admin'; scope?: string; service?: boolean; password?: string },
      ) => {
        const kind = opts.service ? 'service' : 'user';
        if (opts.service && opts.password !== undefined)
          throw new CliError('a service account has no password', {
            hints: ['leave out --password, then: atoll token create <name> --user ' + username],
          });
        const password =
          kind === 'user'
            ? await passwordFrom(ctx, opts.password, `Password for ${username}`, '--password <password>')
            : undefined;
        const created = await withFieldErrors(kind === 'service' ? 'service account' : 'user', async () =>
          (await ctx.client()).users.create.mutate({
            username,
            kind,
            role: opts.role,
            ...(opts.scope !== undefined ? { scope: opts.scope } : {}),
            ...(password !== undefined ? { password } : {}),
          }),
        );
        ctx.print(
          created,
          () =>
            `Created ${kind === 'service' ? 'service account' : 'user'} ${created.username} (${created.role}` +
            `${created.scope ? ` in ${created.scope}` : ''})`,
        );
      },
    );

  user
    .command('update')
    .description('change an account’s role or scope')
    .argument('<user>', 'username or id')
    .option('--role <role>', 'viewer, operator or admin', parseRole)
    .option('--scope <path>', 'limit to a group path, e.g. /team-a')
    .option('--no-scope', 'the whole cluster')
    .action(async (ref: string, opts: { role?: 'viewer' | 'operator' | 'admin'; scope?: string | false }) => {
      if (opts.role === undefined && opts.scope === undefined)
        throw new CliError('nothing to change', { hints: ['give --role, --scope <path> or --no-scope'] });
      const client = await ctx.client();
      const target = await findUser(client, ref);
      const updated = await withFieldErrors('change', () =>
        client.users.update.mutate({
          id: target.id,
          ...(opts.role !== undefined ? { role: opts.role } : {}),
          ...(opts.scope !== undefined ? { scope: opts.scope === false ? null : opts.scope } : {}),
        }),
      );
      ctx.print(
        updated,
        () => `Updated ${updated.username}: ${updated.role}${updated.scope ? ` in ${updated.scope}` : ''}`,
      );
    });

  for (const [verb, disable] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    user
      .command(verb)
      .description(
        disable
          ? 'disable an account: its sessions end and its tokens stop working'
          : 'enable a disabled account (its tokens work again)',
      )
      .argument('<user>', 'username or id')
      .action(async (ref: string) => {
        const client = await ctx.client();
        const target = await findUser(client, ref);
        const updated = await (disable ? client.users.disable : client.users.enable).mutate({
          id: target.id,
        });
        ctx.print(updated, () => `${disable ? 'Disabled' : 'Enabled'} ${updated.username}`);
      });
  }

  user
    .command('passwd')
    .description(
      'set a user’s password (admins; generated and printed once without --password), or without a user change your own',
    )
    .argument('[user]', 'username or id (default: yourself)')
    .option(
      '--password <password>',
      'the new password (default: generated for another user, asked for yourself)',
    )
    .option('--current <password>', 'your current password, when changing your own (default: asked)')
    .action(async (ref: string | undefined, opts: { password?: string; current?: string }) => {
      const client = await ctx.client();
      if (ref === undefined) {
        const current =
          opts.current ?? (await passwordFrom(ctx, undefined, 'Current password', '--current <password>'));
        const next = await passwordFrom(ctx, opts.password, 'New password', '--password <password>');
        const r = await withFieldErrors('password', () =>
          client.auth.changePassword.mutate({ currentPassword: current, newPassword: next }),
        );
        ctx.print(r, () => `Changed your password; ${r.revokedSessions} other session(s) ended`);
        return;
      }
      const target = await findUser(client, ref);
      const r = await withFieldErrors('password', () =>
        client.users.resetPassword.mutate({
          id: target.id,
          ...(opts.password !== undefined ? { password: opts.password } : {}),
        }),
      );
      ctx.print(r, () =>
        r.generatedPassword
          ? `New password of ${target.username} (shown only now): ${r.generatedPassword}\n` +
            `${r.revokedSessions} session(s) ended`
          : `Set the password of ${target.username}; ${r.revokedSessions} session(s) ended`,
      );
    });

  user
    .command('remove')
    .description('delete an account and its tokens (not yourself, not the last enabled admin)')
    .argument('<user>', 'username or id')
    .option('--yes', 'do not ask for confirmation')
    .action(async (ref: string, opts: { yes?: boolean }) => {
      const client = await ctx.client();
      const target = await findUser(client, ref);
      await confirm(
        ctx,
        `Delete ${target.kind === 'service' ? 'service account' : 'user'} ${target.username}?`,
        opts.yes,
      );
      const removed = await client.users.remove.mutate({ id: target.id });
      ctx.print({ ...removed, username: target.username }, () => `Removed ${target.username}`);
    });
}

import os from 'node:os';
import type { Command } from 'commander';
import { createClient, normalizeClusterUrl } from '../client';
import { saveConfig } from '../config';
import type { CommandContext } from '../context';
import { CliError } from '../errors';

export function registerClusterCommands(program: Command, ctx: CommandContext): void {
  const cluster = program.command('cluster').description('connect to an Atoll cluster');

  cluster
    .command('setup')
    .description('log in to a cluster and store an API token for it')
    .argument('<url>', 'URL of atoll-control, e.g. http://control.example:7700')
    .option('--username <name>', 'user to log in as', 'admin')
    .option('--password <password>', 'password (default: $ATOLL_PASSWORD, else asked on the terminal)')
    .action(async (rawUrl: string, opts: { username: string; password?: string }) => {
      const url = normalizeClusterUrl(rawUrl);
      const password =
        opts.password ?? (ctx.io.env.ATOLL_PASSWORD || (await askPassword(ctx, opts.username, url)));
      const fetch = ctx.io.fetch;
      const anonymous = createClient({ url, ...(fetch ? { fetch } : {}) });
      const session = await anonymous.auth.login.mutate({ username: opts.username, password });
      const hostname = (ctx.io.hostname ?? os.hostname)();
      const authed = createClient({ url, token: session.token, ...(fetch ? { fetch } : {}) });
      const apiToken = await authed.auth.createApiToken.mutate({
        name: `atoll-cli@${hostname}`.slice(0, 100),
      });
      await saveConfig(ctx.configFile, { url, token: apiToken.token });
      ctx.print(
        { url, username: session.user.username, configFile: ctx.configFile },
        () => `Logged in to ${url} as ${session.user.username}`,
      );
    });
}

async function askPassword(ctx: CommandContext, username: string, url: string): Promise<string> {
  if (!ctx.io.readSecret) {
    throw new CliError('no password given and no terminal to ask for one', {
      hints: ['pass --password <password> or set ATOLL_PASSWORD'],
    });
  }
  const password = await ctx.io.readSecret(`Password for ${username} at ${url}: `);
  if (!password) throw new CliError('no password given');
  return password;
}

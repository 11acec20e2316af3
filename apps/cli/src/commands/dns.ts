import { InvalidArgumentError, type Command } from 'commander';
import type { CommandContext } from '../context';
import { ExitCode } from '../errors';
import { formatTable } from '../format';

type Answer =
  | { kind: 'a'; name: string; addresses: string[] }
  | { kind: 'srv'; name: string; targets: Array<{ target: string; port: number; addresses: string[] }> }
  | { kind: 'nodata' | 'nxdomain' | 'forward'; name: string };

/** What the cluster's DNS answered, for people: a table of records or why there is none. */
export function formatAnswer(a: Answer): string {
  switch (a.kind) {
    case 'a':
      return formatTable(
        ['NAME', 'TYPE', 'ADDRESS'],
        a.addresses.map((ip) => [a.name, 'A', ip]),
      );
    case 'srv':
      return formatTable(
        ['NAME', 'TYPE', 'TARGET', 'PORT', 'ADDRESS'],
        a.targets.map((t) => [a.name, 'SRV', t.target, String(t.port), t.addresses.join(',') || '-']),
      );
    case 'nodata':
      return `${a.name}: the name exists, with no record of this type`;
    case 'nxdomain':
      return `${a.name}: no such name in the cluster (NXDOMAIN)`;
    case 'forward':
      return `${a.name}: not a cluster name; the cluster's DNS servers forward it to the hosts' resolvers`;
  }
}

function parseType(v: string): 'A' | 'SRV' | 'ANY' {
  const t = v.toUpperCase();
  if (t === 'A' || t === 'SRV' || t === 'ANY') return t;
  throw new InvalidArgumentError('type must be A, SRV or ANY');
}

export function registerDnsCommands(program: Command, ctx: CommandContext): void {
  program
    .command('dns')
    .description(
      'what the cluster DNS answers for a name (web-prod.marathon.mesos, _web-prod._tcp.marathon.mesos, web.prod.atoll)',
    )
    .argument('<name>', 'a DNS name')
    .option(
      '-t, --type <type>',
      'A, SRV or ANY (ANY: SRV for names starting with _, else A)',
      parseType,
      'ANY',
    )
    .action(async (name: string, opts: { type: 'A' | 'SRV' | 'ANY' }) => {
      const answer = (await (await ctx.client()).network.resolve.query({ name, type: opts.type })) as Answer;
      ctx.print(answer, () => formatAnswer(answer));
      // As dig and host: an unknown name is a failure for scripts.
      if (answer.kind === 'nxdomain') throw new ExitCode(1);
    });
}

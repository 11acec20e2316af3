import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { CliError } from '../errors';
import { formatTable, nodeState, nodeTable } from '../format';

type Client = Awaited<ReturnType<CommandContext['client']>>;
type NodeView = Awaited<ReturnType<Client['nodes']['get']['query']>>;

/** A node by its id or its hostname. */
async function resolveNode(client: Client, ref: string): Promise<NodeView> {
  const nodes = await client.nodes.list.query({ includeDecommissioned: true });
  const hit =
    nodes.find((n) => n.id === ref) ??
    nodes.filter((n) => n.hostname === ref && n.mode !== 'DECOMMISSIONED')[0];
  if (!hit) throw new CliError(`no node "${ref}" (give its id or hostname; see \`atoll node list\`)`);
  return hit;
}

/** `k=v` pairs from the command line. */
export function parsePairs(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CliError(`"${p}" is not key=value`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

function nodeDetail(n: NodeView): string {
  const attrs = (o: Record<string, string>) =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ') || '-';
  const rows: Array<[string, string]> = [
    ['ID', n.id],
    ['HOSTNAME', n.hostname],
    ['ADDRESS', n.address],
    ['STATE', nodeState(n)],
    ['RUNTIME', `${n.runtime} (agent ${n.agentVersion})`],
    [
      'CPUS',
      `${n.allocated.cpus} allocated of ${n.resources.cpus} (${n.reserved.cpus} reserved for the host)`,
    ],
    [
      'MEM (MiB)',
      `${n.allocated.memMb} allocated of ${n.resources.memMb} (${n.reserved.memMb} reserved for the host)`,
    ],
    ['DISK (MiB)', `${n.allocated.diskMb} allocated of ${n.resources.diskMb}`],
    ['PORTS', `${n.resources.portRange[0]}-${n.resources.portRange[1]}`],
    ['TASKS', String(n.tasks)],
    ['ATTRIBUTES', attrs(n.attributes)],
    ['  from agent', attrs(n.agentAttributes)],
    ['  set by operator', attrs(n.operatorAttributes)],
    ['LAST HEARTBEAT', n.lastHeartbeatAt ?? '-'],
  ];
  if (n.drain?.blocked) rows.push(['DRAIN WAITING', n.drain.blocked]);
  return formatTable(['FIELD', 'VALUE'], rows);
}

export function registerNodeCommands(program: Command, ctx: CommandContext): void {
  const node = program.command('node').description('the hosts of the cluster');

  node
    .command('list')
    .description('list nodes with their resources')
    .option('--all', 'include decommissioned nodes')
    .action(async (opts: { all?: boolean }) => {
      const nodes = await (await ctx.client()).nodes.list.query({ includeDecommissioned: opts.all === true });
      ctx.print(nodes, () => nodeTable(nodes));
    });

  node
    .command('show <node>')
    .description('one node: state, resources, reservation, attributes, drain progress')
    .action(async (ref: string) => {
      const n = await resolveNode(await ctx.client(), ref);
      ctx.print(n, () => nodeDetail(n));
    });

  const act = (name: string, description: string, run: (c: Client, id: string) => Promise<NodeView>) =>
    node
      .command(`${name} <node>`)
      .description(description)
      .action(async (ref: string) => {
        const client = await ctx.client();
        const n = await run(client, (await resolveNode(client, ref)).id);
        ctx.print(n, () => `${n.hostname}: ${nodeState(n)}\n`);
      });
  act('drain', 'place nothing new on the node and move its tasks elsewhere, one at a time', (c, id) =>
    c.nodes.drain.mutate({ id }),
  );
  act('undrain', 'make a draining or drained node ACTIVE again', (c, id) => c.nodes.undrain.mutate({ id }));

  node
    .command('maintenance <node>')
    .description('offer nothing from the node but keep its tasks running (--off: back to ACTIVE)')
    .option('--off', 'end maintenance')
    .action(async (ref: string, opts: { off?: boolean }) => {
      const client = await ctx.client();
      const n = await client.nodes.maintenance.mutate({
        id: (await resolveNode(client, ref)).id,
        on: opts.off !== true,
      });
      ctx.print(n, () => `${n.hostname}: ${nodeState(n)}\n`);
    });

  node
    .command('decommission <node>')
    .description('remove the node for good; its tasks are replaced elsewhere')
    .option('--yes', 'do not ask: the node cannot rejoin without reinstalling')
    .action(async (ref: string, opts: { yes?: boolean }) => {
      const client = await ctx.client();
      const n = await resolveNode(client, ref);
      if (opts.yes !== true)
        throw new CliError(
          `decommission removes ${n.hostname} (${n.id}) for good and replaces its ${n.tasks} task(s) elsewhere; run again with --yes`,
        );
      const r = await client.nodes.decommission.mutate({ id: n.id });
      ctx.print(
        r,
        () => `decommissioned ${r.hostname}; ${r.tasksReplaced} task(s) will be replaced elsewhere\n`,
      );
    });

  node
    .command('attributes')
    .description('operator attributes of a node (constraints see them)')
    .command('set <node> [pairs...]')
    .description('set key=value attributes; --remove drops keys')
    .option('--remove <key...>', 'attribute keys to remove')
    .action(async (ref: string, pairs: string[], opts: { remove?: string[] }) => {
      const client = await ctx.client();
      const n = await client.nodes.setAttributes.mutate({
        id: (await resolveNode(client, ref)).id,
        set: parsePairs(pairs),
        remove: opts.remove ?? [],
      });
      ctx.print(n, () => nodeDetail(n));
    });

  node
    .command('reserve <node>')
    .description('CPUs and memory kept for the host itself, never offered to tasks')
    .requiredOption('--cpus <n>', 'CPUs to keep', Number)
    .requiredOption('--mem <MiB>', 'memory to keep, in MiB', Number)
    .action(async (ref: string, opts: { cpus: number; mem: number }) => {
      const client = await ctx.client();
      const n = await client.nodes.setReservation.mutate({
        id: (await resolveNode(client, ref)).id,
        cpus: opts.cpus,
        memMb: opts.mem,
      });
      ctx.print(n, () => nodeDetail(n));
    });
}

/** `30m`, `2h`, `7d` or plain seconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(v.trim());
  if (!m) throw new CliError(`"${v}" is not a duration (like 30m, 2h, 7d)`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

export function registerJoinTokenCommands(program: Command, ctx: CommandContext): void {
  const node = program.commands.find((c) => c.name() === 'node')!;

  node
    .command('add-token')
    .description('create a join token and print the line that installs an agent with it')
    .option('--multi-use', 'usable by many hosts until it expires (default: one host)')
    .option('--expires <duration>', 'how long it is valid: 30m, 2h, 7d', '1h')
    .option('--attribute <k=v...>', 'attributes the joining nodes get')
    .option('--description <text>', 'a note shown in `atoll node tokens`')
    .action(
      async (opts: { multiUse?: boolean; expires: string; attribute?: string[]; description?: string }) => {
        const t = await (
          await ctx.client()
        ).nodes.createJoinToken.mutate({
          singleUse: opts.multiUse !== true,
          expiresInSeconds: parseDuration(opts.expires),
          attributes: parsePairs(opts.attribute ?? []),
          ...(opts.description ? { description: opts.description } : {}),
        });
        ctx.print(t, () =>
          [
            `Join token ${t.id} (${opts.multiUse ? 'multi-use' : 'single use'}, expires ${t.expiresAt}).`,
            'Run this on the new host:',
            '',
            `  ${t.installLine}`,
            '',
          ].join('\n'),
        );
      },
    );

  node
    .command('tokens')
    .description('list join tokens: use, expiry and status (the secrets are not kept)')
    .action(async () => {
      const tokens = await (await ctx.client()).nodes.joinTokens.query();
      ctx.print(tokens, () =>
        formatTable(
          ['ID', 'STATUS', 'USE', 'USED', 'NODES', 'EXPIRES', 'DESCRIPTION'],
          tokens.map((t) => [
            t.id,
            t.status,
            t.singleUse ? 'single' : 'multi',
            String(t.usedCount),
            String(t.nodes),
            t.expiresAt ?? 'never',
            t.description ?? '',
          ]),
        ),
      );
    });

  node
    .command('revoke-token <id>')
    .description('revoke a join token: hosts can no longer join with it (joined nodes stay)')
    .action(async (id: string) => {
      await (await ctx.client()).nodes.revokeJoinToken.mutate({ id });
      ctx.print({ id, revoked: true }, () => `revoked join token ${id}\n`);
    });
}

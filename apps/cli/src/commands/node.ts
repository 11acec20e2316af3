import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { nodeTable } from '../format';

export function registerNodeCommands(program: Command, ctx: CommandContext): void {
  const node = program.command('node').description('the hosts of the cluster');

  node
    .command('list')
    .description('list nodes with their resources')
    .action(async () => {
      const nodes = await (await ctx.client()).nodes.list.query();
      ctx.print(nodes, () => nodeTable(nodes));
    });
}

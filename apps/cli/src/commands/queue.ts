import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { queueTable } from '../format';

export function registerQueueCommands(program: Command, ctx: CommandContext): void {
  const list = async () => {
    const items = await (await ctx.client()).queue.list.query();
    ctx.print(items, () => queueTable(items));
  };

  const queue = program
    .command('queue')
    .description('apps waiting for tasks: how many, their launch delay and why')
    .action(list);

  queue.command('list').description('the same as `atoll queue`').action(list);

  queue
    .command('reset')
    .description('reset the launch back-off delay of an app, so its tasks are launched at once')
    .argument('<id>', 'app id')
    .action(async (id: string) => {
      const res = await (await ctx.client()).queue.resetDelay.mutate({ id });
      ctx.print(res, () => `Reset the launch delay of ${id}`);
    });
}

import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { taskTable } from '../format';

export function registerTaskCommands(program: Command, ctx: CommandContext): void {
  const task = program.command('task').description('running instances of apps');

  task
    .command('list')
    .description('list tasks that have not ended')
    .option('--app <id>', 'only the tasks of this app')
    .action(async (opts: { app?: string }) => {
      const tasks = await (await ctx.client()).tasks.list.query(opts.app ? { appId: opts.app } : undefined);
      ctx.print(tasks, () => taskTable(tasks));
    });

  task
    .command('kill')
    .description('kill tasks; their app starts replacements unless --scale')
    .argument('<taskId...>', 'ids of the tasks to kill')
    .option('--scale', 'lower the app’s instances instead of replacing the tasks', false)
    .action(async (taskIds: string[], opts: { scale: boolean }) => {
      const killed = await (await ctx.client()).tasks.kill.mutate({ taskIds, scale: opts.scale });
      const found = new Set(killed.map((t) => t.id));
      for (const id of taskIds) if (!found.has(id)) ctx.warn(`no task ${id}`);
      ctx.print(killed, () =>
        killed
          .map((t) => `Killing task ${t.id} of ${t.appId}${opts.scale ? ' (scaling the app down)' : ''}`)
          .join('\n'),
      );
    });
}

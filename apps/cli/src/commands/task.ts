import type { Command } from 'commander';
import WebSocket from 'ws';
import type { CommandContext } from '../context';
import { CliError, ExitCode, notLoggedIn } from '../errors';
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

/** `--lines` as the API takes it: a count, or "all". */
export function parseLines(v: string): number | 'all' {
  if (v === 'all') return 'all';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new CliError(`--lines must be a whole number ≥ 0 or "all" (got "${v}")`);
  return n;
}

export interface TaskLogOptions {
  follow?: boolean | undefined;
  lines: number | 'all';
  stdout?: boolean | undefined;
  stderr?: boolean | undefined;
}

/**
 * Prints a task's stdout and stderr (`/api/v1/tasks/{id}/logs`) as it comes; `task log` and
 * `job log` (a run's task). With `follow`, until the output ends or Ctrl-C.
 */
export async function printTaskLog(ctx: CommandContext, taskId: string, opts: TaskLogOptions): Promise<void> {
  const conn = await ctx.connection();
  const stream = opts.stdout && !opts.stderr ? 'stdout' : opts.stderr && !opts.stdout ? 'stderr' : 'both';
  const q = new URLSearchParams({
    lines: String(opts.lines),
    follow: String(opts.follow === true),
    stream,
  });
  const signal = opts.follow ? ctx.interruptSignal() : undefined;
  // Not clusterFetch: the answer is text, and a followed log has no time limit.
  let res: Response;
  try {
    res = await (ctx.io.fetch ?? globalThis.fetch)(
      `${conn.url}/api/v1/tasks/${encodeURIComponent(taskId)}/logs?${q}`,
      {
        headers: { authorization: `Bearer ${conn.token}` },
        ...(signal ? { signal } : {}),
      },
    );
  } catch (err) {
    if (signal?.aborted) return;
    throw new CliError(`cannot reach ${conn.url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (res.status === 401) throw notLoggedIn(`${conn.url} rejected the API token`);
  if (!res.ok) throw new CliError(await errorOf(res));
  if (!res.body) return;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
      ctx.io.stdout.write(decoder.decode(chunk, { stream: true }));
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
}

export function registerTaskIoCommands(program: Command, ctx: CommandContext): void {
  const task = program.commands.find((c) => c.name() === 'task')!;

  task
    .command('log')
    .description("print a task's stdout and stderr (also of an ended task, until it is garbage-collected)")
    .argument('<taskId>', 'the task')
    .option('-f, --follow', 'keep printing what the task writes')
    .option('-n, --lines <n>', 'the last n lines, or "all"', parseLines, 100)
    .option('--stdout', 'only stdout')
    .option('--stderr', 'only stderr')
    .action((taskId: string, opts: TaskLogOptions) => printTaskLog(ctx, taskId, opts));

  task
    .command('exec')
    .description('run a command inside a running task (admin only); -it for an interactive shell')
    .argument('<taskId>', 'the task')
    .argument('<command...>', 'the command and its arguments (put -- before options of the command)')
    .option('-i, --interactive', 'send standard input to the command')
    .option('-t, --tty', 'a terminal: raw keys in, one output stream (use with -i)')
    .action(async (taskId: string, command: string[], opts: { interactive?: boolean; tty?: boolean }) => {
      const conn = await ctx.connection();
      const size = opts.tty ? ctx.io.terminalSize?.() : undefined;
      const q = new URLSearchParams(command.map((c) => ['command', c]));
      if (opts.tty) q.set('tty', 'true');
      if (size) {
        q.set('cols', String(size.cols));
        q.set('rows', String(size.rows));
      }
      const url = `${conn.url.replace(/^http/, 'ws')}/api/v1/tasks/${encodeURIComponent(taskId)}/exec?${q}`;
      const code = await runExec(ctx, url, conn.token, opts.interactive === true, opts.tty === true);
      if (code !== 0) throw new ExitCode(code);
    });
}

async function errorOf(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { message?: string };
    return `${res.status}: ${body.message ?? text}`;
  } catch {
    return `${res.status}: ${text}`;
  }
}

/** Runs one exec session over the WebSocket; resolves with the command's exit code. */
function runExec(
  ctx: CommandContext,
  url: string,
  token: string,
  interactive: boolean,
  tty: boolean,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    const stdin = ctx.io.stdin;
    const raw = tty && interactive && stdin?.isTTY === true && typeof stdin.setRawMode === 'function';
    // A resized terminal resizes the command's (SIGWINCH: stdout's 'resize').
    const onResize = () => {
      const size = ctx.io.terminalSize?.();
      if (size && ws.readyState === WebSocket.OPEN)
        ws.send(JSON.stringify({ type: 'resize', cols: size.cols, rows: size.rows }));
    };
    const restore = () => {
      if (raw) stdin.setRawMode?.(false);
      if (raw) process.stdout.off('resize', onResize);
      stdin?.pause();
    };
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        let message = body;
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? body;
        } catch {
          // not JSON: as is
        }
        reject(new CliError(`${res.statusCode ?? '?'}: ${message}`));
      });
    });
    ws.on('error', (err) => reject(new CliError(`exec failed: ${err.message}`)));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        (data[0] === 2 ? ctx.io.stderr : ctx.io.stdout).write(data.subarray(1));
        return;
      }
      const msg = JSON.parse(data.toString('utf8')) as {
        type: string;
        exitCode?: number | null;
        error?: string;
      };
      if (msg.type === 'started' && interactive && stdin) {
        if (raw) {
          stdin.setRawMode?.(true);
          process.stdout.on('resize', onResize);
        }
        stdin.on('data', (chunk: Buffer | string) =>
          ws.send(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, { binary: true }),
        );
        stdin.on('end', () => ws.send(JSON.stringify({ type: 'eof' })));
        stdin.resume();
      }
      if (msg.type === 'exit') {
        restore();
        if (msg.error) ctx.io.stderr.write(`atoll: ${msg.error}\n`);
        resolve(msg.exitCode ?? 1);
      }
    });
    ws.on('close', () => {
      restore();
      resolve(1);
    });
  });
}

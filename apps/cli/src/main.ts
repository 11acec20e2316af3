import { Command } from 'commander';
import { registerAppCommands } from './commands/app';
import { registerAuditCommands } from './commands/audit';
import { registerClusterCommands } from './commands/cluster';
import { registerDeploymentCommands } from './commands/deployment';
import { registerDnsCommands } from './commands/dns';
import { registerGroupCommands } from './commands/group';
import { registerJobCommands } from './commands/job';
import { registerJoinTokenCommands, registerNodeCommands } from './commands/node';
import { registerPackageCommands } from './commands/package';
import { registerPodCommands } from './commands/pod';
import { registerQueueCommands } from './commands/queue';
import { registerTaskCommands, registerTaskIoCommands } from './commands/task';
import { registerVipCommands } from './commands/vip';
import { registerTokenCommands } from './commands/token';
import { registerUserCommands } from './commands/user';
import { registerSecretCommands } from './commands/secret';
import { CommandContext, type CliIO } from './context';
import { reportError } from './errors';
import { readHidden, readLine } from './prompt';

export type { CliIO } from './context';

/** The whole command tree, writing only to `io` and throwing instead of exiting (see `run`). */
export function buildProgram(io: CliIO): Command {
  const program = new Command('atoll');
  program
    .description('Command-line client of an Atoll cluster')
    .option('--json', 'print JSON instead of tables (for scripts)')
    .option('--url <url>', 'cluster URL (default: $ATOLL_URL, else the one of `atoll cluster setup`)')
    .addHelpText(
      'after',
      '\nEnvironment: ATOLL_URL and ATOLL_TOKEN override the config file; ATOLL_CONFIG names it\n' +
        '(default ~/.config/atoll/config.json); ATOLL_PASSWORD is the password of `cluster setup`.',
    )
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  // Subcommands copy output and exit settings when created, so those are set above first.
  const ctx = new CommandContext(io, program);
  registerClusterCommands(program, ctx);
  registerNodeCommands(program, ctx);
  registerJoinTokenCommands(program, ctx);
  registerAppCommands(program, ctx);
  registerGroupCommands(program, ctx);
  registerPodCommands(program, ctx);
  registerTaskCommands(program, ctx);
  registerTaskIoCommands(program, ctx);
  registerDeploymentCommands(program, ctx);
  registerQueueCommands(program, ctx);
  registerPackageCommands(program, ctx);
  registerJobCommands(program, ctx);
  registerDnsCommands(program, ctx);
  registerVipCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerUserCommands(program, ctx);
  registerTokenCommands(program, ctx);
  registerSecretCommands(program, ctx);

  return program;
}

/** Runs one command line (without `node` and the script) and returns the exit code. */
export async function run(args: string[], io: CliIO): Promise<number> {
  try {
    await buildProgram(io).parseAsync(args, { from: 'user' });
    return 0;
  } catch (err) {
    return reportError(err, io.stderr);
  }
}

/** The real process: its streams and environment, a terminal prompt when there is a terminal. */
export function processIO(): CliIO {
  const stdin = process.stdin;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    readSecret: stdin.isTTY ? (prompt) => readHidden(prompt, stdin, process.stderr) : undefined,
    readLine: stdin.isTTY ? (prompt) => readLine(prompt, stdin, process.stderr) : undefined,
    readStdin: () => readAll(stdin),
    stdin,
    // A terminal that reports no size (0×0, e.g. a bare pty) has none to pass on.
    terminalSize: () =>
      process.stdout.isTTY && process.stdout.columns > 0 && process.stdout.rows > 0
        ? { cols: process.stdout.columns, rows: process.stdout.rows }
        : undefined,
    interrupt: () => {
      // Only watches ask: the first Ctrl-C ends the watch, a second one the process as usual.
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      return ac.signal;
    },
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await run(argv, processIO());
}

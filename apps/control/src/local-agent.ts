import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Logger } from 'pino';

const agentMain = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/src/main.ts');

export interface LocalAgent {
  process: ChildProcess;
  /** Stops the agent (SIGTERM): its containers keep running, as on a real host. */
  stop(): Promise<void>;
}

/**
 * Runs one atoll-agent as a child process, as `npm start` does on one machine. It is a separate
 * process (not a function call) so it behaves as on any other host: it joins over the WebSocket
 * with a join token and survives control's restarts with its containers.
 */
export function spawnLocalAgent(opts: {
  controlUrl: string;
  joinToken: string;
  stateDir: string;
  log: Logger;
  env?: Record<string, string>;
  /** Pipe the agent's output through (npm start) or keep it quiet (tests). */
  inheritOutput?: boolean;
  /** Run it in this network namespace (tests: a node with its own address). */
  netns?: string;
}): LocalAgent {
  const argv = [process.execPath, '--import', import.meta.resolve('tsx'), agentMain];
  const [cmd, ...args] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
  const child = spawn(cmd!, args, {
    env: {
      ...process.env,
      ATOLL_CONTROL_URL: opts.controlUrl,
      ATOLL_JOIN_TOKEN: opts.joinToken,
      ATOLL_AGENT_STATE_DIR: opts.stateDir,
      ...opts.env,
    },
    stdio: opts.inheritOutput ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  if (!opts.inheritOutput) {
    child.stdout?.resume();
    child.stderr?.on('data', (d: Buffer) => opts.log.debug({ component: 'agent' }, d.toString().trim()));
  }
  child.on('exit', (code, signal) => opts.log.info({ code, signal }, 'local agent exited'));
  return {
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const controlMain = fileURLToPath(new URL('./main.ts', import.meta.url));

/**
 * atoll-control as a child process on `databaseUrl`, without a local agent or console, logging
 * warnings only: what the tests that kill control (support.ts spawnControl) and the benchmarks
 * (bench/lib/control-process.ts) start. `env` adds to or overrides the settings; `nodeArgs` go to
 * Node before the entry point (e.g. --cpu-prof).
 */
export function spawnControlProcess(opts: {
  databaseUrl: string;
  port: number;
  adminPassword: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  stdio?: StdioOptions;
}): ChildProcess {
  return spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), '--import', import.meta.resolve('tsx'), controlMain],
    {
      env: {
        ...process.env,
        DATABASE_URL: opts.databaseUrl,
        ATOLL_PORT: String(opts.port),
        ATOLL_LOCAL_AGENT: 'false',
        ATOLL_CONSOLE: 'false',
        ATOLL_ADMIN_PASSWORD: opts.adminPassword,
        ATOLL_LOG_LEVEL: 'warn',
        ...opts.env,
      },
      stdio: opts.stdio ?? 'ignore',
    },
  );
}

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const controlMain = fileURLToPath(new URL('../../apps/control/src/main.ts', import.meta.url));

/**
 * A control in its own process, as in production (its CPU apart from the bench's), without a local
 * agent, console or DNS port; its warnings on the bench's stderr. `env` adds or overrides settings,
 * `nodeArgs` go to Node before the entry point (e.g. --cpu-prof).
 */
export function spawnBenchControl(opts: {
  databaseUrl: string;
  port: number;
  adminPassword: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
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
        ATOLL_DNS_PORT: 'off',
        ATOLL_LOG_LEVEL: 'warn',
        ...opts.env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

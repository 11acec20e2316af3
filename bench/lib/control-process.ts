import type { ChildProcess } from 'node:child_process';
import { spawnControlProcess } from '../../apps/control/src/spawn';

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
  return spawnControlProcess({
    ...opts,
    env: { ATOLL_DNS_PORT: 'off', ...opts.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

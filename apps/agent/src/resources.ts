import fs from 'node:fs/promises';
import os from 'node:os';
import type { NodeResources } from '@atoll/spec';

const MiB = 1024 * 1024;

export interface HostFacts {
  hostname: string;
  resources: NodeResources;
}

/**
 * What this host offers: all its CPUs and memory, and the size of the filesystem holding the state
 * dir (where exec sandboxes live). Totals rather than what is free: control subtracts what its
 * tasks use, like Mesos's offers.
 */
export async function readHostFacts(
  stateDir: string,
  portRange: [number, number],
  hostname: string = os.hostname(),
): Promise<HostFacts> {
  const st = await fs.statfs(stateDir);
  return {
    hostname,
    resources: {
      cpus: os.cpus().length,
      memMb: Math.floor(os.totalmem() / MiB),
      diskMb: Math.floor((st.blocks * st.bsize) / MiB),
      portRange,
    },
  };
}

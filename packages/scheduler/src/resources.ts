import type { FilterStage } from './filter';
import { freeCpus, freeDiskMb, freeMemMb, type NodeState } from './state';
import type { Demand } from './types';

/**
 * Resources are fractional (0.1 cpus) and sums of fractions drift (0.1 + 0.2 > 0.3), so "fits" allows
 * a difference far below any amount Mesos or Docker can express (Mesos rounds cpus to 0.001).
 */
export const EPSILON = 1e-6;

/** True if `need` fits in `free`. Asking for nothing always fits, even on an already over-full node. */
export function fits(need: number, free: number): boolean {
  return need <= 0 || need <= free + EPSILON;
}

export const INSUFFICIENT_CPUS = 'insufficient cpus';
export const INSUFFICIENT_MEM = 'insufficient mem';
export const INSUFFICIENT_DISK = 'insufficient disk';

function resourceFilter(
  reason: string,
  need: (d: Demand) => number,
  free: (s: NodeState) => number,
): FilterStage {
  return (demand) => {
    const wanted = need(demand);
    return (state) => {
      const available = free(state);
      return fits(wanted, available) ? undefined : { reason, free: available };
    };
  };
}

export const cpusFilter = resourceFilter(INSUFFICIENT_CPUS, (d) => d.cpus, freeCpus);
export const memFilter = resourceFilter(INSUFFICIENT_MEM, (d) => d.memMb, freeMemMb);
export const diskFilter = resourceFilter(INSUFFICIENT_DISK, (d) => d.diskMb, freeDiskMb);

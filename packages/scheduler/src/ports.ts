import type { FilterStage } from './filter';
import { randomIndex, type Random } from './random';
import type { NodeState } from './state';
import type { Demand } from './types';

export const INSUFFICIENT_PORTS = 'insufficient ports';

/**
 * Ports are booked per number, whatever the protocol: allocations carry no protocol, and an agent
 * publishing tcp and udp on one number is rarer than the confusion sharing would cause.
 */

/** The fixed host ports a demand asks for, in order (0 or less means "any"). */
export function fixedPorts(demand: Demand): number[] {
  return demand.ports.filter((p) => p.hostPort > 0).map((p) => p.hostPort);
}

export function dynamicPortCount(demand: Demand): number {
  return demand.ports.filter((p) => p.hostPort <= 0).length;
}

/** The node's range for dynamic ports, clipped to real port numbers; empty when lo > hi. */
export function portRangeOf(state: NodeState): { lo: number; hi: number; size: number } {
  const lo = Math.max(1, Math.ceil(state.node.resources.portRange[0]));
  const hi = Math.min(65535, Math.floor(state.node.resources.portRange[1]));
  return { lo, hi, size: Math.max(0, hi - lo + 1) };
}

/** How many ports of the node's range are neither used nor about to be taken by `alsoTaken`. */
export function freeDynamicPorts(state: NodeState, alsoTaken: readonly number[]): number {
  const { lo, hi, size } = portRangeOf(state);
  // Counted in place (this runs for every node and every instance): the used ports, then those of
  // `alsoTaken` that are neither used nor repeated earlier in `alsoTaken`.
  let takenInRange = 0;
  for (const p of state.usedPorts) if (p >= lo && p <= hi) takenInRange++;
  for (let i = 0; i < alsoTaken.length; i++) {
    const p = alsoTaken[i]!;
    if (p >= lo && p <= hi && !state.usedPorts.has(p) && alsoTaken.indexOf(p) === i) takenInRange++;
  }
  return size - takenInRange;
}

/**
 * Fixed ports may lie outside the node's range (Marathon's requirePorts / bridge hostPort) but must be
 * free; dynamic ports must be available in the range, beside the fixed ones.
 */
export const portsFilter: FilterStage = (demand) => {
  const fixed = fixedPorts(demand);
  const dynamic = dynamicPortCount(demand);
  const selfClash = new Set(fixed).size !== fixed.length;
  if (demand.ports.length === 0) return () => undefined;
  return (state) => {
    let ok = !selfClash;
    for (let i = 0; ok && i < fixed.length; i++) ok = !state.usedPorts.has(fixed[i]!);
    // The range minus every used and fixed port is a lower bound of the free ports: when that is
    // enough, there is no need to count which of them lie in the range.
    if (ok && dynamic > 0 && portRangeOf(state).size - state.usedPorts.size - fixed.length < dynamic)
      ok = freeDynamicPorts(state, fixed) >= dynamic;
    return ok ? undefined : { reason: INSUFFICIENT_PORTS };
  };
};

/**
 * Chooses the host ports for one instance on a node that passed `portsFilter`, in demand order.
 * A dynamic port starts at a seeded random point of the range and takes the first free port from
 * there (wrapping), so choices are spread out yet reproducible.
 */
export function assignPorts(state: NodeState, demand: Demand, random: Random): number[] {
  const { lo, size } = portRangeOf(state);
  const taken = new Set([...state.usedPorts, ...fixedPorts(demand)]);
  return demand.ports.map((p) => {
    if (p.hostPort > 0) return p.hostPort;
    const start = randomIndex(random, size);
    for (let i = 0; i < size; i++) {
      const port = lo + ((start + i) % size);
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
    throw new Error(
      `no free port in the range of node ${state.node.id}; assignPorts needs a node that passed portsFilter`,
    );
  });
}

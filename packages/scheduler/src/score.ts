import { freeCpus, freeMemMb, instancesOf, type NodeState } from './state';
import type { Demand } from './types';

const fraction = (free: number, total: number): number =>
  total > 0 ? Math.min(1, Math.max(0, free / total)) : 0;

/**
 * Bin-packing, after nomad's ScoreFit: the fuller a node would be after taking the instance, the
 * better, so large holes stay free for large tasks. Free fractions of cpus and mem go through 10^x,
 * which favours nodes that end up evenly used over nodes full in one resource and empty in the other.
 * 1 = both exactly full after placement, 0 = both untouched. Disk is left out, as in nomad: it is
 * rarely the resource that runs out and would drown the other two.
 */
export function binPackScore(state: NodeState, demand: Demand): number {
  const cpu = fraction(freeCpus(state) - demand.cpus, state.node.resources.cpus);
  const mem = fraction(freeMemMb(state) - demand.memMb, state.node.resources.memMb);
  return (20 - (10 ** cpu + 10 ** mem)) / 18;
}

/**
 * Penalty for stacking instances of one app on one node, after nomad's job anti-affinity: the
 * instances the node already holds, relative to how many this demand places. Placing 3 instances,
 * a second one on a node costs 1/3, which outweighs most bin-packing differences, so small apps
 * spread; placing 100, it costs 1/100, and bin-packing wins.
 */
export function stackingPenalty(state: NodeState, demand: Demand): number {
  return instancesOf(state, demand.appId) / Math.max(1, demand.count);
}

/**
 * Bonus of a node that holds the app's unused persistent data: larger than any bin-packing or
 * stacking difference (each at most 1), so a replacement goes back to its volume when it fits.
 */
export function stickinessBonus(state: NodeState, demand: Demand): number {
  return demand.preferNodes?.includes(state.node.id) ? 2 : 0;
}

/** Higher is better. */
export function scoreNode(state: NodeState, demand: Demand): number {
  return binPackScore(state, demand) - stackingPenalty(state, demand) + stickinessBonus(state, demand);
}

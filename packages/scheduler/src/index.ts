/**
 * @atoll/scheduler: pure, deterministic placement. (snapshot, demands, { now, seed }) → plan; no I/O,
 * no clock, no unseeded randomness. See README.md for the pipeline and its vocabulary.
 */
export type {
  Allocation,
  ClusterSnapshot,
  Constraint,
  Demand,
  NodeSnapshot,
  Placement,
  PlaceOptions,
  Plan,
  Unplaced,
} from './types';
export { place } from './place';
export { chooseTasksToKill, type KillSelection } from './kill';
export { launchDelaySeconds } from './backoff';
export { demandFromApp } from './demand';
export { NODE_NOT_ACTIVE } from './status';
export { INSUFFICIENT_CPUS, INSUFFICIENT_DISK, INSUFFICIENT_MEM } from './resources';
export { INSUFFICIENT_PORTS } from './ports';
export { constraintReason, normalizeConstraint } from './constraints';

import type { NodeState, PlanState } from './state';
import type { Demand } from './types';

/** Why a node cannot take an instance. `reason` is a stable name; the rest feeds the summary. */
export interface Exclusion {
  reason: string;
  /** For resource filters: how much the node had free of what was asked. */
  free?: number;
}

/** Checks one node; `undefined` means the node passes. */
export type NodeFilter = (node: NodeState) => Exclusion | undefined;

/**
 * A filter stage is prepared once per instance to place (so it can precompute, e.g., how many
 * instances of the app each attribute value already holds) and then run against every node.
 */
export type FilterStage = (demand: Demand, plan: PlanState) => NodeFilter;

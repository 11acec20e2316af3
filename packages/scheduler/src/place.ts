import { constraintsFilter, groupBySpread } from './constraints';
import { emptyTally, recordExclusion, summarize, type Tally } from './explain';
import type { Exclusion, FilterStage } from './filter';
import { pickBest } from './pick';
import { assignPorts, portsFilter } from './ports';
import { mulberry32, type Random } from './random';
import { cpusFilter, diskFilter, memFilter } from './resources';
import { scoreNode } from './score';
import { commitPlacement, createPlanState, type NodeState, type PlanState } from './state';
import { statusFilter } from './status';
import type { ClusterSnapshot, Demand, Placement, Plan, PlaceOptions } from './types';

/** Cheap checks first; a node is counted under the first filter that excludes it. */
export const FILTER_STAGES: readonly FilterStage[] = [
  statusFilter,
  cpusFilter,
  memFilter,
  diskFilter,
  portsFilter,
  constraintsFilter,
];

/**
 * Places the demands, in order, one instance at a time: filter the nodes, score the survivors, pick
 * the best (seeded tie-break), choose its ports and book the instance in the plan's working state
 * before placing the next, so later instances see earlier ones. When an instance cannot be placed
 * the rest of its demand cannot either (nothing changed in between), so they are reported together.
 *
 * Pure: the snapshot is not modified, and the same arguments give the same plan. `opts.now` is part
 * of the contract so that time-based rules never need a clock; no current rule depends on it.
 */
export function place(snapshot: ClusterSnapshot, demands: Demand[], opts: PlaceOptions): Plan {
  const random = mulberry32(opts.seed);
  const state = createPlanState(snapshot);
  const plan: Plan = { placements: [], unplaced: [] };
  for (const demand of demands) {
    const wanted = Number.isFinite(demand.count) ? Math.max(0, Math.floor(demand.count)) : 0;
    for (let placed = 0; placed < wanted; placed++) {
      const attempt = placeInstance(state, demand, random);
      if ('tally' in attempt) {
        plan.unplaced.push({
          appId: demand.appId,
          count: wanted - placed,
          reasons: attempt.tally.reasons,
          summary: summarize(demand, attempt.tally),
        });
        break;
      }
      plan.placements.push(attempt.placement);
    }
  }
  return plan;
}

/** Filter, score, pick and book one instance of `demand`; or say why no node can take it. */
export function placeInstance(
  state: PlanState,
  demand: Demand,
  random: Random,
): { placement: Placement } | { tally: Tally } {
  const filters = FILTER_STAGES.map((stage) => stage(demand, state));
  const tally = emptyTally();
  const feasible: NodeState[] = [];
  for (const node of state.nodes) {
    let exclusion: Exclusion | undefined;
    for (const filter of filters) {
      exclusion = filter(node);
      if (exclusion) break;
    }
    if (exclusion) recordExclusion(tally, exclusion);
    else feasible.push(node);
  }
  const spread = groupBySpread(feasible, demand, state);
  for (const { exclusion } of spread.excluded) recordExclusion(tally, exclusion);

  const chosen = pickBest(
    spread.kept.map((node) => ({ item: node, score: scoreNode(node, demand) })),
    random,
  );
  if (!chosen) return { tally };
  const hostPorts = assignPorts(chosen, demand, random);
  commitPlacement(chosen, demand, hostPorts);
  return { placement: { appId: demand.appId, nodeId: chosen.node.id, hostPorts } };
}

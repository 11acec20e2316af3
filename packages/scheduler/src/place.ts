import { constraintsFilter, countsInstances, groupBySpread, normalizeConstraint } from './constraints';
import { emptyTally, recordExclusion, summarize, type Tally } from './explain';
import type { Exclusion, FilterStage, NodeFilter } from './filter';
import { pickBest } from './pick';
import { assignPorts, portsFilter } from './ports';
import { mulberry32, type Random } from './random';
import { cpusFilter, diskFilter, memFilter } from './resources';
import { scoreNode } from './score';
import { commitPlacement, createPlanState, type NodeState, type PlanState } from './state';
import { statusFilter } from './status';
import type { ClusterSnapshot, Constraint, Demand, Placement, Plan, PlaceOptions } from './types';

/**
 * Cheap checks first; a node is counted under the first filter that excludes it. The node stages read
 * only the node and the demand; the constraints also read the rest of the plan (instances per value).
 */
const NODE_STAGES: readonly FilterStage[] = [statusFilter, cpusFilter, memFilter, diskFilter, portsFilter];
export const FILTER_STAGES: readonly FilterStage[] = [...NODE_STAGES, constraintsFilter];

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
    const verdicts = wanted > 0 ? new NodeVerdicts(state, demand) : undefined;
    for (let placed = 0; placed < wanted; placed++) {
      const attempt = placeInstance(state, demand, random, verdicts);
      if ('tally' in attempt) {
        plan.unplaced.push({
          appId: demand.appId,
          count: wanted - placed,
          reasons: attempt.tally.reasons,
          excluded: attempt.tally.excluded,
          summary: summarize(demand, attempt.tally),
        });
        break;
      }
      plan.placements.push(attempt.placement);
    }
  }
  return plan;
}

/**
 * What the node stages say of each node, and its score, for one demand. Both read only the node and
 * the demand, and booking an instance changes only the node that takes it, so between instances of
 * a demand they stay true for every other node: they are worked out once per node and demand, and
 * again for a node after it takes an instance (`forget`). So are the constraints that do not count
 * instances (IS, LIKE, …); those that do (UNIQUE, MAX_PER, …) are checked for every instance, on the
 * nodes that passed the rest when the demand began (no other node can pass: nothing changes but the
 * node taking an instance, which passed). Placing n instances costs one full pass and n short ones.
 */
export class NodeVerdicts {
  /** The demand with only its constraints that count instances, for `constraintsFilter`. */
  readonly counting: Demand;
  /** The nodes that passed the node stages and the other constraints when the demand began, in plan order. */
  readonly candidates: NodeState[];
  private readonly filters: NodeFilter[];
  private readonly fixedConstraints: NodeFilter;
  private readonly known: Uint8Array;
  private readonly exclusions: Array<Exclusion | undefined>;
  private readonly passing: Uint8Array;
  private readonly scored: Uint8Array;
  private readonly scores: Float64Array;

  constructor(
    plan: PlanState,
    private readonly demand: Demand,
  ) {
    const counts = (c: Constraint) => countsInstances(normalizeConstraint(c));
    this.counting = { ...demand, constraints: demand.constraints.filter(counts) };
    this.filters = NODE_STAGES.map((stage) => stage(demand, plan));
    const fixed = { ...demand, constraints: demand.constraints.filter((c) => !counts(c)) };
    this.fixedConstraints = constraintsFilter(fixed, plan);
    const n = plan.nodes.length;
    this.known = new Uint8Array(n);
    this.exclusions = new Array<Exclusion | undefined>(n).fill(undefined);
    this.passing = new Uint8Array(n);
    this.scored = new Uint8Array(n);
    this.scores = new Float64Array(n);
    this.candidates = plan.nodes.filter((node) => this.passes(node));
  }

  private judge(node: NodeState): void {
    const i = node.index;
    if (this.known[i] === 1) return;
    let exclusion: Exclusion | undefined;
    for (const filter of this.filters) {
      exclusion = filter(node);
      if (exclusion) break;
    }
    this.exclusions[i] = exclusion;
    this.passing[i] = exclusion === undefined && this.fixedConstraints(node) === undefined ? 1 : 0;
    this.known[i] = 1;
  }

  /** The first node stage excluding the node, if any. */
  exclusion(node: NodeState): Exclusion | undefined {
    this.judge(node);
    return this.exclusions[node.index];
  }

  /** Whether the node passes the node stages and the constraints that do not count instances. */
  passes(node: NodeState): boolean {
    this.judge(node);
    return this.passing[node.index] === 1;
  }

  score(node: NodeState): number {
    const i = node.index;
    if (this.scored[i] === 0) {
      this.scores[i] = scoreNode(node, this.demand);
      this.scored[i] = 1;
    }
    return this.scores[i]!;
  }

  /** The node has changed (it took an instance): judge and score it again when asked. */
  forget(node: NodeState): void {
    this.known[node.index] = 0;
    this.scored[node.index] = 0;
  }
}

/** Filter, score, pick and book one instance of `demand`; or say why no node can take it. */
export function placeInstance(
  state: PlanState,
  demand: Demand,
  random: Random,
  verdicts: NodeVerdicts = new NodeVerdicts(state, demand),
): { placement: Placement } | { tally: Tally } {
  const counting = constraintsFilter(verdicts.counting, state);
  const feasible: NodeState[] = [];
  for (const node of verdicts.candidates) if (verdicts.passes(node) && !counting(node)) feasible.push(node);
  const spread = groupBySpread(feasible, demand, state);
  const chosen = pickBest(
    spread.kept.map((node) => ({ item: node, score: verdicts.score(node) })),
    random,
  );
  if (!chosen) {
    // Only now is the tally needed: each node under the first filter, in pipeline order, that
    // excludes it (the filters are pure and nothing has changed, so asking again gives the same answers).
    const tally = emptyTally();
    const constraints = constraintsFilter(demand, state);
    for (const node of state.nodes) {
      const exclusion = verdicts.exclusion(node) ?? constraints(node);
      if (exclusion) recordExclusion(tally, exclusion, node.node);
    }
    for (const { state: node, exclusion } of spread.excluded) recordExclusion(tally, exclusion, node.node);
    return { tally };
  }
  const hostPorts = assignPorts(chosen, demand, random);
  commitPlacement(chosen, demand, hostPorts);
  verdicts.forget(chosen);
  return { placement: { appId: demand.appId, nodeId: chosen.node.id, hostPorts } };
}

import type { ClusterSnapshot, Demand, NodeSnapshot } from './types';

/**
 * The scheduler's working view of one node: what the snapshot's allocations hold plus what this plan
 * has already put there. Filters and scores read it; only `commitPlacement` writes it, so a plan that
 * places instances one at a time can never over-commit a node.
 */
export interface NodeState {
  readonly node: NodeSnapshot;
  /** Position in the plan's `nodes`. */
  readonly index: number;
  usedCpus: number;
  usedMemMb: number;
  usedDiskMb: number;
  readonly usedPorts: Set<number>;
  /** appId -> instances on this node (snapshot allocations and placements in this plan). */
  readonly instancesByApp: Map<string, number>;
  /** The plan's `nodesByApp`, shared by all its nodes, so that booking an instance can update it. */
  readonly nodesByApp: Map<string, NodeState[]>;
}

export interface PlanState {
  readonly nodes: NodeState[];
  /**
   * appId -> the nodes holding at least one instance of it, so that counting an app's instances
   * (constraints do, for every instance placed) visits those nodes rather than the whole cluster.
   */
  readonly nodesByApp: Map<string, NodeState[]>;
}

export function createPlanState(snapshot: ClusterSnapshot): PlanState {
  const nodesByApp = new Map<string, NodeState[]>();
  const nodes = snapshot.nodes.map((node, index) => {
    const state: NodeState = {
      node,
      index,
      usedCpus: 0,
      usedMemMb: 0,
      usedDiskMb: 0,
      usedPorts: new Set(),
      instancesByApp: new Map(),
      nodesByApp,
    };
    for (const a of node.allocations) {
      state.usedCpus += a.cpus;
      state.usedMemMb += a.memMb;
      state.usedDiskMb += a.diskMb;
      for (const p of a.hostPorts) state.usedPorts.add(p);
      addInstance(state, a.appId);
    }
    return state;
  });
  return { nodes, nodesByApp };
}

function addInstance(state: NodeState, appId: string): void {
  const n = instancesOf(state, appId);
  state.instancesByApp.set(appId, n + 1);
  if (n > 0) return;
  const holders = state.nodesByApp.get(appId);
  if (holders) holders.push(state);
  else state.nodesByApp.set(appId, [state]);
}

export function commitPlacement(state: NodeState, demand: Demand, hostPorts: readonly number[]): void {
  state.usedCpus += demand.cpus;
  state.usedMemMb += demand.memMb;
  state.usedDiskMb += demand.diskMb;
  for (const p of hostPorts) state.usedPorts.add(p);
  addInstance(state, demand.appId);
}

export function instancesOf(state: NodeState, appId: string): number {
  return state.instancesByApp.get(appId) ?? 0;
}

export const freeCpus = (s: NodeState): number => s.node.resources.cpus - s.usedCpus;
export const freeMemMb = (s: NodeState): number => s.node.resources.memMb - s.usedMemMb;
export const freeDiskMb = (s: NodeState): number => s.node.resources.diskMb - s.usedDiskMb;

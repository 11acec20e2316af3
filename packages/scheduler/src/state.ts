import type { ClusterSnapshot, Demand, NodeSnapshot } from './types';

/**
 * The scheduler's working view of one node: what the snapshot's allocations hold plus what this plan
 * has already put there. Filters and scores read it; only `commitPlacement` writes it, so a plan that
 * places instances one at a time can never over-commit a node.
 */
export interface NodeState {
  readonly node: NodeSnapshot;
  usedCpus: number;
  usedMemMb: number;
  usedDiskMb: number;
  readonly usedPorts: Set<number>;
  /** appId -> instances on this node (snapshot allocations and placements in this plan). */
  readonly instancesByApp: Map<string, number>;
}

export interface PlanState {
  readonly nodes: NodeState[];
}

export function createPlanState(snapshot: ClusterSnapshot): PlanState {
  return {
    nodes: snapshot.nodes.map((node) => {
      const state: NodeState = {
        node,
        usedCpus: 0,
        usedMemMb: 0,
        usedDiskMb: 0,
        usedPorts: new Set(),
        instancesByApp: new Map(),
      };
      for (const a of node.allocations) {
        state.usedCpus += a.cpus;
        state.usedMemMb += a.memMb;
        state.usedDiskMb += a.diskMb;
        for (const p of a.hostPorts) state.usedPorts.add(p);
        state.instancesByApp.set(a.appId, (state.instancesByApp.get(a.appId) ?? 0) + 1);
      }
      return state;
    }),
  };
}

export function commitPlacement(state: NodeState, demand: Demand, hostPorts: readonly number[]): void {
  state.usedCpus += demand.cpus;
  state.usedMemMb += demand.memMb;
  state.usedDiskMb += demand.diskMb;
  for (const p of hostPorts) state.usedPorts.add(p);
  state.instancesByApp.set(demand.appId, instancesOf(state, demand.appId) + 1);
}

export function instancesOf(state: NodeState, appId: string): number {
  return state.instancesByApp.get(appId) ?? 0;
}

export const freeCpus = (s: NodeState): number => s.node.resources.cpus - s.usedCpus;
export const freeMemMb = (s: NodeState): number => s.node.resources.memMb - s.usedMemMb;
export const freeDiskMb = (s: NodeState): number => s.node.resources.diskMb - s.usedDiskMb;

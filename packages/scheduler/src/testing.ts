/**
 * Test factories with full, valid defaults (nomad's mock.Node()): tests state only what matters to
 * them, e.g. `makeNode({ id: 'a', cpus: 2 })`. Resource fields are given flat, beside the others.
 */
import { createPlanState, type PlanState } from './state';
import type { Allocation, Demand, NodeSnapshot } from './types';

export type NodeOverrides = Partial<Omit<NodeSnapshot, 'resources'>> & Partial<NodeSnapshot['resources']>;

export function makeNode(overrides: NodeOverrides = {}): NodeSnapshot {
  const { cpus = 4, memMb = 8192, diskMb = 100_000, portRange = [10_000, 20_000], ...rest } = overrides;
  const id = rest.id ?? 'node-1';
  return {
    id,
    hostname: `${id}.atoll.test`,
    status: 'ACTIVE',
    attributes: {},
    allocations: [],
    ...rest,
    resources: { cpus, memMb, diskMb, portRange },
  };
}

/** `n` nodes named node-1 … node-n, each with the same overrides. */
export function makeNodes(n: number, overrides: Omit<NodeOverrides, 'id' | 'hostname'> = {}): NodeSnapshot[] {
  return Array.from({ length: n }, (_, i) => makeNode({ ...overrides, id: `node-${i + 1}` }));
}

export function makeAllocation(overrides: Partial<Allocation> = {}): Allocation {
  return { taskId: 'task-1', appId: '/other', cpus: 1, memMb: 128, diskMb: 0, hostPorts: [], ...overrides };
}

export function makeDemand(overrides: Partial<Demand> = {}): Demand {
  return {
    appId: '/app',
    count: 1,
    cpus: 1,
    memMb: 128,
    diskMb: 0,
    ports: [],
    constraints: [],
    ...overrides,
  };
}

/** The working state the filters and scores read, for the given nodes. */
export function makePlanState(...nodes: NodeSnapshot[]): PlanState {
  return createPlanState({ nodes });
}

import { describe, expect, it } from 'vitest';
import { commitPlacement, createPlanState, freeCpus, freeDiskMb, freeMemMb, instancesOf } from './state';
import { makeAllocation, makeDemand, makeNode } from './testing';

describe('plan state', () => {
  it.each([
    { name: 'an empty node', allocations: [], free: [4, 8192, 100_000], ports: [], app: 0 },
    {
      name: 'allocations hold resources and ports',
      allocations: [
        makeAllocation({ appId: '/app', cpus: 1, memMb: 1000, diskMb: 10, hostPorts: [80] }),
        makeAllocation({
          taskId: 't2',
          appId: '/app',
          cpus: 0.5,
          memMb: 24,
          diskMb: 0,
          hostPorts: [10_001, 10_002],
        }),
        makeAllocation({ taskId: 't3', appId: '/other', cpus: 0.5, memMb: 0, diskMb: 90, hostPorts: [] }),
      ],
      free: [2, 7168, 99_900],
      ports: [80, 10_001, 10_002],
      app: 2,
    },
  ])('$name', ({ allocations, free, ports, app }) => {
    const state = createPlanState({ nodes: [makeNode({ allocations })] }).nodes[0]!;
    expect([freeCpus(state), freeMemMb(state), freeDiskMb(state)]).toEqual(free);
    expect([...state.usedPorts].sort((a, b) => a - b)).toEqual(ports);
    expect(instancesOf(state, '/app')).toBe(app);
  });

  it('commitPlacement books the instance without touching the snapshot', () => {
    const node = makeNode();
    const before = structuredClone(node);
    const state = createPlanState({ nodes: [node] }).nodes[0]!;
    commitPlacement(state, makeDemand({ appId: '/app', cpus: 1.5, memMb: 192, diskMb: 5 }), [10_500]);
    expect([freeCpus(state), freeMemMb(state), freeDiskMb(state)]).toEqual([2.5, 8000, 99_995]);
    expect(state.usedPorts.has(10_500)).toBe(true);
    expect(instancesOf(state, '/app')).toBe(1);
    expect(node).toEqual(before);
  });
});

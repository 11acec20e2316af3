import { describe, expect, it } from 'vitest';
import { binPackScore, scoreNode, stackingPenalty } from './score';
import { makeAllocation, makeDemand, makeNode, makePlanState, type NodeOverrides } from './testing';
import type { Allocation, Demand } from './types';

describe('binPackScore', () => {
  it.each([
    {
      name: 'exactly full afterwards scores 1',
      node: { cpus: 1, memMb: 128 },
      demand: { cpus: 1, memMb: 128 },
      score: 1,
    },
    { name: 'asking nothing of an empty node scores 0', node: {}, demand: { cpus: 0, memMb: 0 }, score: 0 },
    {
      name: 'half full in both',
      node: { cpus: 2, memMb: 256 },
      demand: { cpus: 1, memMb: 128 },
      score: (20 - 2 * 10 ** 0.5) / 18,
    },
    {
      name: 'a node without cpus counts as full',
      node: { cpus: 0, memMb: 128 },
      demand: { cpus: 0, memMb: 128 },
      score: 1,
    },
  ])('$name', ({ node, demand, score }) => {
    const plan = makePlanState(makeNode(node));
    expect(binPackScore(plan.nodes[0]!, makeDemand(demand))).toBeCloseTo(score, 9);
  });

  it.each([
    { name: 'the fuller node wins', a: { cpus: 2, memMb: 1024 }, b: { cpus: 8, memMb: 4096 } },
    {
      name: 'allocations make a node fuller',
      a: { allocations: [makeAllocation({ cpus: 3, memMb: 3000 })] },
      b: {},
    },
    {
      // Afterwards a is half free in both, b a quarter free in cpus and three quarters in mem.
      name: 'evenly used beats lopsided at the same total',
      a: { allocations: [makeAllocation({ cpus: 1.5, memMb: 3584 })] },
      b: { allocations: [makeAllocation({ cpus: 2.5, memMb: 1536 })] },
    },
  ] as Array<{ name: string; a: NodeOverrides; b: NodeOverrides }>)('$name', ({ a, b }) => {
    const plan = makePlanState(makeNode({ id: 'a', ...a }), makeNode({ id: 'b', ...b }));
    const demand = makeDemand({ cpus: 0.5, memMb: 512 });
    expect(binPackScore(plan.nodes[0]!, demand)).toBeGreaterThan(binPackScore(plan.nodes[1]!, demand));
  });
});

describe('stackingPenalty', () => {
  const app = (n: number): Allocation[] =>
    Array.from({ length: n }, (_, i) => makeAllocation({ taskId: `t${i}`, appId: '/app' }));
  it.each([
    {
      name: 'none of the app on the node',
      allocations: [makeAllocation({ appId: '/other' })],
      count: 3,
      penalty: 0,
    },
    { name: 'one of three', allocations: app(1), count: 3, penalty: 1 / 3 },
    { name: 'two of a hundred', allocations: app(2), count: 100, penalty: 0.02 },
    { name: 'count 0 does not divide by zero', allocations: app(1), count: 0, penalty: 1 },
  ])('$name', ({ allocations, count, penalty }) => {
    const plan = makePlanState(makeNode({ allocations }));
    expect(stackingPenalty(plan.nodes[0]!, makeDemand({ appId: '/app', count }))).toBeCloseTo(penalty, 12);
  });
});

describe('scoreNode', () => {
  type Case = { name: string; demand: Partial<Demand>; winner: 'stacked' | 'empty' };
  it.each<Case>([
    { name: 'a few instances spread out', demand: { count: 3 }, winner: 'empty' },
    {
      name: 'many small instances bin-pack',
      demand: { count: 100, cpus: 0.1, memMb: 32 },
      winner: 'stacked',
    },
  ])('$name', ({ demand, winner }) => {
    const one = makeAllocation({ appId: '/app', cpus: 1, memMb: 1024 });
    const plan = makePlanState(makeNode({ id: 'stacked', allocations: [one] }), makeNode({ id: 'empty' }));
    const d = makeDemand({ appId: '/app', ...demand });
    const [stacked, empty] = plan.nodes.map((s) => scoreNode(s, d)) as [number, number];
    expect(winner === 'stacked' ? stacked > empty : empty > stacked).toBe(true);
  });
});

describe('stickinessBonus', () => {
  it('sends an instance back to the node holding its unused volume, over a better bin-packing fit', () => {
    const plan = makePlanState(
      makeNode({ id: 'fuller', allocations: [makeAllocation({ cpus: 3, memMb: 3000 })] }),
      makeNode({ id: 'volume' }),
    );
    const plain = makeDemand({ cpus: 0.5, memMb: 512 });
    expect(scoreNode(plan.nodes[0]!, plain)).toBeGreaterThan(scoreNode(plan.nodes[1]!, plain));
    const sticky = makeDemand({ cpus: 0.5, memMb: 512, preferNodes: ['volume'] });
    expect(scoreNode(plan.nodes[1]!, sticky)).toBeGreaterThan(scoreNode(plan.nodes[0]!, sticky));
  });
});

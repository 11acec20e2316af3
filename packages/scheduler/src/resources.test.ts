import { describe, expect, it } from 'vitest';
import {
  cpusFilter,
  diskFilter,
  fits,
  INSUFFICIENT_CPUS,
  INSUFFICIENT_DISK,
  INSUFFICIENT_MEM,
  memFilter,
} from './resources';
import { makeAllocation, makeDemand, makeNode, makePlanState, type NodeOverrides } from './testing';
import type { Allocation, Demand } from './types';

describe('fits', () => {
  it.each([
    { name: 'exactly full', need: 2, free: 2, ok: true },
    { name: 'below', need: 1, free: 2, ok: true },
    { name: 'above', need: 2.01, free: 2, ok: false },
    { name: '0.1 + 0.2 cpus fit in 0.3', need: 0.1 + 0.2, free: 0.3, ok: true },
    { name: 'a real shortfall of 0.001 cpus', need: 0.301, free: 0.3, ok: false },
    { name: 'nothing fits on an over-full node', need: 0, free: -1, ok: true },
    { name: 'something does not fit on an over-full node', need: 0.1, free: -1, ok: false },
  ])('$name', ({ need, free, ok }) => {
    expect(fits(need, free)).toBe(ok);
  });
});

type Case = {
  name: string;
  node: NodeOverrides;
  allocations?: Allocation[];
  demand: Partial<Demand>;
  expected: { reason: string; free: number } | undefined;
};

describe('resource filters (cpus, mem, disk, in that order)', () => {
  const cases: Case[] = [
    { name: 'fits everything', node: {}, demand: {}, expected: undefined },
    {
      name: 'too many cpus',
      node: { cpus: 2 },
      demand: { cpus: 4 },
      expected: { reason: INSUFFICIENT_CPUS, free: 2 },
    },
    {
      name: 'cpus held by allocations count',
      node: { cpus: 4 },
      allocations: [makeAllocation({ cpus: 1.5 }), makeAllocation({ taskId: 't2', cpus: 1.5 })],
      demand: { cpus: 1.5 },
      expected: { reason: INSUFFICIENT_CPUS, free: 1 },
    },
    {
      name: 'fractional cpus summing to the node exactly',
      node: { cpus: 0.3 },
      allocations: [makeAllocation({ cpus: 0.1 })],
      demand: { cpus: 0.2 },
      expected: undefined,
    },
    {
      name: 'too much mem',
      node: { memMb: 256 },
      demand: { memMb: 512 },
      expected: { reason: INSUFFICIENT_MEM, free: 256 },
    },
    {
      name: 'too much disk',
      node: { diskMb: 100 },
      demand: { diskMb: 1024 },
      expected: { reason: INSUFFICIENT_DISK, free: 100 },
    },
    {
      name: 'zero disk fits a node without disk',
      node: { diskMb: 0 },
      demand: { diskMb: 0 },
      expected: undefined,
    },
    {
      name: 'cpus is reported before mem',
      node: { cpus: 1, memMb: 64 },
      demand: { cpus: 2, memMb: 128 },
      expected: { reason: INSUFFICIENT_CPUS, free: 1 },
    },
  ];

  it.each(cases)('$name', ({ node, allocations = [], demand, expected }) => {
    const plan = makePlanState(makeNode({ ...node, allocations }));
    const d = makeDemand(demand);
    const filters = [cpusFilter, memFilter, diskFilter].map((stage) => stage(d, plan));
    const state = plan.nodes[0]!;
    const first = filters.map((f) => f(state)).find((e) => e !== undefined);
    expect(first).toEqual(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { assignPorts, freeDynamicPorts, INSUFFICIENT_PORTS, portsFilter } from './ports';
import { mulberry32 } from './random';
import { makeAllocation, makeDemand, makeNode, makePlanState } from './testing';

const tcp = (hostPort: number) => ({ hostPort, protocol: 'tcp' });

type Case = {
  name: string;
  portRange?: [number, number];
  used?: number[];
  ports: number[];
  ok: boolean;
};

describe('portsFilter', () => {
  const cases: Case[] = [
    { name: 'no ports asked', portRange: [1, 0], ports: [], ok: true },
    { name: 'a free fixed port in the range', ports: [10_080], ok: true },
    { name: 'a free fixed port outside the range', ports: [80], ok: true },
    { name: 'a fixed port taken by an allocation', used: [80], ports: [80], ok: false },
    { name: 'the same fixed port twice', ports: [80, 80], ok: false },
    {
      name: 'a dynamic port from a range with room',
      portRange: [100, 101],
      used: [100],
      ports: [0],
      ok: true,
    },
    {
      name: 'a dynamic port from a full range',
      portRange: [100, 101],
      used: [100, 101],
      ports: [0],
      ok: false,
    },
    { name: 'two dynamic ports, one free', portRange: [100, 101], used: [101], ports: [0, 0], ok: false },
    {
      name: 'a fixed port inside the range leaves too little for the dynamic one',
      portRange: [100, 101],
      used: [101],
      ports: [100, 0],
      ok: false,
    },
    { name: 'an empty range (lo > hi)', portRange: [200, 100], ports: [0], ok: false },
    { name: 'a fixed port needs no range', portRange: [200, 100], ports: [8080], ok: true },
    {
      name: 'ports used outside the range do not shrink it',
      portRange: [100, 100],
      used: [80, 99],
      ports: [0],
      ok: true,
    },
  ];

  it.each(cases)('$name', ({ portRange = [10_000, 20_000], used = [], ports, ok }) => {
    const plan = makePlanState(makeNode({ portRange, allocations: [makeAllocation({ hostPorts: used })] }));
    const result = portsFilter(makeDemand({ ports: ports.map(tcp) }), plan)(plan.nodes[0]!);
    expect(result).toEqual(ok ? undefined : { reason: INSUFFICIENT_PORTS });
  });
});

describe('freeDynamicPorts', () => {
  it.each([
    { name: 'whole range', portRange: [1, 10] as [number, number], used: [], also: [], free: 10 },
    { name: 'minus used', portRange: [1, 10] as [number, number], used: [1, 2], also: [], free: 8 },
    {
      name: 'minus fixed about to be taken',
      portRange: [1, 10] as [number, number],
      used: [1],
      also: [1, 5],
      free: 8,
    },
    {
      name: 'clipped to real ports',
      portRange: [0, 65_540] as [number, number],
      used: [],
      also: [],
      free: 65_535,
    },
  ])('$name', ({ portRange, used, also, free }) => {
    const plan = makePlanState(makeNode({ portRange, allocations: [makeAllocation({ hostPorts: used })] }));
    expect(freeDynamicPorts(plan.nodes[0]!, also)).toBe(free);
  });
});

describe('assignPorts', () => {
  it.each([
    { name: 'fixed ports as asked', portRange: [100, 199] as [number, number], used: [], ports: [80, 443] },
    {
      name: 'dynamic ports within the range',
      portRange: [100, 199] as [number, number],
      used: [],
      ports: [0, 0, 0],
    },
    {
      name: 'mixed, dynamic avoiding the fixed',
      portRange: [100, 101] as [number, number],
      used: [],
      ports: [0, 100],
    },
    {
      name: 'the last free port',
      portRange: [100, 104] as [number, number],
      used: [100, 101, 103, 104],
      ports: [0],
    },
  ])('$name', ({ portRange, used, ports }) => {
    const plan = makePlanState(makeNode({ portRange, allocations: [makeAllocation({ hostPorts: used })] }));
    const demand = makeDemand({ ports: ports.map(tcp) });
    const chosen = assignPorts(plan.nodes[0]!, demand, mulberry32(1));
    expect(chosen).toHaveLength(ports.length);
    expect(new Set(chosen).size).toBe(chosen.length);
    chosen.forEach((p, i) => {
      const asked = ports[i]!;
      if (asked > 0) expect(p).toBe(asked);
      else expect(p >= portRange[0] && p <= portRange[1] && !used.includes(p)).toBe(true);
    });
    expect(assignPorts(plan.nodes[0]!, demand, mulberry32(1))).toEqual(chosen);
  });

  it('spreads dynamic ports over the range across seeds', () => {
    const plan = makePlanState(makeNode({ portRange: [10_000, 20_000] }));
    const demand = makeDemand({ ports: [tcp(0)] });
    const seen = new Set(
      Array.from({ length: 20 }, (_, seed) => assignPorts(plan.nodes[0]!, demand, mulberry32(seed))[0]),
    );
    expect(seen.size).toBeGreaterThan(15);
  });
});

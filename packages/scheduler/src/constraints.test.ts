import { describe, expect, it } from 'vitest';
import { constraintsFilter, fieldValue, groupBySpread, normalizeConstraint } from './constraints';
import { makeAllocation, makeDemand, makeNode, makePlanState } from './testing';
import type { Constraint, NodeSnapshot } from './types';

const APP = '/app';
const running = (n: number, appId = APP) =>
  Array.from({ length: n }, (_, i) => makeAllocation({ taskId: `${appId}-${i}`, appId, cpus: 0, memMb: 0 }));

/** Three racks: a1 (rack-1, ssd), b1 (rack-2), c1 (rack-3, no disk attribute). */
function cluster(instances: Partial<Record<'a1' | 'b1' | 'c1', number>> = {}): NodeSnapshot[] {
  return [
    makeNode({
      id: 'a1',
      hostname: 'a1.dc',
      attributes: { rack: 'rack-1', disk: 'ssd' },
      allocations: running(instances.a1 ?? 0),
    }),
    makeNode({
      id: 'b1',
      hostname: 'b1.dc',
      attributes: { rack: 'rack-2', disk: 'hdd' },
      allocations: running(instances.b1 ?? 0),
    }),
    makeNode({
      id: 'c1',
      hostname: 'c1.dc',
      attributes: { rack: 'rack-3' },
      allocations: running(instances.c1 ?? 0),
    }),
  ];
}

describe('normalizeConstraint', () => {
  it.each([
    { name: 'two parts', c: ['hostname', 'UNIQUE'] as Constraint, key: 'hostname:UNIQUE' },
    { name: 'three parts', c: ['rack', 'LIKE', 'rack-[12]'] as Constraint, key: 'rack:LIKE:rack-[12]' },
    { name: 'lowercase operator', c: ['rack', 'cluster', 'r1'] as Constraint, key: 'rack:CLUSTER:r1' },
    { name: 'EQ is IS', c: ['rack', 'EQ', 'r1'] as Constraint, key: 'rack:IS:r1' },
  ])('$name', ({ c, key }) => {
    expect(normalizeConstraint(c).key).toBe(key);
  });
});

describe('fieldValue', () => {
  const plan = makePlanState(
    makeNode({ hostname: 'h.dc', attributes: { rack: 'r1', zone: 'z1', hostname: 'attr' } }),
  );
  it.each([
    { name: 'hostname', field: 'hostname', value: 'h.dc' },
    { name: '@hostname', field: '@hostname', value: 'h.dc' },
    { name: 'an attribute', field: 'rack', value: 'r1' },
    { name: '@zone finds the zone attribute', field: '@zone', value: 'z1' },
    { name: 'a missing attribute', field: 'gpu', value: undefined },
    { name: 'no prototype keys', field: 'toString', value: undefined },
  ])('$name', ({ field, value }) => {
    expect(fieldValue(plan.nodes[0]!, field)).toBe(value);
  });
});

type Case = {
  name: string;
  constraints: Constraint[];
  instances?: Partial<Record<'a1' | 'b1' | 'c1', number>>;
  /** Nodes that pass; the others must be excluded by `reason`. */
  pass: string[];
  reason?: string;
};

describe('constraintsFilter', () => {
  const cases: Case[] = [
    { name: 'no constraints', constraints: [], pass: ['a1', 'b1', 'c1'] },
    {
      name: 'hostname:UNIQUE skips nodes running the app',
      constraints: [['hostname', 'UNIQUE']],
      instances: { a1: 1 },
      pass: ['b1', 'c1'],
      reason: 'constraint hostname:UNIQUE',
    },
    {
      name: '@hostname:UNIQUE is the same field',
      constraints: [['@hostname', 'UNIQUE']],
      instances: { b1: 2 },
      pass: ['a1', 'c1'],
      reason: 'constraint @hostname:UNIQUE',
    },
    {
      name: 'rack:UNIQUE skips the rack running the app',
      constraints: [['rack', 'UNIQUE']],
      instances: { c1: 1 },
      pass: ['a1', 'b1'],
      reason: 'constraint rack:UNIQUE',
    },
    {
      name: 'UNIQUE on a missing attribute excludes the node',
      constraints: [['disk', 'UNIQUE']],
      pass: ['a1', 'b1'],
      reason: 'constraint disk:UNIQUE',
    },
    {
      name: 'CLUSTER with a value',
      constraints: [['rack', 'CLUSTER', 'rack-2']],
      pass: ['b1'],
      reason: 'constraint rack:CLUSTER:rack-2',
    },
    {
      name: 'CLUSTER without a value, nothing running',
      constraints: [['rack', 'CLUSTER']],
      pass: ['a1', 'b1', 'c1'],
    },
    {
      name: 'CLUSTER without a value follows the running instances',
      constraints: [['rack', 'CLUSTER']],
      instances: { c1: 1 },
      pass: ['c1'],
      reason: 'constraint rack:CLUSTER',
    },
    {
      name: 'LIKE is a full match',
      constraints: [['rack', 'LIKE', 'rack-[12]']],
      pass: ['a1', 'b1'],
      reason: 'constraint rack:LIKE:rack-[12]',
    },
    {
      name: 'LIKE does not match a prefix',
      constraints: [['rack', 'LIKE', 'rack']],
      pass: [],
      reason: 'constraint rack:LIKE:rack',
    },
    {
      name: 'UNLIKE; a missing attribute satisfies it',
      constraints: [['disk', 'UNLIKE', 'hdd']],
      pass: ['a1', 'c1'],
      reason: 'constraint disk:UNLIKE:hdd',
    },
    {
      name: 'an invalid pattern matches nothing',
      constraints: [['rack', 'LIKE', '(']],
      pass: [],
      reason: 'constraint rack:LIKE:(',
    },
    { name: 'IS', constraints: [['disk', 'IS', 'ssd']], pass: ['a1'], reason: 'constraint disk:IS:ssd' },
    {
      name: 'IS on hostname',
      constraints: [['hostname', 'IS', 'b1.dc']],
      pass: ['b1'],
      reason: 'constraint hostname:IS:b1.dc',
    },
    {
      name: 'MAX_PER counts per value',
      constraints: [['rack', 'MAX_PER', '2']],
      instances: { a1: 2, b1: 1 },
      pass: ['b1', 'c1'],
      reason: 'constraint rack:MAX_PER:2',
    },
    {
      name: 'MAX_PER with a bad value',
      constraints: [['rack', 'MAX_PER', 'two']],
      pass: [],
      reason: 'constraint rack:MAX_PER:two',
    },
    {
      name: 'GROUP_BY only excludes nodes without the attribute here',
      constraints: [['disk', 'GROUP_BY']],
      instances: { a1: 3 },
      pass: ['a1', 'b1'],
      reason: 'constraint disk:GROUP_BY',
    },
    {
      name: 'an unknown operator excludes every node',
      constraints: [['rack', 'NEAR']],
      pass: [],
      reason: 'constraint rack:NEAR',
    },
    {
      name: 'the first failing constraint is the reason',
      constraints: [
        ['rack', 'LIKE', 'rack-[12]'],
        ['hostname', 'UNIQUE'],
      ],
      instances: { a1: 1 },
      pass: ['b1'],
    },
  ];

  it.each(cases)('$name', ({ constraints, instances, pass, reason }) => {
    const plan = makePlanState(...cluster(instances));
    const filter = constraintsFilter(makeDemand({ appId: APP, constraints }), plan);
    for (const state of plan.nodes) {
      const result = filter(state);
      if (pass.includes(state.node.id)) expect(result, state.node.id).toBeUndefined();
      else if (reason) expect(result, state.node.id).toEqual({ reason });
      else expect(result, state.node.id).toBeDefined();
    }
  });

  it('counts only the same app', () => {
    const nodes = cluster();
    nodes[0]!.allocations = running(1, '/other');
    const plan = makePlanState(...nodes);
    const filter = constraintsFilter(makeDemand({ appId: APP, constraints: [['hostname', 'UNIQUE']] }), plan);
    expect(plan.nodes.map(filter)).toEqual([undefined, undefined, undefined]);
  });
});

describe('groupBySpread', () => {
  it.each([
    {
      name: 'no GROUP_BY keeps everyone',
      constraints: [] as Constraint[],
      instances: { a1: 2 },
      kept: ['a1', 'b1', 'c1'],
    },
    {
      name: 'nothing running: all groups tie',
      constraints: [['rack', 'GROUP_BY']] as Constraint[],
      instances: {},
      kept: ['a1', 'b1', 'c1'],
    },
    {
      name: 'the emptiest groups win',
      constraints: [['rack', 'GROUP_BY']] as Constraint[],
      instances: { a1: 1 },
      kept: ['b1', 'c1'],
    },
    {
      name: 'uneven groups',
      constraints: [['rack', 'GROUP_BY', '3']] as Constraint[],
      instances: { a1: 3, b1: 1, c1: 2 },
      kept: ['b1'],
    },
  ])('$name', ({ constraints, instances, kept }) => {
    const plan = makePlanState(...cluster(instances));
    const result = groupBySpread(plan.nodes, makeDemand({ appId: APP, constraints }), plan);
    expect(result.kept.map((s) => s.node.id)).toEqual(kept);
    expect(result.excluded.map((e) => e.exclusion.reason)).toEqual(
      Array(3 - kept.length).fill(
        `constraint ${constraints[0] ? normalizeConstraint(constraints[0]).key : ''}`,
      ),
    );
  });

  it('spreads among the candidates only: a full rack does not block the others', () => {
    const plan = makePlanState(...cluster({ a1: 2, b1: 1 }));
    // c1 (rack-3, empty) is not a candidate, e.g. it is out of memory.
    const result = groupBySpread(
      [plan.nodes[0]!, plan.nodes[1]!],
      makeDemand({ appId: APP, constraints: [['rack', 'GROUP_BY']] }),
      plan,
    );
    expect(result.kept.map((s) => s.node.id)).toEqual(['b1']);
  });
});

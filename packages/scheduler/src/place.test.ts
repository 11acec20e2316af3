import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldValue, normalizeConstraint } from './constraints';
import { place } from './place';
import { EPSILON } from './resources';
import { makeAllocation, makeDemand, makeNode, makeNodes, makePlanState } from './testing';
import type { ClusterSnapshot, Constraint, Demand, NodeSnapshot, Plan } from './types';

const opts = { now: 1_700_000_000_000, seed: 42 };
const tcp = (hostPort: number) => ({ hostPort, protocol: 'tcp' });
const onNodes = (plan: Plan) => plan.placements.map((p) => p.nodeId);
const byNode = (plan: Plan) =>
  plan.placements.reduce<Record<string, number>>(
    (acc, p) => ({ ...acc, [p.nodeId]: (acc[p.nodeId] ?? 0) + 1 }),
    {},
  );

type Case = {
  name: string;
  nodes: NodeSnapshot[];
  demands: Demand[];
  /** Node ids in placement order, or instances per node when the order is the seed's business. */
  placed: string[] | Record<string, number>;
  /** Expected unplaced demands, without the per-node list (tested on its own below). */
  unplaced?: Array<Omit<Plan['unplaced'][number], 'excluded'>>;
};

describe('place', () => {
  const cases: Case[] = [
    { name: 'nothing asked', nodes: makeNodes(2), demands: [makeDemand({ count: 0 })], placed: [] },
    {
      name: 'an empty cluster',
      nodes: [],
      demands: [makeDemand({ count: 2 })],
      placed: [],
      unplaced: [{ appId: '/app', count: 2, reasons: {}, summary: 'no ACTIVE node' }],
    },
    {
      name: 'only inactive nodes',
      nodes: [makeNode({ id: 'a', status: 'UNREACHABLE' }), makeNode({ id: 'b', status: 'DRAINING' })],
      demands: [makeDemand()],
      placed: [],
      unplaced: [{ appId: '/app', count: 1, reasons: { 'node not active': 2 }, summary: 'no ACTIVE node' }],
    },
    {
      name: 'the one node that fits',
      nodes: [makeNode({ id: 'small', cpus: 1 }), makeNode({ id: 'big', cpus: 8 })],
      demands: [makeDemand({ cpus: 4 })],
      placed: ['big'],
    },
    {
      name: 'too big for every node',
      nodes: [makeNode({ id: 'a', cpus: 2 }), makeNode({ id: 'b', cpus: 1 })],
      demands: [makeDemand({ cpus: 4, count: 3 })],
      placed: [],
      unplaced: [
        {
          appId: '/app',
          count: 3,
          reasons: { 'insufficient cpus': 2 },
          summary: 'needs 4 cpus, largest free is 2',
        },
      ],
    },
    {
      name: 'instances of one demand use up the node',
      nodes: [makeNode({ id: 'a', cpus: 2 })],
      demands: [makeDemand({ cpus: 1, count: 3 })],
      placed: ['a', 'a'],
      unplaced: [
        {
          appId: '/app',
          count: 1,
          reasons: { 'insufficient cpus': 1 },
          summary: 'needs 1 cpus, largest free is 0',
        },
      ],
    },
    {
      name: 'later demands see earlier ones',
      nodes: [makeNode({ id: 'a', cpus: 4, memMb: 1024 })],
      demands: [makeDemand({ appId: '/x', memMb: 768 }), makeDemand({ appId: '/y', memMb: 512 })],
      placed: ['a'],
      unplaced: [
        {
          appId: '/y',
          count: 1,
          reasons: { 'insufficient mem': 1 },
          summary: 'needs 512 MiB mem, largest free is 256',
        },
      ],
    },
    {
      name: '0.1 + 0.2 cpus fit 0.3',
      nodes: [makeNode({ id: 'a', cpus: 0.3 })],
      demands: [makeDemand({ cpus: 0.1, count: 3 })],
      placed: ['a', 'a', 'a'],
    },
    {
      name: 'hostname:UNIQUE across the plan and the snapshot',
      nodes: [
        makeNode({ id: 'a', allocations: [makeAllocation({ appId: '/app' })] }),
        makeNode({ id: 'b' }),
        makeNode({ id: 'c' }),
      ],
      demands: [makeDemand({ count: 4, constraints: [['hostname', 'UNIQUE']] })],
      placed: { b: 1, c: 1 },
      unplaced: [
        {
          appId: '/app',
          count: 2,
          reasons: { 'constraint hostname:UNIQUE': 3 },
          summary: '3 nodes excluded by hostname:UNIQUE',
        },
      ],
    },
    {
      name: 'a fixed port once per node',
      nodes: [
        makeNode({ id: 'a' }),
        makeNode({ id: 'b', allocations: [makeAllocation({ hostPorts: [80] })] }),
      ],
      demands: [makeDemand({ count: 2, ports: [tcp(80)] })],
      placed: ['a'],
      unplaced: [
        {
          appId: '/app',
          count: 1,
          reasons: { 'insufficient ports': 2 },
          summary: 'needs port 80, unavailable on 2 nodes',
        },
      ],
    },
    {
      name: 'bin-packing prefers the fuller node',
      nodes: [
        makeNode({ id: 'empty' }),
        makeNode({ id: 'busy', allocations: [makeAllocation({ cpus: 2, memMb: 4096 })] }),
      ],
      demands: [makeDemand()],
      placed: ['busy'],
    },
    {
      name: 'a few instances of one app spread over equal nodes',
      nodes: makeNodes(3),
      demands: [makeDemand({ count: 3 })],
      placed: { 'node-1': 1, 'node-2': 1, 'node-3': 1 },
    },
    {
      name: 'GROUP_BY rack spreads evenly over racks, whatever bin-packing prefers',
      nodes: [
        makeNode({ id: 'r1', attributes: { rack: 'r1' }, cpus: 1, memMb: 512 }),
        makeNode({ id: 'r2', attributes: { rack: 'r2' }, cpus: 16, memMb: 65_536 }),
      ],
      demands: [makeDemand({ count: 6, cpus: 0.1, memMb: 16, constraints: [['rack', 'GROUP_BY']] })],
      placed: ['r1', 'r2', 'r1', 'r2', 'r1', 'r2'],
    },
    {
      name: 'MAX_PER counts placements of this plan',
      nodes: [
        makeNode({ id: 'a', attributes: { rack: 'r1' } }),
        makeNode({ id: 'b', attributes: { rack: 'r1' } }),
      ],
      demands: [makeDemand({ count: 3, cpus: 0.1, constraints: [['rack', 'MAX_PER', '2']] })],
      placed: { a: 1, b: 1 },
      unplaced: [
        {
          appId: '/app',
          count: 1,
          reasons: { 'constraint rack:MAX_PER:2': 2 },
          summary: '2 nodes excluded by rack:MAX_PER:2',
        },
      ],
    },
    {
      name: 'CLUSTER without a value keeps the instances together',
      nodes: [
        makeNode({ id: 'a', attributes: { rack: 'r1' } }),
        makeNode({ id: 'b', attributes: { rack: 'r2' } }),
      ],
      demands: [makeDemand({ count: 3, cpus: 0.5, constraints: [['rack', 'CLUSTER']] })],
      placed: ['a', 'a', 'a'],
    },
  ];

  it.each(cases)('$name', ({ nodes, demands, placed, unplaced = [] }) => {
    const snapshot = { nodes };
    const before = structuredClone(snapshot);
    const plan = place(snapshot, demands, opts);
    if (Array.isArray(placed)) expect(onNodes(plan)).toEqual(placed);
    else expect(byNode(plan)).toEqual(placed);
    expect(plan.unplaced.map(({ excluded: _excluded, ...u }) => u)).toEqual(unplaced);
    // Every excluded node is named, and the per-reason counts add up to the list.
    for (const u of plan.unplaced) {
      expect(u.excluded.length).toBe(Object.values(u.reasons).reduce((a, b) => a + b, 0));
    }
    expect(snapshot).toEqual(before);
  });

  it('names each node a constraint excluded', () => {
    const plan = place(
      { nodes: [makeNode({ id: 'a', hostname: 'ha' }), makeNode({ id: 'b', hostname: 'hb' })] },
      [makeDemand({ count: 3, cpus: 0.1, constraints: [['hostname', 'UNIQUE']] })],
      opts,
    );
    expect(plan.unplaced[0]?.excluded).toEqual([
      { nodeId: 'a', hostname: 'ha', reason: 'constraint hostname:UNIQUE' },
      { nodeId: 'b', hostname: 'hb', reason: 'constraint hostname:UNIQUE' },
    ]);
  });

  it('chooses dynamic ports from the range, beside fixed ones, in demand order', () => {
    const node = makeNode({
      id: 'a',
      portRange: [100, 102],
      allocations: [makeAllocation({ hostPorts: [101] })],
    });
    const plan = place({ nodes: [node] }, [makeDemand({ ports: [tcp(0), tcp(8080), tcp(0)] })], opts);
    const [first, fixed, last] = plan.placements[0]!.hostPorts;
    expect(fixed).toBe(8080);
    expect([first, last].sort()).toEqual([100, 102]);
  });

  it('breaks ties by the seed', () => {
    const nodes = makeNodes(5);
    const chosen = new Set(
      Array.from(
        { length: 30 },
        (_, seed) => place({ nodes }, [makeDemand()], { now: 0, seed }).placements[0]!.nodeId,
      ),
    );
    expect(chosen.size).toBeGreaterThan(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const RACKS = ['r1', 'r2', 'r3'];
const CONSTRAINTS: Constraint[] = [
  ['hostname', 'UNIQUE'],
  ['rack', 'UNIQUE'],
  ['rack', 'GROUP_BY'],
  ['rack', 'MAX_PER', '2'],
  ['rack', 'CLUSTER'],
  ['rack', 'LIKE', 'r[12]'],
  ['hostname', 'UNLIKE', 'n1\\..*'],
];
const APPS = ['/app-0', '/app-1', '/app-2', '/app-3'];
const tenths = (max: number) => fc.integer({ min: 0, max: max * 10 }).map((n) => n / 10);

const allocationArb = fc.record({
  appId: fc.constantFrom(...APPS, '/other'),
  cpus: tenths(2),
  memMb: fc.integer({ min: 0, max: 2048 }),
  diskMb: fc.integer({ min: 0, max: 100 }),
});

const nodeArb = fc.record({
  status: fc.constantFrom('ACTIVE', 'ACTIVE', 'ACTIVE', 'DRAINING', 'UNREACHABLE'),
  rack: fc.option(fc.constantFrom(...RACKS), { nil: undefined }),
  cpus: tenths(8),
  memMb: fc.integer({ min: 0, max: 8192 }),
  diskMb: fc.integer({ min: 0, max: 500 }),
  portLo: fc.integer({ min: 100, max: 110 }),
  portCount: fc.integer({ min: 0, max: 5 }),
  usedPorts: fc.uniqueArray(fc.integer({ min: 78, max: 116 }), { maxLength: 6 }),
  allocations: fc.array(allocationArb, { maxLength: 4 }),
});

const snapshotArb: fc.Arbitrary<ClusterSnapshot> = fc.array(nodeArb, { maxLength: 6 }).map((nodes) => ({
  nodes: nodes.map((n, i) =>
    makeNode({
      id: `n${i}`,
      hostname: `n${i}.dc`,
      status: n.status,
      attributes: n.rack ? { rack: n.rack } : {},
      cpus: n.cpus,
      memMb: n.memMb,
      diskMb: n.diskMb,
      portRange: [n.portLo, n.portLo + n.portCount - 1],
      // The used ports go to the first allocation; a node without allocations has none in use.
      allocations: n.allocations.map((a, j) => ({
        taskId: `n${i}-t${j}`,
        ...a,
        hostPorts: j === 0 ? n.usedPorts : [],
      })),
    }),
  ),
}));

/** Each demand has its own app, so every placement can be traced to its demand. */
const demandsArb: fc.Arbitrary<Demand[]> = fc
  .array(
    fc.record({
      count: fc.integer({ min: 0, max: 6 }),
      cpus: tenths(3),
      memMb: fc.integer({ min: 0, max: 2048 }),
      diskMb: fc.integer({ min: 0, max: 100 }),
      ports: fc.array(fc.constantFrom(0, 0, 80, 81, 105), { maxLength: 3 }),
      constraints: fc.subarray(CONSTRAINTS, { maxLength: 2 }),
    }),
    { minLength: 1, maxLength: APPS.length },
  )
  .map((ds) => ds.map((d, i) => makeDemand({ ...d, appId: APPS[i]!, ports: d.ports.map(tcp) })));

const input = fc.record({ snapshot: snapshotArb, demands: demandsArb, seed: fc.integer() });

describe('place: properties', () => {
  it('never over-commits a node’s cpus, mem or disk', () => {
    fc.assert(
      fc.property(input, ({ snapshot, demands, seed }) => {
        const plan = place(snapshot, demands, { now: 0, seed });
        for (const node of snapshot.nodes) {
          const mine = plan.placements.filter((p) => p.nodeId === node.id);
          const ds = mine.map((p) => demands.find((d) => d.appId === p.appId)!);
          for (const [key, total] of [
            ['cpus', node.resources.cpus],
            ['memMb', node.resources.memMb],
            ['diskMb', node.resources.diskMb],
          ] as const) {
            const added = ds.reduce((s, d) => s + d[key], 0);
            const held = node.allocations.reduce((s, a) => s + a[key], 0);
            // Asking for nothing is allowed even on a node the snapshot already over-commits.
            if (added > 0) expect(held + added).toBeLessThanOrEqual(total + EPSILON);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never double-books a port, and takes dynamic ports from the node’s range', () => {
    fc.assert(
      fc.property(input, ({ snapshot, demands, seed }) => {
        const plan = place(snapshot, demands, { now: 0, seed });
        for (const node of snapshot.nodes) {
          const held = node.allocations.flatMap((a) => a.hostPorts);
          const mine = plan.placements.filter((p) => p.nodeId === node.id);
          const added = mine.flatMap((p) => p.hostPorts);
          expect(new Set(added).size).toBe(added.length);
          expect(added.filter((p) => held.includes(p))).toEqual([]);
          for (const p of mine) {
            const asked = demands.find((d) => d.appId === p.appId)!.ports;
            expect(p.hostPorts).toHaveLength(asked.length);
            asked.forEach((a, i) => {
              const port = p.hostPorts[i]!;
              if (a.hostPort > 0) expect(port).toBe(a.hostPort);
              else
                expect(port >= node.resources.portRange[0] && port <= node.resources.portRange[1]).toBe(true);
            });
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never violates UNIQUE, MAX_PER or LIKE, and places only on ACTIVE nodes', () => {
    fc.assert(
      fc.property(input, ({ snapshot, demands, seed }) => {
        const plan = place(snapshot, demands, { now: 0, seed });
        const state = makePlanState(...snapshot.nodes);
        const nodeState = (id: string) => state.nodes.find((s) => s.node.id === id)!;
        for (const d of demands) {
          const mine = plan.placements.filter((p) => p.appId === d.appId).map((p) => nodeState(p.nodeId));
          for (const s of mine) expect(s.node.status).toBe('ACTIVE');
          for (const raw of d.constraints) {
            const c = normalizeConstraint(raw);
            const values = mine.map((s) => fieldValue(s, c.field));
            const existing = state.nodes
              .filter((s) => s.node.allocations.some((a) => a.appId === d.appId))
              .flatMap((s) =>
                Array(s.node.allocations.filter((a) => a.appId === d.appId).length).fill(
                  fieldValue(s, c.field),
                ),
              );
            if (c.operator === 'UNIQUE') {
              expect(values).not.toContain(undefined);
              expect(new Set(values).size).toBe(values.length);
              for (const v of values) expect(existing).not.toContain(v);
            }
            if (c.operator === 'MAX_PER') {
              for (const v of new Set(values)) {
                const total = [...existing, ...values].filter((x) => x === v).length;
                expect(total).toBeLessThanOrEqual(Number(c.value));
              }
            }
            if (c.operator === 'LIKE') {
              for (const v of values) expect(v).toMatch(new RegExp(`^(?:${c.value})$`));
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same plan for the same seed, and leaves the snapshot as it was', () => {
    fc.assert(
      fc.property(input, ({ snapshot, demands, seed }) => {
        const before = structuredClone({ snapshot, demands });
        const plan = place(snapshot, demands, { now: 0, seed });
        expect({ snapshot, demands }).toEqual(before);
        expect(place(structuredClone(snapshot), structuredClone(demands), { now: 1, seed })).toEqual(plan);
      }),
      { numRuns: 200 },
    );
  });

  it('accounts for every instance: placed + unplaced = demanded', () => {
    fc.assert(
      fc.property(input, ({ snapshot, demands, seed }) => {
        const plan = place(snapshot, demands, { now: 0, seed });
        for (const d of demands) {
          const placed = plan.placements.filter((p) => p.appId === d.appId).length;
          const unplaced = plan.unplaced.filter((u) => u.appId === d.appId);
          expect(unplaced.length).toBeLessThanOrEqual(1);
          expect(placed + (unplaced[0]?.count ?? 0)).toBe(d.count);
          for (const u of unplaced) {
            expect(u.count).toBeGreaterThan(0);
            expect(u.summary).not.toBe('');
            // Every node is excluded for exactly one reason.
            const excluded = Object.values(u.reasons).reduce((s, n) => s + n, 0);
            expect(excluded).toBe(snapshot.nodes.length);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

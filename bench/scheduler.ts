/**
 * `npm run bench:scheduler`: placements per second of the pure scheduler (`@atoll/scheduler`'s
 * `place`) on a seeded cluster of 5,000 nodes already running 50,000 tasks, placing 100 apps × 50
 * instances with a mix of constraints and ports. One core: the scheduler is synchronous JS.
 *
 * The reference is the floor of Kubernetes' scheduler_perf test at 5,000 nodes (680–810 pods/s);
 * a ratio is printed against its upper end. The plan is then checked (not timed): no node is
 * over-committed, no host port is booked twice, and the constraints hold.
 */
import { createHash } from 'node:crypto';
import {
  place,
  type Allocation,
  type ClusterSnapshot,
  type Constraint,
  type Demand,
  type NodeSnapshot,
  type Plan,
} from '@atoll/scheduler';

const NODES = Number(process.env.NODES ?? 5000);
const EXISTING_TASKS = Number(process.env.TASKS ?? 50_000);
const APPS = Number(process.env.APPS ?? 100);
const INSTANCES = Number(process.env.INSTANCES ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 1);
const SEED = 20240601;
const K8S_FLOOR = 810; // pods/s, upper end of 680–810
const RACKS = 50;
const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const PORT_RANGE: [number, number] = [31000, 32000]; // Mesos' default range
const GIB = 1024;

/** mulberry32, so the cluster is the same on every run (independent of the scheduler's own). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rackOf = (i: number) => `rack-${String(i).padStart(2, '0')}`;

/** Task shapes as clusters run them: mostly small services, a few big ones. */
const SHAPES = [
  { cpus: 0.1, memMb: 128, weight: 15 },
  { cpus: 0.25, memMb: 256, weight: 20 },
  { cpus: 0.5, memMb: 512, weight: 25 },
  { cpus: 1, memMb: 1024, weight: 20 },
  { cpus: 1, memMb: 2048, weight: 10 },
  { cpus: 2, memMb: 4096, weight: 7 },
  { cpus: 4, memMb: 8192, weight: 3 },
];
const pickShape = (r: () => number) => {
  let x = r() * SHAPES.reduce((s, sh) => s + sh.weight, 0);
  for (const sh of SHAPES) if ((x -= sh.weight) < 0) return sh;
  return SHAPES[SHAPES.length - 1]!;
};

function buildSnapshot(r: () => number): ClusterSnapshot {
  const cpuChoices = [8, 16, 16, 32, 32, 48, 64];
  const memGiBPerCpu = [4, 4, 8]; // 32–256 GiB with the cpus above, capped
  const nodes: NodeSnapshot[] = [];
  for (let i = 0; i < NODES; i++) {
    const cpus = cpuChoices[Math.floor(r() * cpuChoices.length)]!;
    const memGiB = Math.min(256, Math.max(32, cpus * memGiBPerCpu[Math.floor(r() * memGiBPerCpu.length)]!));
    const rack = i % RACKS; // racks hold equal numbers of nodes, each rack in one zone
    // ~1% of nodes are not taking work (draining or lost), as in any large cluster.
    const roll = r();
    const status = roll < 0.005 ? 'DRAINING' : roll < 0.01 ? 'UNREACHABLE' : 'ACTIVE';
    const id = `node-${String(i + 1).padStart(4, '0')}`;
    nodes.push({
      id,
      hostname: `${id}.dc1.example`,
      status,
      attributes: {
        rack: rackOf(rack),
        zone: ZONES[rack % ZONES.length]!,
        ...(r() < 0.2 ? { gpu: 'none', ssd: 'true' } : {}),
      },
      resources: { cpus, memMb: memGiB * GIB, diskMb: 500 * GIB, portRange: PORT_RANGE },
      allocations: [],
    });
  }
  // 50,000 running tasks of 2,000 apps, spread at random over the nodes where they fit.
  const used = nodes.map(() => ({ cpus: 0, mem: 0, ports: new Set<number>() }));
  const existingApps = 2000;
  const appShape = Array.from({ length: existingApps }, () => pickShape(r));
  let placed = 0;
  for (let t = 0; placed < EXISTING_TASKS; t++) {
    if (t > EXISTING_TASKS * 20) throw new Error('cluster too small for the existing tasks');
    const app = Math.floor(r() * existingApps);
    const shape = appShape[app]!;
    const n = Math.floor(r() * NODES);
    const node = nodes[n]!;
    const u = used[n]!;
    if (u.cpus + shape.cpus > node.resources.cpus || u.mem + shape.memMb > node.resources.memMb) continue;
    const hostPorts: number[] = [];
    const portCount = app % 10 === 0 ? 0 : app % 7 === 0 ? 2 : 1;
    while (hostPorts.length < portCount) {
      const p = PORT_RANGE[0] + Math.floor(r() * (PORT_RANGE[1] - PORT_RANGE[0] + 1));
      if (!u.ports.has(p)) {
        u.ports.add(p);
        hostPorts.push(p);
      }
    }
    u.cpus += shape.cpus;
    u.mem += shape.memMb;
    const a: Allocation = {
      taskId: `existing-${app}.${placed}`,
      appId: `/prod/svc-${app}`,
      cpus: shape.cpus,
      memMb: shape.memMb,
      diskMb: 1024,
      hostPorts,
    };
    node.allocations.push(a);
    placed++;
  }
  return { nodes };
}

/** 100 apps × 50 instances: a fifth scale up existing apps, the rest are new; constraints in rotation. */
function buildDemands(r: () => number): Demand[] {
  const mixes: Constraint[][] = [
    [],
    [['hostname', 'UNIQUE']],
    [['rack', 'GROUP_BY']],
    [['zone', 'IS', 'zone-b']],
    [['rack', 'MAX_PER', '2']],
    [['rack', 'LIKE', 'rack-[0-2][0-9]']],
    [
      ['hostname', 'UNIQUE'],
      ['zone', 'GROUP_BY'],
    ],
    [
      ['zone', 'IS', 'zone-a'],
      ['rack', 'GROUP_BY'],
    ],
    [
      ['ssd', 'LIKE', 'true'],
      ['hostname', 'UNIQUE'],
    ],
    [
      ['rack', 'UNLIKE', 'rack-4[0-9]'],
      ['rack', 'MAX_PER', '3'],
      ['hostname', 'UNIQUE'],
    ],
  ];
  const demands: Demand[] = [];
  for (let i = 0; i < APPS; i++) {
    const shape = pickShape(r);
    // Ports: most apps take one or two dynamic ports; every 12th app a fixed one (plus hostname:UNIQUE
    // implicitly, since a port can be booked once per node); every 10th none.
    const ports =
      i % 12 === 0
        ? [{ hostPort: 9000 + i, protocol: 'tcp' }]
        : i % 10 === 0
          ? []
          : i % 3 === 0
            ? [
                { hostPort: 0, protocol: 'tcp' },
                { hostPort: 0, protocol: 'udp' },
              ]
            : [{ hostPort: 0, protocol: 'tcp' }];
    demands.push({
      appId: i % 5 === 0 ? `/prod/svc-${i * 7}` : `/bench/app-${i}`,
      count: INSTANCES,
      cpus: shape.cpus,
      memMb: shape.memMb,
      diskMb: 1024,
      ports,
      constraints: mixes[i % mixes.length]!,
    });
  }
  return demands;
}

/** Not timed: the plan must fit every node it uses, book no port twice and honour the constraints. */
function verify(snapshot: ClusterSnapshot, demands: Demand[], plan: Plan): string[] {
  const problems: string[] = [];
  const byId = new Map(snapshot.nodes.map((n) => [n.id, n]));
  const demandOf = new Map(demands.map((d) => [d.appId, d]));
  const use = new Map<string, { cpus: number; mem: number; disk: number; ports: Set<number> }>();
  const usage = (n: NodeSnapshot) => {
    let u = use.get(n.id);
    if (!u) {
      u = { cpus: 0, mem: 0, disk: 0, ports: new Set() };
      for (const a of n.allocations) {
        u.cpus += a.cpus;
        u.mem += a.memMb;
        u.disk += a.diskMb;
        for (const p of a.hostPorts) u.ports.add(p);
      }
      use.set(n.id, u);
    }
    return u;
  };
  // instances per app per node, snapshot + plan, for the constraint checks
  const count = new Map<string, Map<string, number>>();
  const bump = (appId: string, nodeId: string) => {
    const m = count.get(appId) ?? new Map<string, number>();
    m.set(nodeId, (m.get(nodeId) ?? 0) + 1);
    count.set(appId, m);
  };
  for (const n of snapshot.nodes)
    for (const a of n.allocations) if (demandOf.has(a.appId)) bump(a.appId, n.id);
  for (const p of plan.placements) {
    const node = byId.get(p.nodeId);
    const d = demandOf.get(p.appId);
    if (!node || !d) {
      problems.push(`placement on unknown node/app ${p.nodeId} ${p.appId}`);
      continue;
    }
    if (node.status !== 'ACTIVE') problems.push(`${p.appId} placed on ${node.status} node ${node.id}`);
    const u = usage(node);
    u.cpus += d.cpus;
    u.mem += d.memMb;
    u.disk += d.diskMb;
    d.ports.forEach((want, k) => {
      const port = p.hostPorts[k]!;
      if (u.ports.has(port)) problems.push(`port ${port} booked twice on ${node.id}`);
      u.ports.add(port);
      if (want.hostPort > 0 && port !== want.hostPort)
        problems.push(`fixed port ${want.hostPort} became ${port}`);
      if (want.hostPort <= 0 && (port < node.resources.portRange[0] || port > node.resources.portRange[1]))
        problems.push(`dynamic port ${port} outside the range of ${node.id}`);
    });
    bump(p.appId, p.nodeId);
  }
  const eps = 1e-6;
  for (const [id, u] of use) {
    const r = byId.get(id)!.resources;
    if (u.cpus > r.cpus + eps || u.mem > r.memMb + eps || u.disk > r.diskMb + eps)
      problems.push(`${id} over-committed: ${u.cpus}/${r.cpus} cpus, ${u.mem}/${r.memMb} MiB`);
  }
  for (const d of demands) {
    const perNode = count.get(d.appId) ?? new Map<string, number>();
    for (const [field, op, value] of d.constraints) {
      const valueOf = (nodeId: string) => {
        const n = byId.get(nodeId)!;
        return field === 'hostname' ? n.hostname : n.attributes[field];
      };
      const perValue = new Map<string | undefined, number>();
      for (const [nodeId, k] of perNode)
        perValue.set(valueOf(nodeId), (perValue.get(valueOf(nodeId)) ?? 0) + k);
      const placedOn = plan.placements.filter((p) => p.appId === d.appId).map((p) => valueOf(p.nodeId));
      const bad =
        (op === 'UNIQUE' && [...perValue.values()].some((k) => k > 1)) ||
        (op === 'MAX_PER' && [...perValue.values()].some((k) => k > Number(value))) ||
        (op === 'IS' && placedOn.some((v) => v !== value)) ||
        (op === 'LIKE' && placedOn.some((v) => v === undefined || !new RegExp(`^(?:${value})$`).test(v))) ||
        (op === 'UNLIKE' && placedOn.some((v) => v !== undefined && new RegExp(`^(?:${value})$`).test(v)));
      if (bad) problems.push(`${d.appId} breaks ${field}:${op}${value === undefined ? '' : `:${value}`}`);
    }
  }
  return problems;
}

function main(): void {
  const r = rng(SEED);
  const snapshot = buildSnapshot(r);
  const demands = buildDemands(r);
  const existing = snapshot.nodes.reduce((s, n) => s + n.allocations.length, 0);
  const opts = { now: 1_700_000_000_000, seed: SEED };

  for (let i = 0; i < WARMUP; i++) place(snapshot, demands, opts);
  const times: number[] = [];
  let plan: Plan | undefined;
  const fingerprints = new Set<string>();
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    plan = place(snapshot, demands, opts);
    times.push(performance.now() - t0);
    fingerprints.add(createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 16));
  }
  plan = plan!;
  const placedCount = plan.placements.length;
  const unplacedCount = plan.unplaced.reduce((s, u) => s + u.count, 0);
  const ms = median(times);
  const rate = (placedCount / ms) * 1000;
  const active = snapshot.nodes.filter((n) => n.status === 'ACTIVE').length;
  const problems = verify(snapshot, demands, plan);

  console.log(`nodes: ${fmt(NODES)} (${fmt(active)} active, ${RACKS} racks, ${ZONES.length} zones)`);
  console.log(`existing tasks: ${fmt(existing)}`);
  console.log(`demands: ${APPS} apps × ${INSTANCES} instances = ${fmt(APPS * INSTANCES)}`);
  console.log(`placements made: ${fmt(placedCount)}`);
  console.log(
    `unplaced: ${fmt(unplacedCount)}${plan.unplaced.map((u) => `\n  ${u.appId} ×${u.count}: ${u.summary}`).join('')}`,
  );
  console.log(`round times (ms): ${times.map((t) => t.toFixed(0)).join(', ')} (after ${WARMUP} warm-up)`);
  console.log(
    `placements/s: ${fmt(rate)} (${(rate / K8S_FLOOR).toFixed(1)}× the ${K8S_FLOOR} pods/s k8s floor; median of ${ROUNDS} rounds)`,
  );
  console.log(
    `plan fingerprint: ${[...fingerprints].join(', ')}${fingerprints.size === 1 ? ' (identical every round)' : ' (DIFFERS between rounds)'}`,
  );
  if (problems.length > 0 || fingerprints.size !== 1) {
    console.log(`plan check: FAILED\n  ${problems.slice(0, 20).join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.log('plan check: no node over-committed, no port booked twice, constraints hold');
  }
}

main();

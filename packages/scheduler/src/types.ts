/** The world as the scheduler sees it: a read-only snapshot, taken by the caller. */
export interface NodeSnapshot {
  id: string;
  hostname: string;
  /** Only 'ACTIVE' nodes take new tasks; any other value (UNREACHABLE, DRAINING, …) excludes the node. */
  status: 'ACTIVE' | 'UNREACHABLE' | 'DRAINING' | (string & Record<never, never>);
  attributes: Record<string, string>;
  resources: { cpus: number; memMb: number; diskMb: number; portRange: [number, number] };
  /** tasks currently holding resources on the node (non-terminal) */
  allocations: Allocation[];
}

export interface Allocation {
  taskId: string;
  appId: string;
  cpus: number;
  memMb: number;
  diskMb: number;
  hostPorts: number[];
}

export interface ClusterSnapshot {
  nodes: NodeSnapshot[];
}

/** `[field, operator]` or `[field, operator, value]`, Marathon's constraint shape. */
export type Constraint = [string, string] | [string, string, string];

/** What to place: `count` more instances of one app, each needing the same resources. */
export interface Demand {
  appId: string;
  count: number;
  cpus: number;
  memMb: number;
  diskMb: number;
  /** hostPort 0 = any free port from the node's range. */
  ports: Array<{ hostPort: number; protocol: string }>;
  constraints: Constraint[];
  /**
   * Nodes this app would rather land on: they hold its persistent volumes with no instance using
   * them (Marathon's resident tasks). A preference, not a constraint: a full node is passed over.
   */
  preferNodes?: readonly string[];
}

export interface Placement {
  appId: string;
  nodeId: string;
  /** chosen, same order as demand.ports */
  hostPorts: number[];
}

export interface Unplaced {
  appId: string;
  count: number;
  /** filter reason -> number of nodes excluded */
  reasons: Record<string, number>;
  /** every node that was excluded, with the named reason (e.g. "constraint hostname:UNIQUE") */
  excluded: Array<{ nodeId: string; hostname: string; reason: string }>;
  /** human sentence e.g. "needs 4 cpus, largest free is 2" */
  summary: string;
}

export interface Plan {
  placements: Placement[];
  unplaced: Unplaced[];
}

export interface PlaceOptions {
  /** Milliseconds since the epoch; the scheduler never reads a clock itself. */
  now: number;
  /** Seeds the tie-breaking shuffle and the choice of dynamic ports: the same seed gives the same plan. */
  seed: number;
}

import { constraintReason, normalizeConstraint } from './constraints';
import type { Exclusion } from './filter';
import { dynamicPortCount, fixedPorts, INSUFFICIENT_PORTS } from './ports';
import { INSUFFICIENT_CPUS, INSUFFICIENT_DISK, INSUFFICIENT_MEM } from './resources';
import { NODE_NOT_ACTIVE } from './status';
import type { Demand } from './types';

/**
 * "Cannot place" is data (nomad's AllocMetric): per attempt, how many nodes each filter excluded, and
 * for resource filters the most any excluded node had free, so the summary can say by how much.
 */
export interface Tally {
  reasons: Record<string, number>;
  largestFree: Record<string, number>;
  /** Each excluded node with the reason that excluded it (first filter in pipeline order). */
  excluded: Array<{ nodeId: string; hostname: string; reason: string }>;
}

export function emptyTally(): Tally {
  return { reasons: {}, largestFree: {}, excluded: [] };
}

export function recordExclusion(tally: Tally, e: Exclusion, node?: { id: string; hostname: string }): void {
  tally.reasons[e.reason] = (tally.reasons[e.reason] ?? 0) + 1;
  if (node) tally.excluded.push({ nodeId: node.id, hostname: node.hostname, reason: e.reason });
  if (e.free !== undefined)
    tally.largestFree[e.reason] = Math.max(tally.largestFree[e.reason] ?? -Infinity, e.free);
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const amount = (x: number): string => String(Math.round(x * 1000) / 1000);
// Rounded down, so a node 0.0004 short never reads as having enough.
const freeAmount = (x: number): string => String(Math.max(0, Math.floor(x * 1000 + 1e-9) / 1000));

function portsWanted(demand: Demand): string {
  const fixed = fixedPorts(demand);
  const dynamic = dynamicPortCount(demand);
  const parts: string[] = [];
  if (fixed.length > 0) parts.push(`${fixed.length === 1 ? 'port' : 'ports'} ${fixed.join(', ')}`);
  if (dynamic > 0) parts.push(`${plural(dynamic, 'port')} from the node's range`);
  return parts.join(' and ');
}

function describe(reason: string, nodes: number, demand: Demand, tally: Tally, only: boolean): string {
  const largest = freeAmount(tally.largestFree[reason] ?? 0);
  switch (reason) {
    case NODE_NOT_ACTIVE:
      return only ? 'no ACTIVE node' : `${plural(nodes, 'node')} not active`;
    case INSUFFICIENT_CPUS:
      return `needs ${amount(demand.cpus)} cpus, largest free is ${largest}`;
    case INSUFFICIENT_MEM:
      return `needs ${amount(demand.memMb)} MiB mem, largest free is ${largest}`;
    case INSUFFICIENT_DISK:
      return `needs ${amount(demand.diskMb)} MiB disk, largest free is ${largest}`;
    case INSUFFICIENT_PORTS:
      return `needs ${portsWanted(demand)}, unavailable on ${plural(nodes, 'node')}`;
    default:
      return `${plural(nodes, 'node')} excluded by ${reason.replace(/^constraint /, '')}`;
  }
}

/**
 * One sentence for an operator: the reason that excluded the most nodes first, then the others.
 * Inactive nodes come last unless they are all there is: "2 nodes not active" rarely explains a
 * wait, "needs 4 cpus, largest free is 2" does. Equal counts follow the order of the pipeline.
 */
export function summarize(demand: Demand, tally: Tally): string {
  const order = [
    INSUFFICIENT_CPUS,
    INSUFFICIENT_MEM,
    INSUFFICIENT_DISK,
    INSUFFICIENT_PORTS,
    ...demand.constraints.map((c) => constraintReason(normalizeConstraint(c))),
    NODE_NOT_ACTIVE,
  ];
  const rank = (r: string): number => (order.includes(r) ? order.indexOf(r) : order.length);
  const entries = Object.entries(tally.reasons);
  if (entries.length === 0) return 'no ACTIVE node';
  const only = entries.length === 1;
  entries.sort(([ra, na], [rb, nb]) => {
    const inactive = Number(ra === NODE_NOT_ACTIVE) - Number(rb === NODE_NOT_ACTIVE);
    return inactive || nb - na || rank(ra) - rank(rb);
  });
  return entries.map(([reason, n]) => describe(reason, n, demand, tally, only)).join('; ');
}

import type { Exclusion, FilterStage, NodeFilter } from './filter';
import { instancesOf, type NodeState, type PlanState } from './state';
import type { Constraint, Demand } from './types';

/**
 * Marathon's placement constraints, `[field, OPERATOR, value?]`.
 *
 * A field is the node's hostname (`hostname` or `@hostname`) or one of its attributes (`rack`; `@zone`
 * also finds an attribute named `zone`). Counts of "instances of this app with this value" include the
 * snapshot's allocations and the placements made earlier in the same plan.
 *
 * As in Marathon, a node without the attribute satisfies only UNLIKE. An operator we do not know, or
 * one missing the value it needs, excludes every node: placing a task against a rule we cannot check
 * would be worse than waiting.
 */
export interface NormalizedConstraint {
  field: string;
  operator: string;
  value: string | undefined;
  /** `field:OPERATOR[:value]`, the name operators read in reasons. */
  key: string;
}

export function normalizeConstraint(c: Constraint): NormalizedConstraint {
  const [field, op, value] = c;
  const upper = op.toUpperCase();
  const operator = upper === 'EQ' ? 'IS' : upper;
  return {
    field,
    operator,
    value,
    key: value === undefined ? `${field}:${operator}` : `${field}:${operator}:${value}`,
  };
}

export function constraintReason(c: NormalizedConstraint): string {
  return `constraint ${c.key}`;
}

export function fieldValue(state: NodeState, field: string): string | undefined {
  if (field === 'hostname' || field === '@hostname') return state.node.hostname;
  const attrs = state.node.attributes;
  if (Object.hasOwn(attrs, field)) return attrs[field];
  if (field.startsWith('@') && Object.hasOwn(attrs, field.slice(1))) return attrs[field.slice(1)];
  return undefined;
}

/** Instances of `appId` per value of `field`, over the nodes of the plan that hold any. */
export function instancesByValue(plan: PlanState, appId: string, field: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const state of plan.nodesByApp.get(appId) ?? []) {
    const n = instancesOf(state, appId);
    const v = fieldValue(state, field);
    if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + n);
  }
  return counts;
}

/** Marathon's LIKE/UNLIKE match the whole value; an invalid pattern matches nothing. */
function fullMatcher(pattern: string | undefined): ((v: string) => boolean) | undefined {
  if (pattern === undefined) return undefined;
  try {
    const re = new RegExp(`^(?:${pattern})$`, 'u');
    return (v) => re.test(v);
  } catch {
    return () => false;
  }
}

/** A check of one node's value against one constraint; `count` is that value's instances of the app. */
type ValueCheck = (value: string, count: number) => boolean;

function valueCheck(c: NormalizedConstraint, counts: Map<string, number>): ValueCheck {
  switch (c.operator) {
    case 'UNIQUE':
      return (_v, count) => count === 0;
    case 'CLUSTER':
      if (c.value !== undefined) return (v) => v === c.value;
      // Without a value the first instance chooses the value and the rest follow it.
      return (v) => counts.size === 0 || counts.has(v);
    case 'IS':
      return (v) => c.value !== undefined && v === c.value;
    case 'LIKE': {
      const match = fullMatcher(c.value);
      return (v) => match !== undefined && match(v);
    }
    case 'UNLIKE': {
      const match = fullMatcher(c.value);
      return (v) => match !== undefined && !match(v);
    }
    case 'MAX_PER': {
      const max = c.value === undefined ? NaN : Number(c.value);
      return (_v, count) => Number.isInteger(max) && count < max;
    }
    case 'GROUP_BY':
      // The spread itself is decided over the surviving nodes, by groupBySpread.
      return () => true;
    default:
      return () => false;
  }
}

/**
 * Whether the constraint's verdict on a node depends on how many instances of the app hold each
 * value, and so may change as a plan places them. The others depend on the node alone.
 */
export function countsInstances(c: NormalizedConstraint): boolean {
  return (
    c.operator === 'UNIQUE' || c.operator === 'MAX_PER' || (c.operator === 'CLUSTER' && c.value === undefined)
  );
}

export const constraintsFilter: FilterStage = (demand, plan) => {
  const checks = demand.constraints.map((raw) => {
    const c = normalizeConstraint(raw);
    const counts = instancesByValue(plan, demand.appId, c.field);
    return { c, counts, check: valueCheck(c, counts), reason: constraintReason(c) };
  });
  if (checks.length === 0) return () => undefined;
  const filter: NodeFilter = (state) => {
    for (const { c, counts, check, reason } of checks) {
      const v = fieldValue(state, c.field);
      const ok = v === undefined ? c.operator === 'UNLIKE' : check(v, counts.get(v) ?? 0);
      if (!ok) return { reason };
    }
    return undefined;
  };
  return filter;
};

/**
 * GROUP_BY (basic even spread): of the nodes that passed every other filter, keep those whose value of
 * the field holds the fewest instances of the app. Deciding among the survivors, not among all values
 * the cluster knows, means a full rack never blocks placement on the others. Marathon's optional value
 * (the number of groups to expect) is accepted and not needed: the spread covers the groups that exist.
 */
export function groupBySpread(
  candidates: readonly NodeState[],
  demand: Demand,
  plan: PlanState,
): { kept: NodeState[]; excluded: Array<{ state: NodeState; exclusion: Exclusion }> } {
  let kept = [...candidates];
  const excluded: Array<{ state: NodeState; exclusion: Exclusion }> = [];
  for (const raw of demand.constraints) {
    const c = normalizeConstraint(raw);
    if (c.operator !== 'GROUP_BY' || kept.length === 0) continue;
    const counts = instancesByValue(plan, demand.appId, c.field);
    const countOf = (s: NodeState): number => {
      const v = fieldValue(s, c.field);
      return v === undefined ? Infinity : (counts.get(v) ?? 0);
    };
    const keptCounts = kept.map(countOf);
    let least = Infinity;
    for (const n of keptCounts) if (n < least) least = n;
    const exclusion: Exclusion = { reason: constraintReason(c) };
    const next: NodeState[] = [];
    kept.forEach((s, i) => {
      if (keptCounts[i] === least) next.push(s);
      else excluded.push({ state: s, exclusion });
    });
    kept = next;
  }
  return { kept, excluded };
}

import { describe, expect, it } from 'vitest';
import { NODE_NOT_ACTIVE, statusFilter } from './status';
import { makeDemand, makeNode, makePlanState } from './testing';

describe('statusFilter', () => {
  it.each([
    { name: 'ACTIVE passes', status: 'ACTIVE', excluded: false },
    { name: 'UNREACHABLE is excluded', status: 'UNREACHABLE', excluded: true },
    { name: 'DRAINING is excluded', status: 'DRAINING', excluded: true },
    { name: 'an unknown status is excluded', status: 'DISCONNECTED', excluded: true },
    { name: 'status is case-sensitive', status: 'active', excluded: true },
  ])('$name', ({ status, excluded }) => {
    const plan = makePlanState(makeNode({ status }));
    const result = statusFilter(makeDemand(), plan)(plan.nodes[0]!);
    expect(result).toEqual(excluded ? { reason: NODE_NOT_ACTIVE } : undefined);
  });
});

import { describe, expect, it } from 'vitest';
import { emptyTally, recordExclusion, summarize } from './explain';
import type { Exclusion } from './filter';
import { makeDemand } from './testing';
import type { Demand } from './types';

type Case = { name: string; demand?: Partial<Demand>; exclusions: Exclusion[]; summary: string };

const times = (n: number, e: Exclusion): Exclusion[] => Array(n).fill(e) as Exclusion[];

describe('summarize', () => {
  it.each<Case>([
    { name: 'an empty cluster', exclusions: [], summary: 'no ACTIVE node' },
    {
      name: 'only inactive nodes',
      exclusions: times(3, { reason: 'node not active' }),
      summary: 'no ACTIVE node',
    },
    {
      name: 'cpus, with the largest free amount',
      demand: { cpus: 4 },
      exclusions: [
        { reason: 'insufficient cpus', free: 1 },
        { reason: 'insufficient cpus', free: 2 },
      ],
      summary: 'needs 4 cpus, largest free is 2',
    },
    {
      name: 'mem in MiB',
      demand: { memMb: 512 },
      exclusions: [{ reason: 'insufficient mem', free: 256 }],
      summary: 'needs 512 MiB mem, largest free is 256',
    },
    {
      name: 'disk in MiB',
      demand: { diskMb: 1024 },
      exclusions: [{ reason: 'insufficient disk', free: 100 }],
      summary: 'needs 1024 MiB disk, largest free is 100',
    },
    {
      name: 'fractions rounded, free rounded down, never negative',
      demand: { cpus: 0.30000000000000004 },
      exclusions: [
        { reason: 'insufficient cpus', free: 0.2996 },
        { reason: 'insufficient cpus', free: -1 },
      ],
      summary: 'needs 0.3 cpus, largest free is 0.299',
    },
    {
      name: 'an over-full node reads as 0 free',
      exclusions: [{ reason: 'insufficient cpus', free: -0.5 }],
      summary: 'needs 1 cpus, largest free is 0',
    },
    {
      name: 'a constraint',
      demand: { constraints: [['hostname', 'UNIQUE']] },
      exclusions: times(3, { reason: 'constraint hostname:UNIQUE' }),
      summary: '3 nodes excluded by hostname:UNIQUE',
    },
    {
      name: 'one node by a constraint with a value',
      demand: { constraints: [['rack', 'LIKE', 'rack-[12]']] },
      exclusions: [{ reason: 'constraint rack:LIKE:rack-[12]' }],
      summary: '1 node excluded by rack:LIKE:rack-[12]',
    },
    {
      name: 'ports, fixed and dynamic',
      demand: {
        ports: [
          { hostPort: 80, protocol: 'tcp' },
          { hostPort: 0, protocol: 'tcp' },
        ],
      },
      exclusions: times(2, { reason: 'insufficient ports' }),
      summary: "needs port 80 and 1 port from the node's range, unavailable on 2 nodes",
    },
    {
      name: 'the reason excluding most nodes first, inactive nodes last',
      demand: { cpus: 4, constraints: [['hostname', 'UNIQUE']] },
      exclusions: [
        ...times(5, { reason: 'node not active' }),
        { reason: 'insufficient cpus', free: 2 },
        ...times(3, { reason: 'constraint hostname:UNIQUE' }),
      ],
      summary: '3 nodes excluded by hostname:UNIQUE; needs 4 cpus, largest free is 2; 5 nodes not active',
    },
    {
      name: 'equal counts follow the pipeline',
      demand: { memMb: 512, constraints: [['hostname', 'UNIQUE']] },
      exclusions: [{ reason: 'constraint hostname:UNIQUE' }, { reason: 'insufficient mem', free: 100 }],
      summary: 'needs 512 MiB mem, largest free is 100; 1 node excluded by hostname:UNIQUE',
    },
  ])('$name', ({ demand, exclusions, summary }) => {
    const tally = emptyTally();
    for (const e of exclusions) recordExclusion(tally, e);
    expect(summarize(makeDemand(demand), tally)).toBe(summary);
  });
});

describe('recordExclusion', () => {
  it('counts nodes per reason and keeps the largest free amount', () => {
    const tally = emptyTally();
    recordExclusion(tally, { reason: 'insufficient mem', free: 10 });
    recordExclusion(tally, { reason: 'insufficient mem', free: 30 });
    recordExclusion(tally, { reason: 'constraint hostname:UNIQUE' });
    expect(tally).toEqual({
      reasons: { 'insufficient mem': 2, 'constraint hostname:UNIQUE': 1 },
      largestFree: { 'insufficient mem': 30 },
      excluded: [],
    });
  });
});

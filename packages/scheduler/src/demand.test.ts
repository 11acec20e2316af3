import { parseAppDefinition, type AppDefinitionInput } from '@atoll/spec';
import { describe, expect, it } from 'vitest';
import { demandFromApp } from './demand';
import type { Demand } from './types';

function app(input: Partial<AppDefinitionInput>) {
  const parsed = parseAppDefinition({ id: '/web', cmd: 'sleep 1000', ...input });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

describe('demandFromApp', () => {
  it.each<{ name: string; input: Partial<AppDefinitionInput>; count: number; expected: Partial<Demand> }>([
    {
      name: 'Marathon defaults',
      input: {},
      count: 1,
      expected: { appId: '/web', count: 1, cpus: 1, memMb: 128, diskMb: 0, ports: [], constraints: [] },
    },
    {
      name: 'resources and count',
      input: { id: 'group/web', cpus: 0.5, mem: 256, disk: 10 },
      count: 3,
      expected: { appId: '/group/web', count: 3, cpus: 0.5, memMb: 256, diskMb: 10 },
    },
    {
      name: 'host networking: port definitions are dynamic',
      input: { portDefinitions: [{ port: 8080 }, { port: 0, protocol: 'udp' }] },
      count: 1,
      expected: {
        ports: [
          { hostPort: 0, protocol: 'tcp' },
          { hostPort: 0, protocol: 'udp' },
        ],
      },
    },
    {
      name: 'requirePorts makes them fixed',
      input: { portDefinitions: [{ port: 8080 }], requirePorts: true },
      count: 1,
      expected: { ports: [{ hostPort: 8080, protocol: 'tcp' }] },
    },
    {
      name: 'bridge mappings: hostPort or any',
      input: {
        cmd: undefined,
        container: {
          type: 'DOCKER',
          docker: { image: 'nginx' },
          portMappings: [
            { containerPort: 80, hostPort: 0 },
            { containerPort: 443, hostPort: 8443 },
            { containerPort: 9000 },
          ],
        },
        networks: [{ mode: 'container/bridge' }],
      },
      count: 1,
      expected: {
        ports: [
          { hostPort: 0, protocol: 'tcp' },
          { hostPort: 8443, protocol: 'tcp' },
          { hostPort: 0, protocol: 'tcp' },
        ],
      },
    },
    {
      name: 'constraints, normalised by the spec',
      input: {
        constraints: [
          ['hostname', 'unique'],
          ['rack', 'EQ', 'r1'],
        ],
      },
      count: 1,
      expected: {
        constraints: [
          ['hostname', 'UNIQUE'],
          ['rack', 'IS', 'r1'],
        ],
      },
    },
  ])('$name', ({ input, count, expected }) => {
    expect(demandFromApp(app(input), count)).toMatchObject(expected);
  });
});

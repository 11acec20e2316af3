import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAppDefinition, requestedPorts } from './app';

// The public Marathon apps in shared/fixtures (see its SOURCES.md) beside the repository.
const fixturesDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/fixtures/marathon',
);
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(fixturesDir, name), 'utf8'));
const appFixtures = readdirSync(fixturesDir).filter((f) => /^0[1-8]-/.test(f));

describe('Marathon fixtures', () => {
  it('has the eight app fixtures', () => {
    expect(appFixtures).toHaveLength(8);
  });

  it.each(appFixtures.filter((f) => /^0[1-6]-/.test(f)))('%s parses', (name) => {
    const r = parseAppDefinition(fixture(name));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.value.id.startsWith('/')).toBe(true);
  });

  it('07 is rejected: it has both cmd and args', () => {
    const r = parseAppDefinition(fixture('07-raml-kitchen-sink-parse-only.json'));
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues).toContainEqual({
        path: 'args',
        message: 'AppDefinition must either contain one of cmd or args, not both',
      });
  });

  it('08 is rejected: uppercase id segment and a placeholder constraint operator', () => {
    const r = parseAppDefinition(fixture('08-dcos-marathon-parameters-kitchen-sink.json'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toContain('id');
    expect(paths).toContain('constraints.0.1');
    expect(r.issues.find((i) => i.path === 'constraints.0.1')?.message).toMatch(
      /unknown constraint operator '\$OPERATOR'/,
    );
  });
});

describe('normalisation', () => {
  it('05: deprecated container.docker.network BRIDGE becomes networks + container.portMappings', () => {
    const r = parseAppDefinition(fixture('05-legacy-docker-network-portmappings.json'));
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.value.networks).toEqual([{ mode: 'container/bridge' }]);
    expect(r.value.container?.docker).not.toHaveProperty('network');
    expect(r.value.container?.docker).not.toHaveProperty('portMappings');
    expect(r.value.container?.portMappings?.map((m) => m.containerPort)).toEqual([80, 443]);
    expect(requestedPorts(r.value).map((p) => p.name)).toEqual(['http', 'https']);
  });

  it('01: applies Marathon defaults', () => {
    const r = parseAppDefinition(fixture('01-simple-cmd-app.json'));
    if (!r.ok) throw new Error('parse failed');
    expect(r.value).toMatchObject({
      id: '/simple',
      instances: 2,
      backoffSeconds: 1,
      backoffFactor: 1.15,
      maxLaunchDelaySeconds: 300,
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
      killSelection: 'YOUNGEST_FIRST',
      networks: [{ mode: 'host' }],
      portDefinitions: [],
    });
  });

  it('02: bridge port mappings without hostPort get a random host port', () => {
    const r = parseAppDefinition(fixture('02-docker-bridge-webapp-healthcheck.json'));
    if (!r.ok) throw new Error('parse failed');
    expect(requestedPorts(r.value)).toEqual([
      { hostPort: 0, containerPort: 8080, protocol: 'tcp' },
      { hostPort: 0, containerPort: 161, protocol: 'udp' },
    ]);
    expect(r.value.healthChecks[0]).toMatchObject({ timeoutSeconds: 20, delaySeconds: 15 });
  });

  it('keeps unknown fields', () => {
    const r = parseAppDefinition({ id: '/a', cmd: 'x', futureField: { on: true } });
    expect(r.ok && (r.value as Record<string, unknown>).futureField).toEqual({ on: true });
  });

  it.each([
    ['relative id', { id: 'web', cmd: 'x' }, '/web'],
    ['nested id with trailing slash', { id: '/prod/web/', cmd: 'x' }, '/prod/web'],
  ])('%s is made absolute', (_name, input, id) => {
    const r = parseAppDefinition(input);
    expect(r.ok && r.value.id).toBe(id);
  });

  it.each([
    ['negative instances', { id: '/a', cmd: 'x', instances: -1 }, 'instances'],
    ['no command and no image', { id: '/a' }, 'cmd'],
    ['uppercase id', { id: '/Web', cmd: 'x' }, 'id'],
    ['cpus as a string', { id: '/a', cmd: 'x', cpus: 'lots' }, 'cpus'],
  ])('%s is rejected naming the field', (_name, input, field) => {
    const r = parseAppDefinition(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toContain(field);
  });
});

describe('paths', () => {
  it.each([
    ['absolute', '/a/b', '/x/y', '/a/b'],
    ['fixture 08: ../../db from /product/service/myapp', '../../db', '/product/service/myapp', '/product/db'],
    ['a child', 'db', '/prod', '/prod/db'],
  ])('resolvePath: %s', async (_name, p, base, expected) => {
    const { resolvePath } = await import('./app');
    expect(resolvePath(p, base)).toBe(expected);
  });
});

describe('what Marathon accepted, normalised as Marathon did', () => {
  const base = { id: '/lenient', cmd: 'sleep 1' };

  it('reads numbers and booleans given as strings (Jackson coerced scalars)', () => {
    const r = parseAppDefinition({
      ...base,
      cpus: '0.5',
      mem: '256',
      instances: '2',
      requirePorts: 'true',
      portDefinitions: [{ port: '8080' }],
      healthChecks: [{ protocol: 'TCP', portIndex: '0', gracePeriodSeconds: '30' }],
      upgradeStrategy: { minimumHealthCapacity: '0.5', maximumOverCapacity: '0' },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.value).toMatchObject({
      cpus: 0.5,
      mem: 256,
      instances: 2,
      requirePorts: true,
      portDefinitions: [{ port: 8080 }],
      upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 },
    });
    expect(r.value.healthChecks[0]).toMatchObject({ portIndex: 0, gracePeriodSeconds: 30 });
  });

  it('still refuses a string that is not a number, naming the field', () => {
    const r = parseAppDefinition({ ...base, cpus: 'lots' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toEqual(['cpus']);
  });

  it('reads null collections as their defaults', () => {
    const r = parseAppDefinition({
      ...base,
      env: null,
      labels: null,
      constraints: null,
      healthChecks: null,
      dependencies: null,
      portDefinitions: null,
      container: { type: 'DOCKER', docker: { image: 'x', parameters: null }, volumes: null },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.value).toMatchObject({ env: {}, labels: {}, constraints: [], healthChecks: [], dependencies: [] });
    expect(r.value.container?.docker?.parameters).toEqual([]);
  });

  it('takes portDefinitions[].servicePort and drops it', () => {
    const r = parseAppDefinition({ ...base, portDefinitions: [{ port: 0, servicePort: 10001, name: 'http' }] });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.value.portDefinitions).toEqual([{ port: 0, protocol: 'tcp', name: 'http' }]);
  });
});

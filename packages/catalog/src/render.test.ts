import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAppDefinition } from '@atoll/spec';
import { describe, expect, it } from 'vitest';
import { loadPackageDir } from './load';
import { deepMerge, defaultsOf, RenderError, renderPackage } from './render';

// The real Universe packages in shared/fixtures (see its SOURCES.md) beside the repository.
const universe = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/fixtures/universe',
);
const SOURCE = 'https://universe.mesosphere.com/repo';
const decode = (b64: string) => JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as unknown;

describe('Cosmos rendering rules', () => {
  it('extracts defaults, nested objects included, and deep-merges options over them', () => {
    const schema = {
      properties: {
        a: {
          type: 'object',
          properties: { x: { default: 1 }, y: { default: 'two' }, z: { type: 'string' } },
        },
        b: { default: true },
        c: { type: 'object', properties: { none: { type: 'string' } } },
      },
    };
    // An object property without defaults is an empty object, as Cosmos gives it.
    expect(defaultsOf(schema)).toEqual({ a: { x: 1, y: 'two' }, b: true, c: {} });
    expect(deepMerge(defaultsOf(schema), { a: { x: 5 }, d: [1] })).toEqual({
      a: { x: 5, y: 'two' },
      b: true,
      c: {},
      d: [1],
    });
  });

  it('nginx-6 (packagingVersion 2.0) renders with its defaults as Cosmos would', async () => {
    const pkg = await loadPackageDir(path.join(universe, 'nginx-6'));
    const { definition } = renderPackage({ pkg, source: SOURCE });
    expect(definition).toMatchObject({
      id: '/nginx',
      instances: 1,
      cpus: 1,
      mem: 1024,
      container: { type: 'DOCKER', docker: { image: 'bitnami/nginx:1.10.3-r1', network: 'BRIDGE' } },
      acceptedResourceRoles: ['*'],
    });
    const labels = definition.labels as Record<string, string>;
    expect(labels).toMatchObject({
      DCOS_SERVICE_NAME: 'nginx',
      DCOS_SERVICE_SCHEME: 'http',
      DCOS_SERVICE_PORT_INDEX: '0',
      DCOS_PACKAGE_NAME: 'nginx',
      DCOS_PACKAGE_VERSION: '1.10.3',
      DCOS_PACKAGE_SOURCE: SOURCE,
    });
    expect(decode(labels.DCOS_PACKAGE_OPTIONS!)).toEqual({});
    expect(decode(labels.DCOS_PACKAGE_METADATA!)).toMatchObject({ name: 'nginx', packagingVersion: '2.0' });
    expect(decode(labels.DCOS_PACKAGE_DEFINITION!)).toMatchObject({ name: 'nginx', version: '1.10.3' });
    // Not a framework: no framework name label.
    expect(labels.DCOS_PACKAGE_FRAMEWORK_NAME).toBeUndefined();
    // The result is an app Atoll accepts as it is.
    const parsed = parseAppDefinition(definition);
    expect(parsed.ok ? parsed.value.id : parsed.issues).toBe('/nginx');
  });

  it('nginx-6 with options: merged over defaults, sections follow them, id override wins', async () => {
    const pkg = await loadPackageDir(path.join(universe, 'nginx-6'));
    const options = {
      nginx: { name: 'web', instances: 2, bridge: false, 'virtual-host': 'web.example.com' },
    };
    const { definition, mergedOptions } = renderPackage({ pkg, source: SOURCE, options });
    expect(definition).toMatchObject({
      id: '/web',
      instances: 2,
      container: { docker: { network: 'HOST' } },
    });
    expect(definition.labels).toMatchObject({ HAPROXY_0_VHOST: 'web.example.com', DCOS_SERVICE_NAME: 'web' });
    expect(mergedOptions).toMatchObject({ nginx: { name: 'web', cpus: 1, mem: 1024 } });
    expect(decode((definition.labels as Record<string, string>).DCOS_PACKAGE_OPTIONS!)).toEqual(options);
    // No HTML escaping: characters pass as they are.
    const amp = renderPackage({
      pkg,
      source: SOURCE,
      options: { nginx: { 'virtual-host': 'a&b<c>.example' } },
    });
    expect((amp.definition.labels as Record<string, string>).HAPROXY_0_VHOST).toBe('a&b<c>.example');
    expect(renderPackage({ pkg, source: SOURCE, appId: '/team/nginx' }).definition.id).toBe('/team/nginx');
  });

  it('refuses options that break config.json, naming each field', async () => {
    const pkg = await loadPackageDir(path.join(universe, 'nginx-6'));
    let err: unknown;
    try {
      renderPackage({ pkg, source: SOURCE, options: { nginx: { instances: 0, cpus: 'many' } } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RenderError);
    const paths = (err as RenderError).issues.map((i) => i.path).sort();
    expect(paths).toEqual(['nginx.cpus', 'nginx.instances']);
  });

  it('jenkins-200 (packagingVersion 3.0) renders with its defaults: a framework with its labels', async () => {
    const pkg = await loadPackageDir(path.join(universe, 'jenkins-200'));
    expect(pkg.metadata).toMatchObject({ packagingVersion: '3.0', name: 'jenkins', framework: true });
    const { definition } = renderPackage({ pkg, source: SOURCE });
    expect(definition).toMatchObject({
      id: 'jenkins',
      instances: 1,
      container: { docker: { image: 'mesosphere/jenkins:4.0.0-2.204.6' } },
    });
    expect((definition.env as Record<string, unknown>).JENKINS_CONTEXT).toBe('/service/jenkins');
    expect(definition.labels).toMatchObject({
      DCOS_PACKAGE_NAME: 'jenkins',
      DCOS_PACKAGE_VERSION: '4.0.0-2.204.6',
      DCOS_PACKAGE_FRAMEWORK_NAME: 'jenkins',
      DCOS_PACKAGE_SOURCE: SOURCE,
    });
    const parsed = parseAppDefinition(definition);
    expect(parsed.ok ? parsed.value.id : parsed.issues).toBe('/jenkins');
  });

  it('a template that does not render to a JSON object is refused', () => {
    const pkg = {
      metadata: {
        packagingVersion: '3.0' as const,
        name: 'x',
        version: '1',
        description: '',
        tags: [],
        maintainer: '',
        licenses: [],
        selected: false,
        framework: false,
      },
      config: null,
      marathonTemplate: '[1, 2]',
      resource: {},
    };
    expect(() => renderPackage({ pkg, source: SOURCE })).toThrow(/not a JSON object/);
    expect(() =>
      renderPackage({ pkg: { ...pkg, marathonTemplate: '{ "id": {{broken' }, source: SOURCE }),
    ).toThrow(RenderError);
  });
});

import path from 'node:path';
import { loadPackageDir, toIndexEntry } from '@atoll/catalog';
import { containerLabels } from '@atoll/spec';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  partlyReadableIndex,
  redisCommand,
  serveJson,
  startTestCluster,
  waitForNodes,
  type JsonServer,
  type TestCluster,
} from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const skip = await skipWithoutDocker('catalog tests');
const REDIS_IMAGE = 'atoll-test-redis:latest';
const fixtures = path.resolve(import.meta.dirname, '../../../../shared/fixtures/universe');

/** A package of two apps (a group) with a dependency and a required option: made for this test. */
const pairApp = (id: string, cmd: string, dependencies: string[] = []) => ({
  id,
  cpus: 0.05,
  mem: 32,
  cmd,
  dependencies,
  container: { type: 'DOCKER', docker: { image: '{{service.image}}' } },
  healthChecks: [
    { protocol: 'COMMAND', command: { value: 'true' }, intervalSeconds: 2, gracePeriodSeconds: 10 },
  ],
});
const template = (apps: unknown[]) =>
  Buffer.from(JSON.stringify({ id: '/{{service.name}}', apps })).toString('base64');

/** A package of two apps (a group) with a dependency and a required option: made for this test. */
const pairPackage = {
  packagingVersion: '4.0',
  name: 'pair',
  version: '1.0.0',
  releaseVersion: 0,
  description: 'Two busybox apps, the web one depending on the db one',
  tags: ['test'],
  maintainer: 'atoll',
  selected: false,
  framework: false,
  postInstallNotes: 'pair is up',
  config: {
    type: 'object',
    properties: {
      service: {
        type: 'object',
        properties: {
          name: { type: 'string', default: 'pair' },
          image: { type: 'string', default: TEST_IMAGE },
          greeting: { type: 'string', description: 'what web says' },
        },
        required: ['greeting'],
      },
    },
  },
  resource: {},
  marathon: {
    v2AppMustacheTemplate: template([
      pairApp('db', 'exec sleep 3600'),
      pairApp('web', 'echo {{service.greeting}}; exec sleep 3600', ['../db']),
    ]),
  },
};

/** Its next version adds a cache app. */
const pairV2 = {
  ...pairPackage,
  version: '2.0.0',
  releaseVersion: 1,
  upgradesFrom: ['1.0.0'],
  marathon: {
    v2AppMustacheTemplate: template([
      pairApp('db', 'exec sleep 3600'),
      pairApp('web', 'echo {{service.greeting}}; exec sleep 3600', ['../db']),
      pairApp('cache', 'exec sleep 3600', ['../db']),
    ]),
  },
};

// Cosmos's answers, read loosely: each test checks the fields it cares about.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CosmosBody = Record<string, any>;

interface Installed {
  appId: string;
  packageName: string;
  status: string;
  apps: Array<{ id: string; tasksHealthy: number }>;
}

/** The catalog through Cosmos's REST API and Atoll's, with a real control, agent and Docker. */
describe.skipIf(skip)('the package catalog', () => {
  let cluster: TestCluster;
  let repoServer: JsonServer;
  let repoUrl: string;
  let partialUrl: string;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  /** A Cosmos call as the DC/OS CLI makes it: its media types, the raw status and body. */
  const cosmos = async (op: string, body: unknown) => {
    const res = await fetch(`${cluster.url}/package/${op}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${cluster.token}`,
        'content-type': `application/vnd.dcos.package.${op.replace('/', '.')}-request+json;charset=utf-8;version=v1`,
        accept: `application/vnd.dcos.package.${op.replace('/', '.')}-response+json;charset=utf-8;version=v1`,
      },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: (await res.json()) as CosmosBody,
    };
  };

  beforeAll(async () => {
    const index = {
      packages: [
        toIndexEntry({ pkg: await loadPackageDir(path.join(fixtures, 'jenkins-200')), releaseVersion: 200 }),
        toIndexEntry({ pkg: await loadPackageDir(path.join(fixtures, 'nginx-6')), releaseVersion: 6 }),
        pairPackage,
        pairV2,
      ],
    };
    repoServer = await serveJson({
      '/repo.json': index,
      '/partial.json': partlyReadableIndex('partial-hello'),
    });
    repoUrl = repoServer.url('/repo.json');
    partialUrl = repoServer.url('/partial.json');
    cluster = await startTestCluster({ agent: true });
    await waitForNodes(cluster);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await repoServer?.close();
  }, 120_000);

  it('searches the built-in catalog by name, tag and text, selected packages first', async () => {
    const all = await cosmos('search', { query: '' });
    expect(all.status).toBe(200);
    expect(all.type).toContain('application/vnd.dcos.package.search-response+json');
    const names = (all.body.packages as Array<{ name: string; selected: boolean }>).map((p) => p.name);
    expect(names).toContain('redis');
    const selected = (all.body.packages as Array<{ selected: boolean }>).map((p) => p.selected);
    expect(selected).toEqual([...selected].sort((a, b) => Number(b) - Number(a)));
    const byTag = await cosmos('search', { query: 'key-value' });
    expect(byTag.body.packages.map((p: { name: string }) => p.name)).toContain('redis');
    const byText = await api<Array<{ name: string }>>('GET', '/api/v1/packages?query=in-memory');
    expect(byText.map((p) => p.name)).toContain('redis');
    expect(byText.map((p) => p.name)).not.toContain('nginx');
  });

  it('describes a package, lists its versions and renders it with options and labels', async () => {
    const d = await cosmos('describe', { packageName: 'redis' });
    expect(d.status).toBe(200);
    expect(d.body.package).toMatchObject({ name: 'redis', packagingVersion: '4.0' });
    expect(d.body.package.config.properties.resources).toBeDefined();
    const v = await cosmos('list-versions', { packageName: 'redis', includePackageVersions: true });
    expect(Object.keys(v.body.results)).toEqual([d.body.package.version]);
    const r = await cosmos('render', {
      packageName: 'redis',
      options: { resources: { mem: 256 } },
      appId: '/cache/redis',
    });
    expect(r.status).toBe(200);
    expect(r.body.marathonJson).toMatchObject({
      id: '/cache/redis',
      mem: 256,
      labels: { DCOS_PACKAGE_NAME: 'redis', DCOS_PACKAGE_SOURCE: 'builtin:' },
    });
    const opts = JSON.parse(
      Buffer.from(r.body.marathonJson.labels.DCOS_PACKAGE_OPTIONS, 'base64').toString(),
    );
    expect(opts).toEqual({ resources: { mem: 256 } });
  });

  it('refuses bad options with a 4xx naming the option, and unknown packages with a 404', async () => {
    const wrongType = await cosmos('render', {
      packageName: 'redis',
      options: { resources: { cpus: 'lots' } },
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.type).toBe('JsonSchemaMismatch');
    expect(wrongType.body.data.errors).toEqual([expect.objectContaining({ path: 'options.resources.cpus' })]);
    const viaTrpcRest = await fetch(`${cluster.url}/api/v1/packages/install`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ packageName: 'redis', options: { redis: { port: 'x' } } }),
    });
    expect(viaTrpcRest.status).toBe(422);
    expect(await viaTrpcRest.text()).toContain('options.redis.port');
    const noName = await cosmos('install', {});
    expect(noName.status).toBe(400);
    expect(noName.body.message).toContain('packageName');
    const unknown = await cosmos('describe', { packageName: 'no-such-package' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toBe('PackageNotFound');
    expect((await api<unknown[]>('GET', '/api/v1/packages/installed')).length).toBe(0);
  });

  it('adds a Universe repository served over HTTP, lists its packages, and removes it', async () => {
    const bad = await cosmos('repository/add', { name: 'nowhere', uri: 'http://127.0.0.1:9/repo.json' });
    expect(bad.status).toBe(400);
    expect(bad.body.data.errors[0].path).toBe('uri');
    const added = await cosmos('repository/add', { name: 'test-universe', uri: repoUrl, index: 0 });
    expect(added.status).toBe(200);
    expect(added.body.repositories).toEqual([
      { name: 'test-universe', uri: repoUrl },
      { name: 'Atoll', uri: 'builtin:' },
    ]);
    const found = await cosmos('search', { query: '' });
    const names = found.body.packages.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['jenkins', 'pair', 'redis']));
    // The higher-priority repository wins for a name both have.
    expect(found.body.packages.find((p: { name: string }) => p.name === 'nginx')).toMatchObject({
      repository: 'test-universe',
      currentVersion: '1.10.3',
    });
    const dup = await cosmos('repository/add', { name: 'test-universe', uri: 'builtin:' });
    expect(dup.status).toBe(409);
  });

  it('a missing required option is named', async () => {
    const r = await cosmos('install', { packageName: 'pair' });
    expect(r.status).toBe(400);
    expect(r.body.data.errors).toEqual([expect.objectContaining({ path: 'options.service.greeting' })]);
  });

  it('installs a group package as one deployment in dependency order, upgrades it to its next version, and uninstall removes only its apps', async () => {
    await api('POST', '/v2/apps', {
      id: '/bystander',
      cpus: 0.05,
      mem: 32,
      cmd: 'exec sleep 3600',
      container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
    });
    const r = await cosmos('install', {
      packageName: 'pair',
      packageVersion: '1.0.0',
      options: { service: { greeting: 'hi' } },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ packageName: 'pair', appId: '/pair', postInstallNotes: 'pair is up' });
    const deployments = await api<Array<{ id: string; affectedApps: string[]; steps: unknown[] }>>(
      'GET',
      '/v2/deployments',
    );
    const d = deployments.find((x) => x.id === r.body.deploymentId);
    expect(d?.affectedApps.sort()).toEqual(['/pair/db', '/pair/web']);
    expect(d?.steps).toHaveLength(2);
    expect((await cosmos('list-versions', { packageName: 'pair' })).body.results).toEqual({
      '1.0.0': '0',
      '2.0.0': '1',
    });
    const installed = await until(
      'pair running healthy',
      () => api<Installed[]>('GET', '/api/v1/packages/installed'),
      (xs) =>
        xs.some(
          (x) => x.appId === '/pair' && x.status === 'Running' && x.apps.every((a) => a.tasksHealthy === 1),
        ),
    );
    expect(installed.find((x) => x.appId === '/pair')?.apps.map((a) => a.id)).toEqual([
      '/pair/db',
      '/pair/web',
    ]);
    const list = await cosmos('list', {});
    expect(list.body.packages).toEqual([
      expect.objectContaining({
        appId: '/pair',
        packageInformation: { packageDefinition: expect.objectContaining({ name: 'pair' }) },
      }),
    ]);
    const again = await cosmos('install', { packageName: 'pair', options: { service: { greeting: 'hi' } } });
    expect(again.status).toBe(409);

    // Upgrade to the next version: a preview first, then the new app is created and the others roll.
    const preview = await api<{ create: string[]; change: string[]; remove: string[]; toVersion: string }>(
      'POST',
      '/api/v1/packages/upgrade/preview',
      { appId: '/pair', packageVersion: '2.0.0' },
    );
    expect(preview).toMatchObject({
      toVersion: '2.0.0',
      create: ['/pair/cache'],
      change: ['/pair/db', '/pair/web'],
      remove: [],
    });
    await api('POST', '/api/v1/packages/upgrade', { appId: '/pair', packageVersion: '2.0.0' });
    await until(
      'pair 2.0.0 running healthy',
      () => api<Installed[]>('GET', '/api/v1/packages/installed?appId=/pair'),
      (xs) =>
        xs[0]?.status === 'Running' &&
        xs[0].apps.length === 3 &&
        xs[0].apps.every((a) => a.tasksHealthy === 1) &&
        (xs[0] as Installed & { packageVersion: string }).packageVersion === '2.0.0',
    );

    const un = await cosmos('uninstall', { packageName: 'pair' });
    expect(un.status).toBe(200);
    expect(un.body.results).toEqual([expect.objectContaining({ packageName: 'pair', appId: '/pair' })]);
    await until(
      'the package apps gone',
      () => api<{ apps: Array<{ id: string }> }>('GET', '/v2/apps'),
      (x) => x.apps.map((a) => a.id).join() === '/bystander',
      60_000,
    );
    expect((await api<unknown[]>('GET', '/api/v1/packages/installed')).length).toBe(0);
    await api('DELETE', '/v2/apps/bystander?force=true');
  }, 240_000);

  it('removing a repository hides its packages', async () => {
    const removed = await cosmos('repository/delete', { name: 'test-universe' });
    expect(removed.body.repositories).toEqual([{ name: 'Atoll', uri: 'builtin:' }]);
    expect((await cosmos('describe', { packageName: 'pair' })).status).toBe(404);
  });

  it('adds a repository with entries it cannot read: the readable package is served, the others listed with why', async () => {
    // What Atoll says of the two entries it cannot read: the field and what is wrong with it.
    const skipped = [
      {
        index: 1,
        name: 'partial-hello-next',
        version: '2.0.0',
        reason: expect.stringMatching(/^packagingVersion: .*"6\.0"/),
      },
      { index: 2, version: '0.0.1', reason: expect.stringMatching(/^name: /) },
    ];
    const readable = async () => {
      const found = await cosmos('search', { query: 'partial-hello' });
      expect(found.body.packages).toEqual([
        expect.objectContaining({ name: 'partial-hello', currentVersion: '1.0.0', repository: 'partial' }),
      ]);
      const described = await cosmos('describe', { packageName: 'partial-hello' });
      expect(described.status).toBe(200);
      expect(described.body.package).toMatchObject({ name: 'partial-hello', version: '1.0.0' });
      expect((await cosmos('describe', { packageName: 'partial-hello-next' })).status).toBe(404);
    };

    // Through Cosmos, as `dcos package repo add` does.
    const added = await cosmos('repository/add', { name: 'partial', uri: partialUrl, index: 0 });
    expect(added.status).toBe(200);
    expect(added.type).toContain('application/vnd.dcos.package.repository.add-response+json');
    expect(added.body.repositories).toEqual([
      { name: 'partial', uri: partialUrl, skipped },
      { name: 'Atoll', uri: 'builtin:' },
    ]);
    const listed = await cosmos('repository/list', {});
    expect(listed.status).toBe(200);
    expect(listed.body.repositories).toEqual(added.body.repositories);
    await readable();
    const removed = await cosmos('repository/delete', { name: 'partial' });
    expect(removed.body.repositories).toEqual([{ name: 'Atoll', uri: 'builtin:' }]);

    // Through Atoll's REST API.
    type Repo = { name: string; uri: string; packages: number; skipped: unknown[] };
    const viaRest = await api<Repo[]>('POST', '/api/v1/packages/repositories', {
      name: 'partial',
      uri: partialUrl,
    });
    expect(viaRest.map((r) => r.name)).toEqual(['Atoll', 'partial']);
    const repos = await api<Repo[]>('GET', '/api/v1/packages/repositories');
    expect(repos.find((r) => r.name === 'partial')).toMatchObject({
      uri: partialUrl,
      packages: 1,
      skipped,
    });
    expect(repos.find((r) => r.name === 'Atoll')?.skipped).toEqual([]);
    await readable();
    const left = await api<Repo[]>('DELETE', '/api/v1/packages/repositories?name=partial');
    expect(left.map((r) => r.name)).toEqual(['Atoll']);
    expect((await cosmos('describe', { packageName: 'partial-hello' })).status).toBe(404);
  });

  it('installs Redis from the built-in catalog on a local image, answers PONG, keeps its data on its volume through an upgrade, uninstalls without a trace', async () => {
    const r = await api<{ appId: string; deploymentId: string }>('POST', '/api/v1/packages/install', {
      packageName: 'redis',
      options: { service: { image: REDIS_IMAGE }, resources: { mem: 128, disk: 64 } },
    });
    expect(r.appId).toBe('/redis');
    await until(
      'redis healthy',
      () => api<Installed[]>('GET', '/api/v1/packages/installed'),
      (xs) => xs[0]?.status === 'Running' && xs[0].apps[0]?.tasksHealthy === 1,
    );
    const { tasks } = await api<{ tasks: Array<{ ports: number[] }> }>('GET', '/v2/apps/redis/tasks');
    expect(await redisCommand(tasks[0]!.ports[0]!)).toBe('+PONG');
    // Its data lives on the package's persistent volume and outlives the task.
    expect(await redisCommand(tasks[0]!.ports[0]!, 'SET atoll kept')).toBe('+OK');

    const preview = await api<{ change: string[]; to: { mem: number } }>(
      'POST',
      '/api/v1/packages/upgrade/preview',
      {
        appId: '/redis',
        options: { service: { image: REDIS_IMAGE }, resources: { mem: 160, disk: 64 } },
      },
    );
    expect(preview.change).toEqual(['/redis']);
    expect(preview.to.mem).toBe(160);
    await api('POST', '/api/v1/packages/upgrade', {
      appId: '/redis',
      options: { service: { image: REDIS_IMAGE }, resources: { mem: 160, disk: 64 } },
    });
    const upgraded = await until(
      'the upgraded task healthy',
      () =>
        api<{ app: { mem: number; tasks: Array<{ healthCheckResults: Array<{ alive: boolean }> }> } }>(
          'GET',
          '/v2/apps/redis?embed=app.tasks',
        ),
      (x) =>
        x.app.mem === 160 &&
        x.app.tasks.length === 1 &&
        x.app.tasks[0]!.healthCheckResults[0]?.alive === true,
    );
    expect(upgraded.app.mem).toBe(160);
    const after = await api<{ tasks: Array<{ ports: number[] }> }>('GET', '/v2/apps/redis/tasks');
    expect(await redisCommand(after.tasks[0]!.ports[0]!, 'GET atoll')).toBe('$4\r\nkept');
    const docker = new Docker();
    const volumes = async () =>
      (await docker.listVolumes({ filters: { label: [`${containerLabels.appId}=/redis`] } })).Volumes ?? [];
    expect((await volumes()).map((v) => v.Name)).toEqual(['atoll-redis-data']);
    const [installed] = await api<Array<Installed & { options: unknown }>>(
      'GET',
      '/api/v1/packages/installed',
    );
    expect(installed?.options).toEqual({
      service: { image: REDIS_IMAGE },
      resources: { mem: 160, disk: 64 },
    });
    // With the stored options (read back from jsonb in another key order) nothing changes.
    const noop = await api<{ change: string[]; create: string[] }>(
      'POST',
      '/api/v1/packages/upgrade/preview',
      {
        appId: '/redis',
      },
    );
    expect(noop).toMatchObject({ change: [], create: [] });

    await api('POST', '/api/v1/packages/uninstall', { packageName: 'redis' });
    await until(
      'no redis container left',
      () => docker.listContainers({ all: true, filters: { label: [`${containerLabels.appId}=/redis`] } }),
      (cs) => cs.length === 0,
    );
    await until('its volume removed', volumes, (vs) => vs.length === 0);
    expect((await api<{ apps: unknown[] }>('GET', '/v2/apps')).apps).toEqual([]);
  }, 180_000);
});

import { TRPCClientError } from '@trpc/client';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { run, type CliIO } from '../main';
import {
  installedTable,
  installTasks,
  optionIssues,
  optionsSummary,
  optionsTable,
  packageDetail,
  packageSearchTable,
  parseIndex,
  repositoryTable,
  shortenLine,
  sortKeys,
  truncate,
  upgradePreviewText,
  type InstalledRow,
  type PackageSummaryRow,
} from './package';

const redisSchema = {
  type: 'object',
  properties: {
    service: {
      type: 'object',
      description: 'The service',
      properties: {
        name: { type: 'string', default: 'redis', description: 'Service name (its Marathon id)' },
        image: { type: 'string', default: '', description: 'Image to run instead of the packaged one' },
      },
    },
    resources: {
      type: 'object',
      properties: {
        cpus: { type: 'number', default: 0.5, minimum: 0.1, description: 'CPUs' },
        mem: { type: 'number', default: 512, description: 'Memory in MiB' },
      },
    },
    redis: {
      type: 'object',
      properties: {
        'maxmemory-policy': {
          type: 'string',
          default: 'allkeys-lru',
          enum: ['noeviction', 'allkeys-lru'],
          description: 'What to evict',
        },
      },
      required: ['maxmemory-policy'],
    },
  },
};

describe('optionsSummary', () => {
  it('walks nested properties into dotted paths with type, default and description', () => {
    expect(optionsSummary(redisSchema)).toEqual([
      {
        path: 'service.name',
        type: 'string',
        default: 'redis',
        description: 'Service name (its Marathon id)',
      },
      {
        path: 'service.image',
        type: 'string',
        default: '""',
        description: 'Image to run instead of the packaged one',
      },
      { path: 'resources.cpus', type: 'number', default: '0.5', description: 'CPUs' },
      { path: 'resources.mem', type: 'number', default: '512', description: 'Memory in MiB' },
      {
        path: 'redis.maxmemory-policy',
        type: 'string',
        default: 'allkeys-lru',
        description: 'What to evict (required; one of: noeviction, allkeys-lru)',
      },
    ]);
  });

  it('shows missing defaults as -, type unions, objects without properties and non-string defaults as JSON', () => {
    expect(
      optionsSummary({
        properties: {
          a: { type: ['string', 'null'] },
          b: { type: 'object', default: { x: 1 } },
          c: { type: 'array', default: ['x'], description: '  spread \n over lines ' },
          d: { type: 'boolean', default: false },
          e: 'not a schema',
        },
      }),
    ).toEqual([
      { path: 'a', type: 'string|null', default: '-', description: '' },
      { path: 'b', type: 'object', default: '{"x":1}', description: '' },
      { path: 'c', type: 'array', default: '["x"]', description: 'spread over lines' },
      { path: 'd', type: 'boolean', default: 'false', description: '' },
    ]);
  });

  it('is empty for a package without a schema', () => {
    expect(optionsSummary(null)).toEqual([]);
    expect(optionsSummary(undefined)).toEqual([]);
    expect(optionsSummary({ type: 'object' })).toEqual([]);
  });

  it('formats as an aligned table', () => {
    const table = optionsTable(optionsSummary(redisSchema));
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^OPTION\s+TYPE\s+DEFAULT\s+DESCRIPTION$/);
    expect(lines).toContain('resources.cpus          number  0.5          CPUs');
  });
});

describe('truncate', () => {
  it('keeps short text, cuts long text with an ellipsis and flattens whitespace', () => {
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('exactly10!', 10)).toBe('exactly10!');
    expect(truncate('a b c d e f g h', 8)).toBe('a b c d…');
    expect(truncate('a\n  b', 10)).toBe('a b');
    expect(Array.from(truncate('★'.repeat(20), 5))).toHaveLength(5);
  });
});

const summary = (over: Partial<PackageSummaryRow>): PackageSummaryRow => ({
  name: 'redis',
  currentVersion: '7.4.1-0.1.0',
  versions: { '7.4.1-0.1.0': '0' },
  description: 'Redis: an in-memory data store',
  framework: false,
  tags: [],
  selected: true,
  images: {},
  repository: 'Universe',
  ...over,
});

describe('packageSearchTable', () => {
  it('marks selected packages and cuts descriptions', () => {
    const table = packageSearchTable(
      [
        summary({}),
        summary({ name: 'nginx', selected: false, currentVersion: '1', description: 'x'.repeat(80) }),
      ],
      20,
    );
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VERSION\s+SELECTED\s+REPOSITORY\s+DESCRIPTION$/);
    expect(lines[1]).toMatch(/^redis\s+7\.4\.1-0\.1\.0\s+★\s+Universe\s+Redis: an in-memory…$/);
    expect(lines[2]).toMatch(/^nginx\s+1\s+Universe\s+x{19}…$/);
  });
});

const installed = (over: Partial<InstalledRow>): InstalledRow => ({
  appId: '/redis',
  packageName: 'redis',
  packageVersion: '7.4.1-0.1.0',
  source: 'builtin:',
  options: {},
  installedAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
  status: 'Running',
  apps: [
    { id: '/redis', status: 'Running', instances: 1, tasksRunning: 1, tasksHealthy: 1, tasksUnhealthy: 0 },
  ],
  images: {},
  postInstallNotes: null,
  ...over,
});

describe('installedTable', () => {
  it('sums healthy tasks and instances over the apps of an install', () => {
    expect(
      installTasks([
        { id: '/k/a', status: 'Running', instances: 3, tasksRunning: 3, tasksHealthy: 2, tasksUnhealthy: 1 },
        {
          id: '/k/b',
          status: 'Deploying',
          instances: 1,
          tasksRunning: 0,
          tasksHealthy: 0,
          tasksUnhealthy: 0,
        },
      ]),
    ).toBe('2/4');
  });

  it('has one line an install', () => {
    expect(installedTable([installed({}), installed({ appId: '/cache', status: 'Deploying' })])).toBe(
      [
        'APP ID  PACKAGE  VERSION      STATUS     TASKS(healthy/wanted)',
        '/redis  redis    7.4.1-0.1.0  Running                      1/1',
        '/cache  redis    7.4.1-0.1.0  Deploying                    1/1',
        '',
      ].join('\n'),
    );
  });
});

describe('repositoryTable', () => {
  it('lists name, priority, package count and uri', () => {
    expect(
      repositoryTable([
        { name: 'Universe', uri: 'builtin:', priority: 0, packages: 24, skipped: [], fetchedAt: null },
        {
          name: 'local',
          uri: '/srv/repo.json',
          priority: 1,
          packages: 2,
          skipped: [{ index: 3, reason: 'name: missing (expected string)' }],
          fetchedAt: '2025-01-01T00:00:00Z',
        },
      ]),
    ).toBe(
      [
        'NAME      PRIORITY  PACKAGES  SKIPPED  URI',
        'Universe         0        24        0  builtin:',
        'local            1         2        1  /srv/repo.json',
        '',
      ].join('\n'),
    );
  });
});

describe('packageDetail', () => {
  it('shows the fields, the pre-install notes and the options', () => {
    const text = packageDetail({
      package: {
        name: 'redis',
        version: '2',
        tags: ['database', 'cache'],
        maintainer: 'atoll@example.org',
        website: 'https://redis.io',
        description: 'Redis.',
        selected: true,
        licenses: [{ name: 'BSD' }],
        preInstallNotes: 'Data stays on the node.',
        config: redisSchema,
      },
      versions: ['1', '2'],
      repository: { name: 'Universe', uri: 'builtin:' },
    });
    expect(text).toContain('NAME         redis\n');
    expect(text).toContain('VERSIONS     1, 2\n');
    expect(text).toContain('TAGS         database, cache\n');
    expect(text).toContain('MAINTAINER   atoll@example.org\n');
    expect(text).toContain('WEBSITE      https://redis.io\n');
    expect(text).toContain('\nPre-install notes:\n  Data stays on the node.\n');
    expect(text).toMatch(/\nresources\.mem\s+number\s+512\s+Memory in MiB\n/);
  });

  it('says when a package has no options', () => {
    const text = packageDetail({
      package: { name: 'x', version: '1' },
      versions: ['1'],
      repository: { name: 'r', uri: '/r.json' },
    });
    expect(text).toContain('No options.');
    expect(text).not.toContain('Pre-install notes');
  });
});

describe('upgradePreviewText', () => {
  it('shows the versions, the apps and a diff of the definitions', () => {
    const text = upgradePreviewText({
      appId: '/redis',
      packageName: 'redis',
      fromVersion: '1',
      toVersion: '2',
      from: { id: '/redis', mem: 128, cpus: 0.5 },
      to: { id: '/redis', mem: 160, cpus: 0.5 },
      create: [],
      change: ['/redis'],
      remove: [],
    });
    expect(text).toBe(
      [
        'Upgrade of /redis (redis): 1 → 2',
        '  create: -',
        '  change: /redis',
        '  remove: -',
        '',
        '--- /redis (1, installed)',
        '+++ /redis (2, upgraded)',
        '@@ -1,5 +1,5 @@',
        ' {',
        '   "cpus": 0.5,',
        '   "id": "/redis",',
        '-  "mem": 128',
        '+  "mem": 160',
        ' }',
        '',
      ].join('\n'),
    );
  });

  it('says when there is nothing to change', () => {
    const def = { id: '/a' };
    const text = upgradePreviewText({
      appId: '/a',
      packageName: 'a',
      fromVersion: '1',
      toVersion: '1',
      from: def,
      to: def,
      create: [],
      change: [],
      remove: [],
    });
    expect(text).toContain('Nothing to change.');
    expect(text).not.toContain('@@');
  });

  it('compares the definitions with their keys sorted', () => {
    const text = upgradePreviewText({
      appId: '/a',
      packageName: 'a',
      fromVersion: '1',
      toVersion: '1',
      from: { mem: 1, id: '/a', env: { B: '1', A: '1' } },
      to: { id: '/a', env: { A: '1', B: '2' }, mem: 1 },
      create: [],
      change: ['/a'],
      remove: [],
    });
    expect(text).toContain(
      '@@ -1,7 +1,7 @@\n {\n   "env": {\n     "A": "1",\n-    "B": "1"\n+    "B": "2"\n   },\n',
    );
    expect(sortKeys([{ b: 1, a: [{ d: 1, c: 2 }] }])).toEqual([{ a: [{ c: 2, d: 1 }], b: 1 }]);
    expect(JSON.stringify(sortKeys({ b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });

  it('cuts long lines', () => {
    expect(shortenLine('abc', 5)).toBe('abc');
    expect(shortenLine('abcdefgh', 5)).toBe('abcde… (8 characters)');
  });
});

describe('optionIssues', () => {
  it('takes the issues under options, relative to them', () => {
    const err = new TRPCClientError('options.resources.cpus: must be number', {
      result: {
        error: {
          code: -32600,
          message: 'x',
          data: {
            issues: [
              { path: 'options.resources.cpus', message: 'must be number' },
              { path: 'options', message: 'bad' },
              { path: 'rendered.id', message: 'not mine' },
            ],
          },
        },
      },
    });
    expect(optionIssues(err)).toEqual([
      { path: 'resources.cpus', message: 'must be number' },
      { path: '(options)', message: 'bad' },
    ]);
    expect(optionIssues(new Error('x'))).toEqual([]);
  });
});

describe('parseIndex', () => {
  it('takes whole numbers, 0 or more', () => {
    expect(parseIndex('0')).toBe(0);
    expect(parseIndex(' 3 ')).toBe(3);
    for (const bad of ['-1', '1.5', 'x', ''])
      expect(() => parseIndex(bad), bad).toThrow(InvalidArgumentError);
  });
});

// The commands against a fake control (tRPC over HTTP answered from handlers).
type Handler = (input: unknown) => unknown;
interface FakeTrpcError {
  trpcError: { code: string; httpStatus: number; message: string; issues?: unknown };
}

function fakeControl(handlers: Record<string, Handler>) {
  const calls: Array<{ path: string; input: unknown }> = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const paths = url.pathname.replace(/^\/api\/trpc\//, '').split(',');
    const raw = init?.method === 'POST' ? String(init.body) : (url.searchParams.get('input') ?? '{}');
    const inputs = JSON.parse(raw) as Record<string, unknown>;
    let status = 200;
    const results = paths.map((p, i) => {
      const callInput = inputs[String(i)];
      calls.push({ path: p, input: callInput });
      const handler = handlers[p];
      if (!handler) throw new Error(`unexpected call ${p}`);
      try {
        return { result: { data: handler(callInput) } };
      } catch (err) {
        const e = (err as FakeTrpcError).trpcError;
        if (!e) throw err;
        status = e.httpStatus;
        return {
          error: {
            message: e.message,
            code: -32009,
            data: { code: e.code, httpStatus: e.httpStatus, issues: e.issues ?? null },
          },
        };
      }
    });
    return new Response(JSON.stringify(results), { status, headers: { 'content-type': 'application/json' } });
  };
  return { fetch, calls };
}

describe('package commands against a fake control', () => {
  const env = { ATOLL_URL: 'http://control:7700', ATOLL_TOKEN: 'atl_x', ATOLL_CONFIG: '/nonexistent/c.json' };
  const described = {
    package: {
      name: 'redis',
      version: '2',
      preInstallNotes: 'Data stays on the node.',
      config: redisSchema,
    },
    versions: ['1', '2'],
    repository: { name: 'Universe', uri: 'builtin:' },
  };
  const installResult = {
    packageName: 'redis',
    packageVersion: '2',
    appId: '/redis',
    appIds: ['/redis'],
    deploymentId: 'dep-1',
    postInstallNotes: 'Redis is installed.',
  };
  const handlers = (over: Record<string, Handler> = {}) =>
    fakeControl({
      'catalog.describe': () => described,
      'catalog.render': () => ({ id: '/redis' }),
      'catalog.install': () => installResult,
      ...over,
    });

  async function atoll(args: string[], extra: Partial<CliIO> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(args, {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env,
      ...extra,
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  it('install shows the notes, asks, and installs on yes', async () => {
    const control = handlers();
    const asked: string[] = [];
    const r = await atoll(['package', 'install', 'redis'], {
      fetch: control.fetch,
      readLine: (q) => {
        asked.push(q);
        return Promise.resolve('y');
      },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(asked).toEqual(['Continue installing? [y/N] ']);
    expect(r.stdout).toBe(
      [
        'Installing redis 2 as /redis.',
        'Data stays on the node.',
        'Installed redis 2 as /redis (deployment dep-1)',
        '',
        'Redis is installed.',
        '',
      ].join('\n'),
    );
    expect(control.calls.map((c) => c.path)).toEqual([
      'catalog.describe',
      'catalog.render',
      'catalog.install',
    ]);
  });

  it('install does nothing when the answer is not yes', async () => {
    const control = handlers();
    const r = await atoll(['package', 'install', 'redis'], {
      fetch: control.fetch,
      readLine: () => Promise.resolve(''),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: cancelled: nothing installed\n');
    expect(control.calls.map((c) => c.path)).not.toContain('catalog.install');
  });

  it('install without a terminal asks for --yes', async () => {
    const control = handlers();
    const r = await atoll(['package', 'install', 'redis'], { fetch: control.fetch });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: Continue installing: no terminal to ask for confirmation\n  run again with --yes to go ahead without asking\n',
    );
    expect(control.calls.map((c) => c.path)).not.toContain('catalog.install');
  });

  it('install --options - --yes --json reads the options from standard input and prints only JSON', async () => {
    const control = handlers();
    const r = await atoll(
      ['--json', 'package', 'install', 'redis', '--options', '-', '--yes', '--app-id', 'cache'],
      {
        fetch: control.fetch,
        readStdin: () => Promise.resolve('{"resources":{"mem":256}}'),
      },
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(installResult);
    expect(control.calls.at(-1)).toEqual({
      path: 'catalog.install',
      input: {
        packageName: 'redis',
        packageVersion: '2',
        appId: 'cache',
        options: { resources: { mem: 256 } },
      },
    });
  });

  it('install refuses options that are not a JSON object, naming the file', async () => {
    const control = handlers();
    const r = await atoll(['package', 'install', 'redis', '--options', '-', '--yes'], {
      fetch: control.fetch,
      readStdin: () => Promise.resolve('[1]'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: standard input must hold the package options as a JSON object, e.g. {"resources": {"mem": 256}}\n',
    );
    expect(control.calls).toEqual([]);
  });

  it('bad options: the fields the server names, before anything is asked', async () => {
    const control = handlers({
      'catalog.render': () => {
        throw {
          trpcError: {
            code: 'UNPROCESSABLE_CONTENT',
            httpStatus: 422,
            message: 'options.resources.cpus: must be number',
            issues: [{ path: 'options.resources.cpus', message: 'must be number' }],
          },
        } satisfies FakeTrpcError;
      },
    });
    const r = await atoll(['package', 'install', 'redis', '--options', '-'], {
      fetch: control.fetch,
      readStdin: () => Promise.resolve('{"resources":{"cpus":"lots"}}'),
      readLine: () => Promise.reject(new Error('must not ask')),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: invalid options (standard input):\n  resources.cpus: must be number\n');
  });

  it('describe --config prints the schema; --options without --render is refused', async () => {
    const control = handlers();
    const r = await atoll(['package', 'describe', 'redis', '--config'], { fetch: control.fetch });
    expect(JSON.parse(r.stdout)).toEqual(redisSchema);
    const bad = await atoll(['package', 'describe', 'redis', '--options', 'x.json'], {
      fetch: control.fetch,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: --options and --app-id go with --render');
  });

  it('uninstall refuses an ambiguous package and asks before removing', async () => {
    const two = [installed({}), installed({ appId: '/cache', apps: [] })];
    const control = fakeControl({
      'catalog.installed': () => two,
      'catalog.uninstall': () => [
        {
          packageName: 'redis',
          appId: '/redis',
          packageVersion: '7.4.1-0.1.0',
          postUninstallNotes: 'Bye.',
          removedApps: ['/redis'],
        },
      ],
    });
    const amb = await atoll(['package', 'uninstall', 'redis', '--yes'], { fetch: control.fetch });
    expect(amb.code).toBe(1);
    expect(amb.stderr).toContain('error: package redis is installed 2 times: /redis, /cache\n');
    const one = fakeControl({ 'catalog.installed': () => [two[0]], 'catalog.uninstall': () => [] });
    const asked = await atoll(['package', 'uninstall', 'redis'], {
      fetch: one.fetch,
      readLine: () => Promise.resolve('no'),
    });
    expect(asked.stdout).toBe('Uninstalling redis removes 1 app: /redis\n');
    expect(asked.stderr).toBe('error: cancelled: nothing uninstalled\n');
    expect(one.calls.map((c) => c.path)).toEqual(['catalog.installed']);
  });
});

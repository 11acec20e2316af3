import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';

const fixturesDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/fixtures/marathon',
);
const fixtures = Object.fromEntries(
  readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(path.join(fixturesDir, f), 'utf8')) as unknown]),
);
const appFixtures = Object.entries(fixtures)
  .filter(([name]) => !/group|pod/.test(name))
  .map(([, v]) => v);
const groupFixtures = Object.entries(fixtures)
  .filter(([name]) => name.includes('group'))
  .map(([, v]) => v);
const podFixtures = Object.entries(fixtures)
  .filter(([name]) => name.includes('pod'))
  .map(([, v]) => v);

/** How many requests the property sends (ATOLL_FUZZ_RUNS for a longer hunt). */
const RUNS = Number(process.env.ATOLL_FUZZ_RUNS ?? 300);

/** Text no answer may carry: the database's or Prisma's own words, or a stack. */
const INTERNAL_TEXT =
  /prisma|invocation|SQLSTATE|violates|syntax for type|byte sequence|relation "|column "|at [\w.]+ \(|node_modules/i;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// ---- Generators ------------------------------------------------------------------------------

/** Values that break naive code: wrong types, extremes, odd strings, odd ids. */
const nasty: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    null,
    true,
    false,
    0,
    -1,
    -0,
    0.5,
    1e308,
    -1e308,
    2 ** 31,
    2 ** 53,
    1e21,
    '',
    ' ',
    '/',
    '//',
    '/a/../..',
    '..',
    '.',
    '/UPPER',
    '/a b',
    '$PORT0',
    'sleep 1',
    'x'.repeat(300),
    'y'.repeat(70_000),
    '😀',
    '\u202e',
    'true',
    '1e309',
    'NaN',
    '-1',
    'BRIDGE',
    'HOST',
    'DOCKER',
    'MESOS',
    'container/bridge',
    'UNIQUE',
    [],
    {},
    [[]],
    { '': null },
    [null],
    ['hostname', 'UNIQUE'],
    ['hostname', 'LIKE', '('],
    ['hostname', 'MAX_PER', 'x'],
    ['hostname', 'GROUP_BY', '-3'],
  ),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

/** Every path into a JSON value (object keys and array indexes), the root included. */
function pathsOf(v: Json, at: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(at);
  if (Array.isArray(v)) v.forEach((c, i) => pathsOf(c, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) pathsOf(c, [...at, k], out);
  return out;
}

type Mutation = { kind: 'set' | 'delete' | 'add'; pick: number; value: Json; key: string };

/** Applies mutations to a copy: replace the value at a path, delete it, or add a key. */
function mutate(base: Json, mutations: Mutation[]): Json {
  let doc = structuredClone(base);
  for (const m of mutations) {
    const paths = pathsOf(doc);
    const at = paths[m.pick % paths.length]!;
    if (at.length === 0) {
      if (m.kind === 'set') doc = m.value;
      else if (m.kind === 'add' && doc && typeof doc === 'object' && !Array.isArray(doc))
        doc[m.key] = m.value;
      continue;
    }
    const parent = at.slice(0, -1).reduce<Json>((p, k) => (p as Record<string, Json>)[k as string]!, doc);
    const last = at[at.length - 1]!;
    const target = (parent as Record<string | number, Json>)[last]!;
    if (m.kind === 'set') (parent as Record<string | number, Json>)[last] = m.value;
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete (parent as Record<string, Json>)[last as string];
    } else if (target && typeof target === 'object' && !Array.isArray(target)) target[m.key] = m.value;
    else if (Array.isArray(target)) target.push(m.value);
  }
  return doc;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('set', 'set', 'delete', 'add'),
  pick: fc.nat(),
  value: nasty,
  key: fc.oneof(
    fc.constantFrom(
      'id',
      'instances',
      'cpus',
      'mem',
      'disk',
      'gpus',
      'cmd',
      'args',
      'container',
      'portDefinitions',
      'ports',
      'healthChecks',
      'constraints',
      'dependencies',
      'labels',
      'env',
      'secrets',
      'upgradeStrategy',
      'apps',
      'groups',
      'pods',
      'containers',
      'scaling',
      'networks',
      'volumes',
      'fetch',
      'uris',
      'residency',
      'version',
      '__proto__',
      'constructor',
    ),
    fc.string({ maxLength: 12 }),
  ),
});

const mutated = (bases: unknown[]) =>
  fc
    .tuple(fc.constantFrom(...bases), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([base, ms]) => mutate(base as Json, ms));

/** A body: a mutated fixture of the right kind, another kind's fixture, or any JSON at all. */
const body = (own: unknown[]) =>
  fc.oneof(
    { weight: 6, arbitrary: mutated(own) },
    { weight: 1, arbitrary: fc.constantFrom(...(Object.values(fixtures) as Json[])) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json> },
  );

/** An id in a path: the fixtures' own and the seeded ones, or any string, percent-encoded. */
const idPath = fc.oneof(
  fc.constantFrom('/simple', '/fuzz/base', '/sleep-group', '/sleep-group/sleep', '/simple-pod', '/', '/foo'),
  fc
    .array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 3 })
    .map((segments) => '/' + segments.map(encodeURIComponent).join('/')),
);

const query = fc.constantFrom('', '?force=true', '?partialUpdate=false', '?force=true&partialUpdate=false');

interface Req {
  method: string;
  path: string;
  body: Json | undefined;
}

const request: fc.Arbitrary<Req> = fc.oneof(
  fc.tuple(body(appFixtures), query).map(([b, q]) => ({ method: 'POST', path: `/v2/apps${q}`, body: b })),
  fc
    .tuple(fc.constantFrom('PUT', 'PATCH'), idPath, body(appFixtures), query)
    .map(([method, id, b, q]) => ({ method, path: `/v2/apps${id}${q}`, body: b })),
  fc
    .tuple(fc.array(body(appFixtures), { maxLength: 3 }), query)
    .map(([b, q]) => ({ method: 'PUT', path: `/v2/apps${q}`, body: b })),
  fc.tuple(body(groupFixtures), query).map(([b, q]) => ({ method: 'POST', path: `/v2/groups${q}`, body: b })),
  fc
    .tuple(fc.constantFrom('PUT', 'POST'), idPath, body(groupFixtures), query)
    .map(([method, id, b, q]) => ({ method, path: `/v2/groups${id}${q}`, body: b })),
  fc.tuple(body(podFixtures), query).map(([b, q]) => ({ method: 'POST', path: `/v2/pods${q}`, body: b })),
  fc
    .tuple(idPath, body(podFixtures), query)
    .map(([id, b, q]) => ({ method: 'PUT', path: `/v2/pods${id}${q}`, body: b })),
);

// ---- The property ----------------------------------------------------------------------------

describe('Marathon /v2 bodies (property)', () => {
  let cluster: TestCluster;
  const send = async (method: string, p: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(cluster.url + p, {
      method,
      headers: {
        authorization: `Bearer ${cluster.token}`,
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(payload !== undefined
        ? { body: typeof payload === 'string' ? payload : JSON.stringify(payload) }
        : {}),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  /**
   * What a rejected request must leave as it was: apps (definition and versions) and the
   * deployments written for them. Columns the leader's reconciler moves on its own (a
   * deployment's step and status, back-off, placement notes) are left out.
   */
  const snapshot = async () => {
    const prisma = cluster.control.db.prisma;
    const [apps, versions, deployments] = await Promise.all([
      prisma.app.findMany({
        select: { id: true, version: true, configVersion: true, definition: true, deleting: true },
        orderBy: { id: 'asc' },
      }),
      prisma.appVersion.findMany({
        select: { appId: true, version: true, definition: true },
        orderBy: [{ appId: 'asc' }, { version: 'asc' }],
      }),
      prisma.deployment.findMany({
        select: { id: true, affectedApps: true, steps: true, original: true, version: true },
        orderBy: { id: 'asc' },
      }),
    ]);
    const rows = new Map<string, string>();
    for (const a of apps) rows.set(`app ${a.id}`, JSON.stringify(a));
    for (const v of versions) rows.set(`version ${v.appId} ${v.version}`, JSON.stringify(v.definition));
    for (const d of deployments) rows.set(`deployment ${d.id}`, JSON.stringify(d));
    return rows;
  };
  /** What differs between two snapshots, row by row (empty when nothing does). */
  const changes = (a: Map<string, string>, b: Map<string, string>) =>
    [...new Set([...a.keys(), ...b.keys()])]
      .filter((k) => a.get(k) !== b.get(k))
      .map((k) => `${a.has(k) ? (b.has(k) ? 'changed' : 'removed') : 'added'} ${k}`);

  beforeAll(async () => {
    // No agent: nothing is placed, which is all the same to what the API accepts and stores.
    cluster = await startTestCluster({ agent: false });
    // Something for PUT and PATCH to change: an app, a group and a pod from the fixtures.
    for (const [p, b] of [
      ['/v2/apps', fixtures['01-simple-cmd-app.json']],
      ['/v2/apps', { ...(fixtures['01-simple-cmd-app.json'] as object), id: '/fuzz/base' }],
      ['/v2/groups', fixtures['09-group-sleep.json']],
      ['/v2/pods', fixtures['10-pod-simple.json']],
    ] as const) {
      const res = await send('POST', `${p}?force=true`, b);
      expect(res.status, `${p}: ${res.text}`).toBeLessThan(300);
    }
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('never answers 5xx, never shows internal text, and leaves state alone when it refuses', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const before = await snapshot();
        const res = await send(r.method, r.path, r.body);
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        const what = `${r.method} ${r.path} ${JSON.stringify(r.body)?.slice(0, 500)} → ${res.status} ${res.text.slice(0, 500)}`;
        expect(res.status, what).toBeLessThan(500);
        expect(res.text, what).not.toMatch(INTERNAL_TEXT);
        expect(res.headers.get('x-request-id'), what).toBeTruthy();
        if (res.status >= 400)
          expect(changes(before, await snapshot()), `state changed by a refused ${what}`).toEqual([]);
      }),
      { numRuns: RUNS },
    );
    // The runs must have reached past validation, or the property says little.
    const accepted = [...seen].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
    const refused = [...seen].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0);
    expect(accepted, JSON.stringify([...seen])).toBeGreaterThan(RUNS / 50);
    expect(refused, JSON.stringify([...seen])).toBeGreaterThan(RUNS / 5);
  });

  // NUL bytes and bytes that are not UTF-8 on every surface: 400 naming the field, before any
  // handler (input-guard.ts), never the database's error.
  const nul = (o: unknown) => JSON.stringify(o);
  const notUtf8 = (before: string, after: string) =>
    Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe]), Buffer.from(after)]);
  const json = { 'content-type': 'application/json' };
  it.each<[string, string, string, { body?: string | Buffer; headers?: Record<string, string> }, string]>([
    ['REST query (%00)', 'GET', '/api/v1/events?type=%00', {}, 'query.type'],
    ['REST query (%FF)', 'GET', '/api/v1/events?type=%FF', {}, 'query.type'],
    [
      'REST body',
      'POST',
      '/api/v1/apps/scale',
      { body: nul({ id: '/a\u0000', instances: 1 }), headers: json },
      'id',
    ],
    [
      "tRPC GET's input",
      'GET',
      `/api/trpc/cluster.events?input=${encodeURIComponent(nul({ type: 'a\u0000' }))}`,
      {},
      'type',
    ],
    [
      'tRPC body',
      'POST',
      '/api/trpc/apps.create',
      { body: nul({ id: '/a', cmd: 'x\u0000' }), headers: json },
      'cmd',
    ],
    [
      'tRPC body (not UTF-8)',
      'POST',
      '/api/trpc/apps.create',
      { body: notUtf8('{"id":"', '"}'), headers: json },
      '(body)',
    ],
    ['Marathon path', 'PUT', '/v2/apps/a%00b', { body: nul({ cmd: 'x' }), headers: json }, 'path'],
    ['Marathon path (%C0%AF)', 'GET', '/v2/apps/a%C0%AFb', {}, 'path'],
    [
      'Marathon body (not UTF-8)',
      'POST',
      '/v2/apps',
      { body: notUtf8('{"id":"/a","cmd":"', '"}'), headers: json },
      '(body)',
    ],
    [
      'Marathon label key',
      'POST',
      '/v2/groups',
      {
        body: nul({ id: '/g', apps: [{ id: '/g/a', cmd: 'x', labels: { 'a\u0000': '1' } }] }),
        headers: json,
      },
      'apps.0.labels.a\\0',
    ],
    ['Metronome body', 'POST', '/v1/jobs', { body: nul({ id: 'job\u0000', run: {} }), headers: json }, 'id'],
    [
      'Cosmos body',
      'POST',
      '/package/describe',
      {
        body: nul({ packageName: 'x\u0000' }),
        headers: {
          'content-type': 'application/vnd.dcos.package.describe-request+json;charset=utf-8;version=v1',
        },
      },
      'packageName',
    ],
    [
      'DC/OS login (no credentials yet)',
      'POST',
      '/acs/api/v1/auth/login',
      { body: nul({ uid: 'ad\u0000min', password: 'x' }), headers: { ...json, authorization: '' } },
      'uid',
    ],
    [
      'session cookie',
      'GET',
      '/v2/apps',
      { headers: { authorization: '', cookie: 'atoll_session=ab%00cd' } },
      'cookie.atoll_session',
    ],
    [
      'Basic credentials',
      'GET',
      '/v2/apps',
      { headers: { authorization: `Basic ${Buffer.from('ad\u0000min:pw').toString('base64')}` } },
      'header.authorization',
    ],
    ['a header value', 'GET', '/v2/apps', { headers: { 'x-thing': 'a\u00ffb' } }, 'header.x-thing'],
  ])('%s: %s %s answers 400 naming the field', async (_name, method, p, init, field) => {
    const headers: Record<string, string> = { authorization: `Bearer ${cluster.token}`, ...init.headers };
    if (headers.authorization === '') delete headers.authorization;
    const payload =
      typeof init.body === 'string' ? init.body : init.body ? new Uint8Array(init.body) : undefined;
    const res = await fetch(cluster.url + p, { method, headers, ...(payload ? { body: payload } : {}) });
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(text).not.toMatch(INTERNAL_TEXT);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const body = JSON.parse(text) as {
      message?: string;
      field?: string;
      error?: { data?: { field?: string } };
    };
    // tRPC's clients read its error envelope; everything else gets { message, field, issues }.
    expect(body.field ?? body.error?.data?.field).toBe(field);
    if (!p.startsWith('/api/trpc/'))
      expect(body.message).toMatch(new RegExp(`^${field.replace(/[.()\\]/g, '\\$&')}: `));
  });

  it('keeps the audit record of a write refused for a NUL byte (and of the writes batched with it)', async () => {
    const ids: string[] = [];
    for (const p of ['/v2/apps/audit%00probe', '/v2/apps/audit-probe?force=%00', '/v2/apps/audit-probe-ok']) {
      const res = await fetch(cluster.url + p, {
        method: 'PUT',
        headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ cmd: 'sleep 1', instances: 0 }),
      });
      expect(res.status, p).toBe(p.endsWith('ok') ? 201 : 400);
      ids.push(res.headers.get('x-request-id')!);
    }
    await cluster.control.services.audit.flush();
    const rows = await cluster.control.db.prisma.auditRecord.findMany({
      where: { requestId: { in: ids } },
      select: { requestId: true, status: true },
    });
    expect(rows.map((r) => [ids.indexOf(r.requestId), r.status]).sort()).toEqual([
      [0, 400],
      [1, 400],
      [2, 201],
    ]);
  });

  it("leaves a proxied service's query string to the service (/service/<name>/ passes it on)", async () => {
    const res = await fetch(`${cluster.url}/service/nothing-here/?q=%FF%00`, {
      headers: { authorization: `Bearer ${cluster.token}` },
    });
    // No such service: the proxy's own 404, not the guard's 400.
    expect(res.status).toBe(404);
  });

  it('answers an internal error with the request id only, on every surface', async () => {
    // A real failure in the real database: the tables are renamed away for the length of the test.
    const sql = cluster.control.db.prisma;
    await sql.$executeRawUnsafe('ALTER TABLE events RENAME TO events_hidden');
    await sql.$executeRawUnsafe('ALTER TABLE apps RENAME TO apps_hidden');
    try {
      for (const p of ['/api/v1/events', '/api/trpc/cluster.events', '/v2/apps']) {
        const id = `fuzz-${p.replace(/\W+/g, '-')}`;
        const res = await fetch(cluster.url + p, {
          headers: { authorization: `Bearer ${cluster.token}`, 'x-request-id': id },
        });
        const text = await res.text();
        expect(res.status, `${p}: ${text}`).toBe(500);
        expect(res.headers.get('x-request-id')).toBe(id);
        expect(text, p).not.toMatch(INTERNAL_TEXT);
        expect(text, p).not.toMatch(/events_hidden|apps_hidden|does not exist|table/i);
        const body = JSON.parse(text) as { message?: string; error?: { message?: string } };
        expect(body.message ?? body.error?.message).toBe(`internal error (request ${id})`);
      }
    } finally {
      await sql.$executeRawUnsafe('ALTER TABLE apps_hidden RENAME TO apps');
      await sql.$executeRawUnsafe('ALTER TABLE events_hidden RENAME TO events');
    }
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { SchemaContext } from './contract/arbitrary';
import { Contract, summarize, type Answer, type Operation } from './contract/fuzz';

/**
 * The /api/v1 contract, checked the way schemathesis checks it (schemathesis itself is a Python
 * package that cannot be installed here: see docs/api.md). A real control with its own
 * PostgreSQL database; every operation the document lists at run time gets POSITIVE schema-valid
 * and NEGATIVE schema-invalid cases (fixed seed, bounded by count), plus other methods, missing
 * credentials and create → read → update → delete chains. Report: test-results/contract.json.
 */
const POSITIVE = Number(process.env.ATOLL_CONTRACT_CASES ?? 25);
const NEGATIVE = POSITIVE;
const SEED = Number(process.env.ATOLL_CONTRACT_SEED ?? 1313);
const reportFile = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../test-results/contract.json',
);

/**
 * Operations whose input carries a document only the service can judge (a Marathon app, group or
 * pod, a Metronome job or schedule, a package's options, a cron expression): a schema-valid request
 * may still be refused with 422 naming the field. Counted in the report, not failures. A 400 on
 * schema-valid input is always a failure.
 */
const SEMANTIC_422 = new Set([
  'POST /apps',
  'PUT /apps',
  'POST /apps/rollback',
  'POST /groups',
  'PUT /groups',
  'POST /pods',
  'PUT /pods',
  'POST /jobs',
  'PUT /jobs',
  'POST /jobs/schedules',
  'PUT /jobs/schedules',
  'GET /jobs/cron',
  'POST /packages/render',
  'POST /packages/install',
  'POST /packages/upgrade',
  'POST /packages/upgrade/preview',
  'POST /packages/repositories',
  // name or uri, one of the two (not expressible in query parameters)
  'DELETE /packages/repositories',
  // password rules beyond the length: not the username, not a common password; the current one
  'POST /auth/password',
  'POST /users',
  'POST /users/{id}/password',
  // a secret path's segments ('.' and '..' refused), given encoded in the URL
  'POST /secrets',
  'GET /secrets/{path}',
  'PATCH /secrets/{path}',
  'DELETE /secrets/{path}',
]);

/**
 * Operations the random phase leaves out, and why: each is still in the document checks, the
 * unsupported-method and auth checks, and (where it has one) a stateful chain.
 */
const NOT_FUZZED: Record<string, string> = {
  // A random URI would make control fetch it (a repository index): covered by the catalog tests.
  'POST /packages/repositories': 'fetches the given URI',
  // Logs the test's own session out: the bearer token is unaffected, but it proves nothing random.
  'POST /auth/logout': 'ends the caller session',
};

describe('OpenAPI contract of /api/v1', () => {
  let cluster: TestCluster;
  let doc: Record<string, unknown> & { openapi: string; paths: Record<string, Record<string, unknown>> };
  let contract: Contract;

  beforeAll(async () => {
    cluster = await startTestCluster();
    const res = await fetch(`${cluster.url}/api/v1/openapi.json`, {
      headers: { authorization: `Bearer ${cluster.token}` },
    });
    expect(res.status).toBe(200);
    doc = (await res.json()) as typeof doc;
    contract = new Contract(doc as never, cluster.url, cluster.token, SEMANTIC_422);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('the document is valid OpenAPI 3, every $ref resolves and every path parameter is declared', async () => {
    const validator = new Validator();
    const res = await validator.validate(structuredClone(doc));
    expect(res.errors ?? [], JSON.stringify(res.errors, null, 1)?.slice(0, 3000)).toEqual([]);
    expect(res.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\./);

    const ctx = new SchemaContext(doc);
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          else walk(v);
        }
      }
    };
    walk(doc);
    const unresolved = refs.filter((r) => {
      try {
        ctx.pointer(r);
        return false;
      } catch {
        return true;
      }
    });
    expect(unresolved).toEqual([]);

    const undeclared: string[] = [];
    for (const op of contract.ops) {
      for (const name of [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)) {
        const p = op.pathParams.find((x) => x.name === name);
        if (!p || p.required !== true) undeclared.push(`${op.id}: {${name}}`);
      }
      for (const p of op.pathParams)
        if (!op.path.includes(`{${p.name}}`)) undeclared.push(`${op.id}: ${p.name} is not in the path`);
      // Every operation documents its errors with the one error body.
      for (const status of ['400', '401', '403', '404', '500']) {
        if (!op.op.responses[status]) undeclared.push(`${op.id}: no ${status} response`);
      }
    }
    expect(undeclared).toEqual([]);
    expect(contract.ops.length).toBeGreaterThan(50);
  });

  it('every operation: positive and negative cases, other methods, missing credentials, CRUD chains', async () => {
    let positive = 0;
    let negative = 0;
    let i = 0;
    for (const op of contract.ops) {
      const seed = SEED + i++;
      if (process.env.ATOLL_CONTRACT_VERBOSE) process.stderr.write(`contract: ${op.id}\n`);
      await contract.ignoredAuth(op, seed);
      await contract.malformedBody(op, seed);
      if (NOT_FUZZED[op.id]) continue;
      for (const c of contract.positiveCases(op, POSITIVE, seed)) {
        await contract.run(op, c, 'positive');
        positive++;
      }
      for (const { c, why } of contract.negativeCases(op, NEGATIVE, seed)) {
        await contract.run(op, c, 'negative', why);
        negative++;
      }
    }
    const otherMethods = await contract.unsupportedMethods();
    const chains = await statefulChains(contract);

    const report = contract.report({
      seed: SEED,
      casesPerOperation: { positive: POSITIVE, negative: NEGATIVE },
      cases: { positive, negative, otherMethods, statefulSteps: chains.steps },
      statefulChains: chains.names,
      notFuzzed: NOT_FUZZED,
    });
    await mkdir(path.dirname(reportFile), { recursive: true });
    await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
    const summary = summarize(report);
    console.log(summary);
    expect(positive).toBeGreaterThan(contract.ops.length * 5);
    expect(negative).toBeGreaterThan(contract.ops.length * 3);
    expect(chains.names.length).toBeGreaterThanOrEqual(4);
    expect(report.uniqueFailures, summary).toBe(0);
    // Bounded by case counts, not by time: on a loaded machine the ~5,000 requests take longer.
  }, 900_000);
});

/**
 * Create → read → update → delete, following ids from the answers (schemathesis's stateful
 * phase). Each step's answer gets the same checks as the random cases, and must be the status
 * the chain expects.
 */
async function statefulChains(contract: Contract): Promise<{ names: string[]; steps: number }> {
  const names: string[] = [];
  let steps = 0;
  const step = async (
    method: string,
    p: string,
    c: { path?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown },
    expected: number,
  ): Promise<Answer | null> => {
    const op: Operation | undefined = contract.find(method, p);
    if (!op) return null;
    steps++;
    const a = await contract.run(op, { path: c.path ?? {}, query: c.query ?? {}, body: c.body }, 'stateful');
    if (a.status !== expected) {
      contract.fail({
        check: 'stateful',
        operation: op.id,
        status: a.status,
        message: `expected ${expected} in the chain`,
        request: { method, url: contract.url(op, { path: c.path ?? {}, query: c.query ?? {} }) },
        response: a.text.slice(0, 500),
      });
    }
    return a;
  };
  const json = (a: Answer | null) => (a?.json ?? {}) as Record<string, unknown>;

  // Apps: create, read, change, list its versions, read one, delete; then it is gone.
  {
    const id = '/contract/app-1';
    const created = await step(
      'POST',
      '/apps',
      { body: { definition: { id, cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 0 } } },
      200,
    );
    if (created?.status === 200) {
      names.push('apps');
      await step('GET', '/apps/detail', { query: { id } }, 200);
      await step('PUT', '/apps', { body: { id, definition: { cpus: 0.2 }, force: true } }, 200);
      const versions = json(
        await step('GET', '/apps/versions', { query: { id } }, 200),
      ) as unknown as string[];
      if (Array.isArray(versions) && versions[0])
        await step('GET', '/apps/version', { query: { id, version: versions[0] } }, 200);
      await step('POST', '/apps/scale', { body: { id, instances: 0, force: true } }, 200);
      await step('DELETE', '/apps', { query: { id, force: true } }, 200);
      await until(
        async () =>
          (await contract.send('GET', `/api/v1/apps/detail?id=${encodeURIComponent(id)}`)).status === 404,
      );
      await step('GET', '/apps/detail', { query: { id } }, 404);
    }
  }
  // Jobs with a schedule: create, read, replace, schedule CRUD, delete.
  {
    const id = 'contract-job-1';
    const created = await step(
      'POST',
      '/jobs',
      { body: { job: { id, run: { cmd: 'true', cpus: 0.1, mem: 32, disk: 0 } } } },
      200,
    );
    if (created?.status === 200) {
      names.push('jobs');
      await step('GET', '/jobs/detail', { query: { id } }, 200);
      await step(
        'PUT',
        '/jobs',
        {
          body: {
            id,
            job: { id, description: 'changed', run: { cmd: 'true', cpus: 0.2, mem: 32, disk: 0 } },
          },
        },
        200,
      );
      const schedule = json(
        await step(
          'POST',
          '/jobs/schedules',
          { body: { id, schedule: { id: 'nightly', cron: '0 3 * * *', timezone: 'UTC' } } },
          200,
        ),
      );
      const scheduleId = typeof schedule.id === 'string' ? schedule.id : 'nightly';
      await step('GET', '/jobs/schedules', { query: { id } }, 200);
      await step(
        'PUT',
        '/jobs/schedules',
        { body: { id, scheduleId, schedule: { id: scheduleId, cron: '0 4 * * *', timezone: 'UTC' } } },
        200,
      );
      await step('DELETE', '/jobs/schedules', { query: { id, scheduleId } }, 200);
      await step('GET', '/jobs/history', { query: { id } }, 200);
      await step('DELETE', '/jobs', { query: { id } }, 200);
      await step('GET', '/jobs/detail', { query: { id } }, 404);
    }
  }
  // API tokens: create, list (it is there), revoke, revoke again (gone).
  {
    const created = json(await step('POST', '/auth/tokens', { body: { name: 'contract' } }, 200));
    if (typeof created.id === 'string') {
      names.push('api tokens');
      const list = json(await step('GET', '/auth/tokens', {}, 200)) as unknown as Array<{ id: string }>;
      if (!Array.isArray(list) || !list.some((t) => t.id === created.id))
        contract.fail({
          check: 'stateful',
          operation: 'GET /auth/tokens',
          status: 200,
          message: 'the new token is not listed',
          request: { method: 'GET', url: '/api/v1/auth/tokens' },
        });
      await step('DELETE', '/auth/tokens/{id}', { path: { id: created.id } }, 200);
      await step('DELETE', '/auth/tokens/{id}', { path: { id: created.id } }, 404);
    }
  }
  // Join tokens: create, list, revoke.
  {
    const created = json(
      await step('POST', '/nodes/join-tokens', { body: { description: 'contract' } }, 200),
    );
    if (typeof created.id === 'string') {
      names.push('join tokens');
      await step('GET', '/nodes/join-tokens', {}, 200);
      await step('DELETE', '/nodes/join-tokens/{id}', { path: { id: created.id } }, 200);
    }
  }
  // Groups: create with one app, read, delete.
  {
    const created = await step(
      'POST',
      '/groups',
      {
        body: {
          definition: {
            id: '/contract-group',
            apps: [{ id: 'a', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 0 }],
          },
        },
      },
      200,
    );
    if (created?.status === 200) {
      names.push('groups');
      await step('GET', '/groups', { query: { id: '/contract-group' } }, 200);
      await step('DELETE', '/groups', { query: { id: '/contract-group', force: true } }, 200);
    }
  }
  await otherChains(contract, step, json, names);
  return { names, steps };
}

type Step = (
  method: string,
  p: string,
  c: { path?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown },
  expected: number,
) => Promise<Answer | null>;

/** Chains of the operations added for issue #13 (users, secrets), when the document lists them. */
async function otherChains(
  contract: Contract,
  step: Step,
  json: (a: Answer | null) => Record<string, unknown>,
  names: string[],
): Promise<void> {
  // Users: create, read, change the role, disable, enable, a token of theirs, delete; then 404.
  if (contract.find('POST', '/users')) {
    const created = json(
      await step(
        'POST',
        '/users',
        { body: { username: 'contract-user', role: 'viewer', password: 'Contract-pass-7731' } },
        200,
      ),
    );
    const user = (created.user ?? created) as Record<string, unknown>;
    if (typeof user.id === 'string') {
      names.push('users');
      const id = user.id;
      await step('GET', '/users/{id}', { path: { id } }, 200);
      await step('PATCH', '/users/{id}', { path: { id }, body: { role: 'operator' } }, 200);
      await step('POST', '/users/{id}/disable', { path: { id } }, 200);
      await step('POST', '/users/{id}/enable', { path: { id } }, 200);
      await step('DELETE', '/users/{id}', { path: { id } }, 200);
      await step('GET', '/users/{id}', { path: { id } }, 404);
    }
    // A service account and its API token (users create their own tokens: 409 for a user).
    const svc = json(
      await step(
        'POST',
        '/users',
        { body: { username: 'contract-svc', kind: 'service', role: 'viewer' } },
        200,
      ),
    );
    const account = (svc.user ?? svc) as Record<string, unknown>;
    if (typeof account.id === 'string') {
      names.push('service accounts');
      const id = account.id;
      const token = json(
        await step('POST', '/users/{id}/tokens', { path: { id }, body: { name: 'contract' } }, 200),
      );
      await step('GET', '/users/{id}/tokens', { path: { id } }, 200);
      if (typeof token.id === 'string')
        await step('DELETE', '/users/{id}/tokens/{tokenId}', { path: { id, tokenId: token.id } }, 200);
      await step('DELETE', '/users/{id}', { path: { id } }, 200);
    }
  }
  // Secrets: create, read (metadata only), change, list, delete; then 404.
  if (contract.find('POST', '/secrets')) {
    const path = '/contract/db-password';
    const created = await step('POST', '/secrets', { body: { path, value: 'contract-secret-value-1' } }, 200);
    if (created?.status === 200) {
      names.push('secrets');
      await step('GET', '/secrets/{path}', { path: { path } }, 200);
      await step('PATCH', '/secrets/{path}', { path: { path }, body: { description: 'changed' } }, 200);
      const list = await step('GET', '/secrets', {}, 200);
      if (list?.text.includes('contract-secret-value-1'))
        contract.fail({
          check: 'stateful',
          operation: 'GET /secrets',
          status: 200,
          message: 'a secret value is in the answer',
          request: { method: 'GET', url: '/api/v1/secrets' },
        });
      await step('DELETE', '/secrets/{path}', { path: { path } }, 200);
      await step('GET', '/secrets/{path}', { path: { path } }, 404);
    }
  }
}

async function until(check: () => Promise<boolean>, tries = 80): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

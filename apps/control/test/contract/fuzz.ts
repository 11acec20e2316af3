import http from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { invalid, SchemaContext, valid, type Mutation, type Schema } from './arbitrary';

/**
 * A contract fuzzer for an OpenAPI 3 document in the manner of schemathesis (which cannot be
 * installed here): every operation gets positive cases (schema-valid) and negative cases
 * (schema-invalid), each answer is checked against the document, and the findings go to a report.
 */

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'positive_data_acceptance',
  'unsupported_method',
  'ignored_auth',
  'stateful',
] as const;
export type Check = (typeof CHECKS)[number];

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, OperationObject>>;
  [k: string]: unknown;
};
type Parameter = { in: string; name: string; required?: boolean; schema?: Schema };
type OperationObject = {
  operationId?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  security?: unknown[];
};

export interface Operation {
  method: string;
  path: string;
  id: string;
  op: OperationObject;
  pathParams: Parameter[];
  queryParams: Parameter[];
  body: Schema | null;
  bodyRequired: boolean;
}

export interface RequestCase {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  body?: unknown;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

export interface Failure {
  check: Check;
  operation: string;
  status: number | null;
  message: string;
  request: { method: string; url: string; body?: string };
  response?: string;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

export function operationsOf(doc: Doc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const params = op.parameters ?? [];
      const body = op.requestBody?.content?.['application/json']?.schema ?? null;
      ops.push({
        method: method.toUpperCase(),
        path,
        id: `${method.toUpperCase()} ${path}`,
        op,
        pathParams: params.filter((p) => p.in === 'path'),
        queryParams: params.filter((p) => p.in === 'query'),
        body,
        bodyRequired: op.requestBody?.required ?? false,
      });
    }
  }
  return ops;
}

/** The object schema of a set of parameters (so one arbitrary draws them all). */
function paramsSchema(params: Parameter[]): Schema {
  return {
    type: 'object',
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema ?? {}])),
    required: params.filter((p) => p.required).map((p) => p.name),
    additionalProperties: false,
  };
}

/** A query or path value as it travels: a string (arrays repeat the key). */
function wire(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** What a server reads back from a query or path string, by the parameter's type. */
function fromWire(s: string, schema: Schema, ctx: SchemaContext): unknown {
  const r = ctx.resolve(schema);
  const types = Array.isArray(r.type) ? r.type : r.type ? [r.type] : [];
  if (types.includes('integer') || types.includes('number')) {
    return s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s;
  }
  if (types.includes('boolean')) return s === 'true' ? true : s === 'false' ? false : s;
  return s;
}

export class Contract {
  readonly ctx: SchemaContext;
  readonly ops: Operation[];
  readonly failures = new Map<string, Failure>();
  readonly stats = new Map<
    string,
    { positive: number; negative: number; statuses: Record<string, number> }
  >();
  /** Positive cases answered 422 on operations whose input holds a document the service validates. */
  readonly semanticRejections = new Map<string, number>();
  requests = 0;
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(
    readonly doc: Doc,
    readonly baseUrl: string,
    readonly token: string,
    /** Operations (METHOD path) whose 422 on schema-valid input is the service's semantic check. */
    readonly semantic422: ReadonlySet<string> = new Set(),
  ) {
    this.ctx = new SchemaContext(doc);
    this.ops = operationsOf(doc);
    this.ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: false, discriminator: false });
    addFormats(this.ajv);
    this.ajv.addSchema(doc as object, 'openapi');
    for (const op of this.ops) this.stats.set(op.id, { positive: 0, negative: 0, statuses: {} });
  }

  private validator(pointer: string): ValidateFunction {
    let v = this.validators.get(pointer);
    if (!v) {
      v = this.ajv.compile({ $ref: `openapi#${pointer}` });
      this.validators.set(pointer, v);
    }
    return v;
  }

  private validateAt(pointer: string, value: unknown): string | null {
    const v = this.validator(pointer);
    if (v(value)) return null;
    return (v.errors ?? [])
      .slice(0, 3)
      .map(
        (e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
      )
      .join('; ');
  }

  private validateSchema(schema: Schema, value: unknown): boolean {
    // Inline schemas hold only local $refs into the document: wrap them so they resolve there.
    const key = JSON.stringify(schema);
    let v = this.validators.get(key);
    if (!v) {
      v = this.ajv.compile({ $id: `inline${this.validators.size}`, ...rebase(schema) });
      this.validators.set(key, v);
    }
    return v(value);
  }

  fail(f: Failure): void {
    const key = `${f.check}|${f.operation}|${f.status}|${f.message.split('\n')[0]!.slice(0, 200)}`;
    if (!this.failures.has(key)) this.failures.set(key, f);
  }

  url(op: Operation, c: RequestCase): string {
    let p = op.path;
    for (const prm of op.pathParams)
      p = p.replace(`{${prm.name}}`, encodeURIComponent(wire(c.path[prm.name])));
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(c.query)) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) qs.append(k, wire(item));
    }
    const q = qs.toString();
    return `/api/v1${p}${q ? `?${q}` : ''}`;
  }

  send(
    method: string,
    url: string,
    opts: { body?: unknown; raw?: string; auth?: string | null } = {},
  ): Promise<Answer> {
    this.requests++;
    const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    const target = new URL(this.baseUrl + url);
    const headers: Record<string, string> = {};
    const auth = opts.auth === undefined ? `Bearer ${this.token}` : opts.auth;
    if (auth) headers.authorization = auth;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname + target.search, method, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown = undefined;
            if ((res.headers['content-type'] ?? '').includes('json') && text) {
              try {
                json = JSON.parse(text);
              } catch {
                json = undefined;
              }
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The checks every answer gets: no 5xx, a documented status, a body of the documented shape. */
  checkAnswer(op: Operation, req: Failure['request'], a: Answer): void {
    const stats = this.stats.get(op.id);
    if (stats) stats.statuses[a.status] = (stats.statuses[a.status] ?? 0) + 1;
    const base = { operation: op.id, status: a.status, request: req, response: a.text.slice(0, 500) };
    if (a.status >= 500)
      this.fail({ ...base, check: 'not_a_server_error', message: `server error ${a.status}` });
    const responses = op.op.responses;
    const key =
      String(a.status) in responses
        ? String(a.status)
        : `${String(a.status)[0]}XX` in responses
          ? `${String(a.status)[0]}XX`
          : 'default' in responses
            ? 'default'
            : null;
    if (!key) {
      this.fail({
        ...base,
        check: 'status_code_conformance',
        message: `status ${a.status} is not documented (documented: ${Object.keys(responses).join(', ')})`,
      });
      return;
    }
    const media = responses[key]?.content?.['application/json'];
    if (!media?.schema) return;
    if (!(a.headers['content-type'] ?? '').includes('application/json')) {
      this.fail({
        ...base,
        check: 'response_schema_conformance',
        message: `content-type ${a.headers['content-type']} is not application/json`,
      });
      return;
    }
    if (a.json === undefined) {
      this.fail({ ...base, check: 'response_schema_conformance', message: 'the body is not JSON' });
      return;
    }
    const pointer = `/paths/${esc(op.path)}/${op.method.toLowerCase()}/responses/${key}/content/${esc('application/json')}/schema`;
    const err = this.validateAt(pointer, a.json);
    if (err) this.fail({ ...base, check: 'response_schema_conformance', message: `${key}: ${err}` });
  }

  async run(
    op: Operation,
    c: RequestCase,
    kind: 'positive' | 'negative' | 'stateful',
    why?: Mutation,
  ): Promise<Answer> {
    const url = this.url(op, c);
    const req = {
      method: op.method,
      url,
      ...(c.body !== undefined ? { body: JSON.stringify(c.body).slice(0, 500) } : {}),
    };
    const a = await this.send(op.method, url, { body: c.body });
    const stats = this.stats.get(op.id);
    if (stats && kind !== 'stateful') stats[kind]++;
    this.checkAnswer(op, req, a);
    const base = { operation: op.id, status: a.status, request: req, response: a.text.slice(0, 500) };
    if (kind === 'negative' && a.status < 400) {
      this.fail({
        ...base,
        check: 'negative_data_rejection',
        message: `${why?.kind} at ${why?.path} accepted with ${a.status}`,
      });
    }
    if (kind === 'positive' && (a.status === 400 || a.status === 422)) {
      if (a.status === 422 && this.semantic422.has(op.id)) {
        this.semanticRejections.set(op.id, (this.semanticRejections.get(op.id) ?? 0) + 1);
      } else {
        this.fail({
          ...base,
          check: 'positive_data_acceptance',
          message: `schema-valid request rejected with ${a.status}`,
        });
      }
    }
    return a;
  }

  /** Schema-valid requests for an operation (fixed seed: the same cases every run). */
  positiveCases(op: Operation, n: number, seed: number): RequestCase[] {
    const arb = fc.record({
      path: valid(this.ctx, paramsSchema(op.pathParams)),
      query: valid(this.ctx, paramsSchema(op.queryParams)),
      ...(op.body ? { body: valid(this.ctx, op.body) } : {}),
    }) as fc.Arbitrary<RequestCase>;
    const seen = new Set<string>();
    return fc
      .sample(arb, { seed, numRuns: n * 3 })
      .filter((c) => this.isValid(op, c))
      .filter((c) => op.pathParams.every((p) => wire(c.path[p.name]) !== ''))
      .filter((c) => {
        // An operation without input has one case, not n copies of it.
        const key = this.url(op, c) + JSON.stringify(c.body);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .slice(0, n);
  }

  /** Schema-invalid requests: one thing wrong in a valid request, and what it is. */
  negativeCases(op: Operation, n: number, seed: number): Array<{ c: RequestCase; why: Mutation }> {
    const good = fc.record({
      path: valid(this.ctx, paramsSchema(op.pathParams)),
      query: valid(this.ctx, paramsSchema(op.queryParams)),
      ...(op.body ? { body: valid(this.ctx, op.body) } : {}),
    }) as fc.Arbitrary<RequestCase>;
    const options: fc.Arbitrary<{ c: RequestCase; why: Mutation }>[] = [];
    for (const [where, params] of [
      ['path', op.pathParams],
      ['query', op.queryParams],
    ] as const) {
      for (const p of params) {
        const bad = invalid(this.ctx, p.schema ?? {}, `${where}.${p.name}`);
        if (bad)
          options.push(
            fc
              .tuple(good, bad)
              .map(([c, b]) => ({ c: { ...c, [where]: { ...c[where], [p.name]: b.value } }, why: b })),
          );
        if (where === 'query' && p.required)
          options.push(
            good.map((c) => {
              const q = { ...c.query };
              delete q[p.name];
              return {
                c: { ...c, query: q },
                why: { kind: 'missing required', path: `query.${p.name}`, value: undefined },
              };
            }),
          );
      }
    }
    if (op.body) {
      const bad = invalid(this.ctx, op.body, 'body');
      if (bad) options.push(fc.tuple(good, bad).map(([c, b]) => ({ c: { ...c, body: b.value }, why: b })));
      if (op.bodyRequired)
        options.push(
          good.map((c) => ({
            c: { ...c, body: undefined },
            why: { kind: 'missing body', path: 'body', value: undefined },
          })),
        );
    }
    if (options.length === 0) return [];
    return fc
      .sample(fc.oneof(...options), { seed, numRuns: n * 4 })
      .filter(({ c }) => op.pathParams.every((p) => wire(c.path[p.name]) !== ''))
      .filter(({ c }) => !this.isValid(op, c))
      .slice(0, n);
  }

  /**
   * Whether a request is valid as the server receives it: a path value is one string; a query key
   * given once is one string (a one-item array for an array parameter), given more than once an
   * array; each string is read by its schema's type.
   */
  isValid(op: Operation, c: RequestCase): boolean {
    for (const [where, params] of [
      ['path', op.pathParams],
      ['query', op.queryParams],
    ] as const) {
      const read: Record<string, unknown> = {};
      for (const p of params) {
        const v = c[where][p.name];
        if (v === undefined) continue;
        const schema = this.ctx.resolve(p.schema ?? {});
        const isArray = schema.type === 'array';
        const strings = where === 'query' && Array.isArray(v) ? v.map(wire) : [wire(v)];
        if (strings.length === 0) continue;
        const itemSchema = isArray ? ((schema.items as Schema | undefined) ?? {}) : schema;
        const values = strings.map((x) => fromWire(x, itemSchema, this.ctx));
        read[p.name] = isArray ? values : values.length === 1 ? values[0] : values;
      }
      if (!this.validateSchema(paramsSchema(params), read)) return false;
    }
    if (op.body) {
      if (c.body === undefined) return !op.bodyRequired;
      if (!this.validateSchema(op.body, c.body)) return false;
    }
    return true;
  }

  /** Other methods on a documented path: 405 with an Allow header, never 2xx or 5xx. */
  async unsupportedMethods(): Promise<number> {
    let n = 0;
    const byPath = new Map<string, Operation[]>();
    for (const op of this.ops) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op]);
    for (const [path, ops] of byPath) {
      const documented = new Set(ops.map((o) => o.method));
      const first = ops[0]!;
      const sample = this.positiveCases(first, 1, 7)[0] ?? { path: {}, query: {} };
      const url = this.url(first, { path: sample.path, query: {} });
      for (const method of ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
        if (documented.has(method)) continue;
        // GET /tasks/kill is GET /tasks/{taskId}: another documented operation, not this path's.
        if (this.ops.some((o) => o.method === method && templateMatches(o.path, url))) continue;
        n++;
        const a = await this.send(method, url);
        if (a.status !== 405 || !a.headers.allow) {
          this.fail({
            check: 'unsupported_method',
            operation: `${method} ${path}`,
            status: a.status,
            message: `undocumented method answered ${a.status}${a.headers.allow ? '' : ' without an Allow header'} (expected 405)`,
            request: { method, url },
            response: a.text.slice(0, 300),
          });
        }
      }
    }
    return n;
  }

  /** Without a credential (and with a wrong one) every protected operation answers 401. */
  async ignoredAuth(op: Operation, seed: number): Promise<void> {
    if (!op.op.security || op.op.security.length === 0) return;
    const c = this.positiveCases(op, 1, seed)[0] ?? { path: {}, query: {} };
    const url = this.url(op, c);
    for (const auth of [null, 'Bearer not-a-valid-token']) {
      const a = await this.send(op.method, url, { body: c.body, auth });
      if (a.status !== 401) {
        this.fail({
          check: 'ignored_auth',
          operation: op.id,
          status: a.status,
          message: `${auth ? 'a wrong token' : 'no credential'} answered ${a.status} (expected 401)`,
          request: { method: op.method, url },
          response: a.text.slice(0, 300),
        });
      } else {
        this.checkAnswer(op, { method: op.method, url }, a);
      }
    }
  }

  /** A body that is no JSON at all: a 400 with the documented error body (schemathesis sends these too). */
  async malformedBody(op: Operation, seed: number): Promise<void> {
    if (!op.body) return;
    const c = this.positiveCases(op, 1, seed)[0] ?? { path: {}, query: {} };
    const url = this.url(op, c);
    const req = { method: op.method, url, body: '{"unterminated' };
    const a = await this.send(op.method, url, { raw: req.body });
    this.checkAnswer(op, req, a);
    if (a.status !== 400)
      this.fail({
        check: 'negative_data_rejection',
        operation: op.id,
        status: a.status,
        message: `a body that is not JSON answered ${a.status} (expected 400)`,
        request: req,
        response: a.text.slice(0, 300),
      });
  }

  find(method: string, path: string): Operation | undefined {
    return this.ops.find((o) => o.method === method && o.path === path);
  }

  report(extra: Record<string, unknown> = {}) {
    const failures = [...this.failures.values()];
    const byCheck = Object.fromEntries(CHECKS.map((c) => [c, failures.filter((f) => f.check === c).length]));
    return {
      tool: 'atoll contract fuzzer (apps/control/test/contract)',
      openapi: this.doc.openapi,
      operations: this.ops.length,
      requests: this.requests,
      ...extra,
      failuresByCheck: byCheck,
      uniqueFailures: failures.length,
      semanticRejections: Object.fromEntries(this.semanticRejections),
      perOperation: Object.fromEntries(this.stats),
      failures,
    };
  }
}

function templateMatches(template: string, url: string): boolean {
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
  return new RegExp(`^/api/v1${pattern}$`).test(url.split('?')[0]!);
}

function esc(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Local `#/...` refs of an inline schema, pointed at the document registered as `openapi`. */
function rebase(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema), (k, v: unknown) =>
    k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi${v}` : v,
  ) as Record<string, unknown>;
}

export function summarize(report: ReturnType<Contract['report']>): string {
  const lines = [
    `contract: ${report.operations} operations, ${report.requests} requests, ${report.uniqueFailures} unique failures`,
    ...Object.entries(report.failuresByCheck).map(([c, n]) => `  ${c}: ${n}`),
  ];
  for (const f of report.failures.slice(0, 60)) {
    lines.push(`- [${f.check}] ${f.operation} → ${f.status}: ${f.message}`);
    lines.push(
      `    ${f.request.method} ${f.request.url}${f.request.body ? ` ${f.request.body.slice(0, 200)}` : ''}`,
    );
    if (f.response) lines.push(`    ← ${f.response.slice(0, 200)}`);
  }
  if (report.failures.length > 60)
    lines.push(`… ${report.failures.length - 60} more in test-results/contract.json`);
  return lines.join('\n');
}

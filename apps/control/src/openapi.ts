import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { generateOpenApiDocument } from 'trpc-to-openapi';
import { accessService, appRouter, procedureAccess } from '@atoll/api';

/**
 * /api/v1's OpenAPI document: trpc-to-openapi's, generated from the procedures' zod input and
 * output schemas, with what it cannot know completed in one place:
 * - the errors. trpc-to-openapi documents a body `{message, code, issues?}` that forbids any other
 *   field, but its adapter answers tRPC's error shape too (`data`: appCode, field issues, request
 *   id, Marathon's `deployments`), and it lists statuses by guesswork (no 404 on POSTs, no 409, no
 *   422). Every operation here documents the statuses the server really answers, all with the one
 *   body (`components.schemas.Error`).
 * - strings. Every request string refuses NUL bytes (input-guard.ts answers 400 naming the field);
 *   the document says so with a pattern, so a client (or a fuzzer) knows before it sends one.
 * The contract test (apps/control/test/openapi-contract.test.ts, docs/api.md) holds the server to it.
 */

type Json = Record<string, unknown>;

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
type OpenApiDocument = ReturnType<typeof generateOpenApiDocument>;

const ERROR_SCHEMA = {
  type: 'object',
  description:
    'Every error of /api/v1. `code` is the tRPC error code (e.g. BAD_REQUEST, NOT_FOUND, UNPROCESSABLE_CONTENT); `issues` name the fields of an invalid request; `data.appCode` is the service error (e.g. LOCKED), `data.requestId` the id to quote (also in the x-request-id header).',
  properties: {
    message: { type: 'string' },
    code: { type: 'string' },
    issues: {
      type: ['array', 'null'],
      items: {
        type: 'object',
        properties: { message: { type: 'string' }, path: {} },
        required: ['message'],
      },
    },
    data: { type: 'object' },
    requestId: { type: 'string' },
  },
  required: ['message', 'code'],
} as const;

/** Statuses every operation may answer, and why. */
const ERRORS: Record<string, string> = {
  '400': 'The request does not match this document (the fields are named in `issues`)',
  '401': 'No valid credential (a session cookie or a bearer token)',
  '403': "The caller's role or scope does not allow this",
  '404': 'What the request names does not exist',
  '409': 'A conflict: the name is taken, or a deployment holds the app (retry with force)',
  '422':
    'Well-formed but refused by the service (a Marathon or Metronome document, a cron expression): the fields are named',
  '429': 'Too many requests (login attempts)',
  '500': 'An internal error; the body names the request id, the log has the cause',
};
/** Statuses of operations with a JSON body. */
const BODY_ERRORS: Record<string, string> = {
  '413': 'The request body is too large',
  '415': 'The request body is not application/json',
};

const NO_NUL = '^[^\\u0000]*$';

export function buildOpenApiDocument(
  router: typeof appRouter,
  opts: { version: string; baseUrl: string; cookieName: string },
): OpenApiDocument {
  const doc = generateOpenApiDocument(router, {
    title: 'Atoll API',
    version: opts.version,
    baseUrl: opts.baseUrl,
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer' },
      cookie: { type: 'apiKey', in: 'cookie', name: opts.cookieName },
    },
  });
  return completeDocument(doc);
}

/** The document's own changes (exported for the unit test); returns the same object. */
export function completeDocument<D extends OpenApiDocument>(doc: D): D {
  const components = (doc.components ??= {}) as Json & { schemas?: Json };
  const schemas = (components.schemas ??= {});
  for (const name of Object.keys(schemas)) if (name.startsWith('error.')) delete schemas[name];
  schemas.Error = ERROR_SCHEMA;
  const errorRef = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  for (const item of Object.values(doc.paths ?? {}) as Json[]) {
    for (const [method, value] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
      const op = value as Json & { responses: Json; parameters?: Json[]; requestBody?: Json };
      const ok = op.responses['200'];
      op.responses = { '200': ok };
      for (const [status, why] of Object.entries(ERRORS)) op.responses[status] = errorRef(why);
      if (['post', 'put', 'patch'].includes(method))
        for (const [status, why] of Object.entries(BODY_ERRORS)) op.responses[status] = errorRef(why);
      for (const p of op.parameters ?? []) refuseNul(p.schema);
      const body = (op.requestBody?.content as Json | undefined)?.['application/json'] as Json | undefined;
      refuseNul(body?.schema);
    }
  }
  return doc;
}

/** Adds the no-NUL pattern to every plain string schema of a request (in place). */
function refuseNul(schema: unknown): void {
  if (!schema || typeof schema !== 'object') return;
  if (Array.isArray(schema)) return schema.forEach(refuseNul);
  const s = schema as Json;
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (
    types.includes('string') &&
    s.pattern === undefined &&
    s.format === undefined &&
    s.enum === undefined &&
    s.const === undefined
  )
    s.pattern = NO_NUL;
  for (const [k, v] of Object.entries(s))
    if (k !== 'enum' && k !== 'const' && k !== 'default' && k !== 'example' && k !== 'examples') refuseNul(v);
}

type Route = {
  re: RegExp;
  method: string;
  op: Json & { parameters?: Json[]; requestBody?: unknown };
  /** JSON pointer of the request body's schema in the document. */
  body: string;
};

function routesOf(doc: OpenApiDocument, basePath: string): Route[] {
  const routes: Route[] = [];
  for (const [p, item] of Object.entries(doc.paths ?? {})) {
    const pointer = `/paths/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const pattern = p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
    for (const [method, op] of Object.entries(item as Json)) {
      if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
      routes.push({
        re: new RegExp(`^${basePath}${pattern}/?$`),
        method: method.toUpperCase(),
        op: op as Route['op'],
        body: `${pointer}/${method}/requestBody/content/application~1json/schema`,
      });
    }
  }
  return routes;
}

const badRequest = (reply: FastifyReply, name: string, message: string) =>
  reply.code(400).send({
    message: `${name}: ${message}`,
    code: 'BAD_REQUEST',
    issues: [{ path: name, message }],
  });

/** Validates request bodies against the document's schemas (compiled on first use, then kept). */
function bodyValidator(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(doc as object, 'openapi');
  const compiled = new Map<string, ValidateFunction>();
  return (pointer: string, body: unknown): Array<{ path: string; message: string }> => {
    let v = compiled.get(pointer);
    if (!v) {
      v = ajv.compile({ $ref: `openapi#${pointer}` });
      compiled.set(pointer, v);
    }
    if (v(body)) return [];
    const issues = (v.errors ?? []).map((e) => {
      const at = [e.instancePath.slice(1).replace(/\//g, '.'), e.propertyName].filter(Boolean).join('.');
      const missing =
        e.keyword === 'required' ? String((e.params as { missingProperty?: string }).missingProperty) : '';
      const path = [at, missing].filter(Boolean).join('.') || 'body';
      return { path, message: e.keyword === 'required' ? 'is required' : (e.message ?? 'is invalid') };
    });
    // allErrors reports a property name's failure twice (its pattern, then propertyNames).
    return issues.filter((i, n) => issues.findIndex((j) => j.path === i.path) === n);
  };
}

/**
 * What trpc-to-openapi's adapter reads differently from the document, made to agree with it for
 * /api/v1 (the contract test finds each):
 * - a method the document does not list on one of its paths answers 405 with `Allow` (the adapter
 *   answered 404, and OPTIONS or TRACE reached no route at all);
 * - a POST, PUT or PATCH without a body needs no content type (`curl -X POST …/drain`; the adapter
 *   answered 415);
 * - a body that is JSON but not an object (`42`, `[]`), or no body where the document requires
 *   one, is a 400 (the adapter spread it into `{}`, so an operation whose fields all have defaults
 *   accepted it);
 * - a body is validated against the document's schema (ajv), 400 naming each field: the adapter
 *   coerces body numbers and booleans as if they were query strings (`"singleUse": null` read as
 *   false, `"instances": "5"` as 5), so its zod validation alone accepted what the document refuses;
 * - a boolean query parameter is `true` or `false` (the adapter's coercion read any text, `false`
 *   included, as true);
 * - an empty query value of a parameter that must not be empty is a 400 (the adapter dropped it,
 *   as if the parameter were absent).
 */
/** Whether the caller's role allows the operation's procedure (its meta `access`, or its type's). */
function allowed(req: FastifyRequest, route: Route): boolean {
  const name = String(route.op.operationId ?? '').replace(/-/g, '.');
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: 'query' | 'mutation' | 'subscription'; meta?: Parameters<typeof procedureAccess>[1] } }
  >;
  const procedure = procedures[name];
  if (!procedure || !req.user) return true;
  const level = procedureAccess(procedure._def.type, procedure._def.meta);
  return level === 'self' || accessService.roleAllows(req.user.role, level);
}

export function registerOpenApiGuards(app: FastifyInstance, doc: OpenApiDocument, basePath: string): void {
  const routes = routesOf(doc, basePath);
  const validateBody = bodyValidator(doc);
  const match = (req: FastifyRequest) => {
    const path = req.url.split('?')[0]!;
    return path.startsWith(`${basePath}/`) ? routes.filter((r) => r.re.test(path)) : [];
  };
  app.addHook('onRequest', async (req, reply) => {
    const matched = match(req);
    if (matched.length === 0) return;
    const methods = [...new Set(matched.map((r) => r.method))];
    const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])];
    if (!allow.includes(req.method)) {
      return reply
        .code(405)
        .header('allow', allow.join(', '))
        .send({
          message: `${req.method} is not allowed here; allowed: ${allow.join(', ')}`,
          code: 'METHOD_NOT_SUPPORTED',
        });
    }
    const bodyless = !req.headers['transfer-encoding'] && (req.headers['content-length'] ?? '0') === '0';
    if (['POST', 'PUT', 'PATCH'].includes(req.method) && bodyless && !req.headers['content-type'])
      req.headers['content-type'] = 'application/json';
  });
  app.addHook('preHandler', async (req, reply) => {
    const route = match(req).find((r) => r.method === req.method);
    if (!route) return;
    // A caller whose role does not allow the operation gets its 403 from the procedure, as over
    // tRPC (where the role is checked before the input), not a 400 about the input.
    if (!allowed(req, route)) return;
    const body: unknown = req.body;
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body)))
      return badRequest(reply, 'body', 'the request body must be a JSON object');
    if (body === undefined && (route.op.requestBody as Json | undefined)?.required === true)
      return badRequest(reply, 'body', 'a JSON object is required');
    if (body !== undefined && route.op.requestBody) {
      const issues = validateBody(route.body, body);
      if (issues.length > 0)
        return reply.code(400).send({
          message: issues.map((i) => `${i.path}: ${i.message}`).join('; '),
          code: 'BAD_REQUEST',
          issues,
        });
    }
    const query = req.query as Record<string, unknown>;
    for (const p of route.op.parameters ?? []) {
      if (p.in !== 'query' || typeof p.name !== 'string' || !(p.name in query)) continue;
      const schema = (p.schema ?? {}) as Json;
      const value = query[p.name];
      if (schema.type === 'boolean') {
        if (value === 'true') continue;
        if (value !== 'false') return badRequest(reply, p.name, 'must be true or false');
        // Absent reads as the default; the adapter would read the text 'false' as true.
        if (schema.default === true) return badRequest(reply, p.name, 'leave it out for false');
        delete query[p.name];
      } else if (value === '' && typeof schema.minLength === 'number' && schema.minLength > 0) {
        return badRequest(reply, p.name, 'must not be empty');
      }
    }
  });
}

import { appRouter, type auditService, type Services } from '@atoll/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * The audit trail of writes (docs/audit.md): after every response to a request whose method is not
 * GET, HEAD or OPTIONS, one record (who, what, target, from where, result) goes into the batched
 * audit log; the request never waits for it. Exec sessions (a WebSocket GET) are recorded by
 * routes/task-io.ts through `auditEntry`. Bodies, tokens, passwords and query strings are never
 * recorded: only the path (tokens in it redacted) and the target's id or path.
 *
 * Not recorded: the agents' own channel (`/agent/v1`, a WebSocket whose messages are the agent's
 * reports, not a user's writes; a node joining is an event), `POST /install/token-check` (a new
 * host checking its join token before install; it writes nothing) and `/service/<name>/…` (traffic
 * to a deployed service, which is the service's to audit; Metronome's `/service/metronome/v1`
 * routes are Atoll's own and are recorded).
 */

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SKIPPED_ROUTES = new Set(['/agent/v1', '/install/token-check', '/service/*']);
/** Where a username and password are posted: the record names the username that was tried. */
const LOGIN_PATHS = new Set(['/api/trpc/auth.login', '/api/v1/auth/login', '/acs/api/v1/auth/login']);
const MAX_FIELD = 1000;
const CLIENT_CLOSED_REQUEST = 499;

/** Reads that are recorded all the same: exec sessions refused before the WebSocket opened. */
const AUDITED_READ_ROUTES = new Set(['/api/v1/tasks/:taskId/exec']);

/** The URL as sent: /api/v1's adapter rewrites req.url (and with it req.originalUrl) in its handler. */
const sentUrls = new WeakMap<FastifyRequest, string>();

export function registerAuditHook(app: FastifyInstance, services: Services): void {
  const openApi = openApiOperations();
  app.addHook('onRequest', async (req) => {
    sentUrls.set(req, req.url);
  });
  const recorded = new WeakSet<FastifyRequest>();
  const record = async (req: FastifyRequest, status: number) => {
    const route = req.routeOptions.url;
    if (READ_METHODS.has(req.method) && !(route && AUDITED_READ_ROUTES.has(route))) return;
    if (route && SKIPPED_ROUTES.has(route)) return;
    if (recorded.has(req)) return;
    recorded.add(req);
    try {
      const entry = auditEntry(req, status, describe(req, openApi));
      if (LOGIN_PATHS.has(entry.path)) {
        // Who tried: the username in the body (never the password). A success names the user's id.
        const tried = loginUsername(bodyOf(req));
        entry.actor = tried;
        entry.actorId = null;
        if (tried && status < 400) {
          const user = await services.db.prisma.user.findUnique({
            where: { username: tried },
            select: { id: true },
          });
          entry.actorId = user?.id ?? null;
        }
      }
      services.audit.record(entry);
    } catch (err) {
      req.log.error({ err, requestId: req.id }, 'audit record not made');
    }
  };
  app.addHook('onResponse', async (req, reply) => record(req, reply.statusCode));
  // A client that went away before its answer: the write may have happened all the same, so it
  // is recorded with nginx's 499 ("client closed request").
  app.addHook('onRequestAbort', async (req) => record(req, CLIENT_CLOSED_REQUEST));
  // Requests answered before the server closed are flushed with it (control.stop closes the log).
  app.addHook('onClose', async () => services.audit.flush());
}

/** The record of a request: who (req.user), from where, its path and result. */
export function auditEntry(
  req: FastifyRequest,
  status: number,
  what: { action: string; target: string | null },
): auditService.AuditEntry {
  return {
    at: new Date(),
    actorId: req.user?.id ?? null,
    actor: req.user?.username ?? null,
    method: req.method,
    path: cap(redactPath(requestPath(req))),
    action: cap(what.action),
    target: what.target === null ? null : cap(what.target),
    ip: req.ip || null,
    status,
    requestId: String(req.id),
  };
}

/** The path as the client sent it (the /api/v1 adapter rewrites req.url), without the query. */
function requestPath(req: FastifyRequest): string {
  return sentUrl(req).split('?')[0]!;
}

function sentUrl(req: FastifyRequest): string {
  return sentUrls.get(req) ?? req.url;
}

/** The JSON body as an object: tRPC's adapter leaves it a string (parsed here, never stored). */
function bodyOf(req: FastifyRequest): unknown {
  if (typeof req.body !== 'string') return req.body;
  try {
    return JSON.parse(req.body) as unknown;
  } catch {
    return null;
  }
}

const SECRET_PREFIX = /^(ses|atl|join|node|tok|token)_[A-Za-z0-9_-]{8,}$/;

/**
 * Path segments that look like a credential become `[redacted]`: Atoll's token prefixes, and long
 * runs of mixed-case letters and digits (ids of apps, jobs and groups are lower case; UUIDs and
 * task ids are kept).
 */
export function redactPath(path: string): string {
  return path
    .split('/')
    .map((raw) => {
      let seg = raw;
      try {
        seg = decodeURIComponent(raw);
      } catch {
        // not percent-encoded text: judge it as it is
      }
      const looksLikeToken =
        SECRET_PREFIX.test(seg) ||
        (seg.length >= 24 &&
          /^[A-Za-z0-9_\-+=.]+$/.test(seg) &&
          /[A-Z]/.test(seg) &&
          /[a-z]/.test(seg) &&
          /\d/.test(seg));
      return looksLikeToken ? '[redacted]' : raw;
    })
    .join('/');
}

interface OpenApiOperation {
  method: string;
  pattern: string;
  regex: RegExp;
  params: string[];
}

/** /api/v1's operations (trpc-to-openapi serves them through one wildcard route). */
function openApiOperations(): OpenApiOperation[] {
  const ops: OpenApiOperation[] = [];
  for (const proc of Object.values(
    appRouter._def.procedures as unknown as Record<string, { _def: { meta?: unknown } }>,
  )) {
    const meta = proc._def.meta as { openapi?: { method: string; path: string } } | undefined;
    if (!meta?.openapi) continue;
    const pattern = `/api/v1${meta.openapi.path.replace(/\/$/, '')}`;
    const params: string[] = [];
    const source = pattern
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const m = /^\{([^}]+)\}$/.exec(part);
        if (!m) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        params.push(m[1]!);
        return '([^/]+)';
      })
      .join('');
    ops.push({ method: meta.openapi.method, pattern, regex: new RegExp(`^${source}/?$`), params });
  }
  // Literal segments before parameters: `/jobs/runs` before `/jobs/{id}`.
  return ops.sort((a, b) => a.params.length - b.params.length);
}

/** Marathon's wildcard routes: app ids hold slashes, so the action's suffix is parsed here. */
const WILDCARD_SUFFIXES: Array<[RegExp, string]> = [
  [/^(.*)\/tasks\/([^/]+)$/, '/tasks/:taskId'],
  [/^(.*)\/tasks$/, '/tasks'],
  [/^(.*)\/restart$/, '/restart'],
  [/^(.*)\/delay$/, '/delay'],
  [/^(.*)\/versions\/([^/]+)$/, '/versions/:version'],
  [/^(.*)\/versions$/, '/versions'],
];

function describe(
  req: FastifyRequest,
  openApi: OpenApiOperation[],
): { action: string; target: string | null } {
  const path = requestPath(req);
  const route = req.routeOptions.url;
  if (path.startsWith('/api/trpc/')) {
    // `/api/trpc/a,b?batch=1` carries `{"0": inputA, "1": inputB}`.
    const procedures = decodeSafe(path.slice('/api/trpc/'.length)).split(',');
    const batch = /[?&]batch=1(&|$)/.test(sentUrl(req));
    const body = (bodyOf(req) ?? {}) as Record<string, unknown>;
    const inputs = batch ? procedures.map((_, i) => body[String(i)]) : [body];
    return { action: procedures.join(','), target: joinTargets(inputs.map(targetOfInput)) };
  }
  if (route === '/api/v1/*') {
    const op = openApi.find((o) => o.method === req.method && o.regex.test(path));
    if (op) {
      const m = op.regex.exec(path)!;
      const fromPath = m[1] === undefined ? null : decodeSafe(m[1]);
      return {
        action: `${req.method} ${op.pattern}`,
        target: fromPath ?? targetOfInput(bodyOf(req)) ?? targetOfInput(req.query),
      };
    }
    return { action: `${req.method} ${path}`, target: null };
  }
  if (route?.endsWith('/*')) {
    const rest = '/' + ((req.params as { '*'?: string })['*'] ?? '').replace(/^\/+|\/+$/g, '');
    for (const [re, suffix] of WILDCARD_SUFFIXES) {
      const m = re.exec(rest);
      if (m) return { action: `${req.method} ${route.slice(0, -2)}/:id${suffix}`, target: m[1] || '/' };
    }
    return { action: `${req.method} ${route.slice(0, -2)}/:id`, target: rest };
  }
  if (route) {
    const params = (req.params ?? {}) as Record<string, unknown>;
    const first = Object.values(params).find((v): v is string => typeof v === 'string' && v !== '');
    return {
      action: `${req.method} ${route}`,
      target: first ?? targetOfInput(bodyOf(req)) ?? targetOfInput(req.query),
    };
  }
  // No route matched (a 404, or a 401 answered before routing).
  return { action: `${req.method} ${path}`, target: null };
}

/** The id or path an input names; never anything else of it (values may be secrets). */
const TARGET_KEYS = [
  'id',
  'appId',
  'jobId',
  'path',
  'taskId',
  'nodeId',
  'packageName',
  'username',
  'name',
  'uid',
];
const NESTED_KEYS = ['definition', 'job', 'app', 'pod', 'group'];

export function targetOfInput(input: unknown): string | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  const o = input as Record<string, unknown>;
  for (const k of TARGET_KEYS) if (typeof o[k] === 'string' && o[k] !== '') return o[k];
  for (const k of NESTED_KEYS) {
    const nested = targetOfInput(o[k]);
    if (nested) return nested;
  }
  for (const k of ['taskIds', 'ids']) {
    const list = o[k];
    if (Array.isArray(list) && list.length > 0 && list.every((v) => typeof v === 'string'))
      return list.join(',');
  }
  return null;
}

function joinTargets(targets: Array<string | null>): string | null {
  const found = [...new Set(targets.filter((t): t is string => t !== null))];
  return found.length ? found.join(',') : null;
}

function loginUsername(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const o = body as Record<string, unknown>;
  const input = (typeof o['0'] === 'object' && o['0'] !== null ? o['0'] : o) as Record<string, unknown>;
  const name = input.username ?? input.uid;
  return typeof name === 'string' && name !== '' ? cap(name) : null;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function cap(s: string): string {
  return s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}…` : s;
}

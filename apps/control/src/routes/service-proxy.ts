import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import {
  accessService,
  authService,
  ServiceRouteCache,
  serviceRoutesService,
  type Services,
} from '@atoll/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createProxyServer } from 'http-proxy-3';
import { SERVICE_SANDBOX } from '../origins';

const { matchServicePath, requestedServiceName, upstreamPath } = serviceRoutesService;

/** Where one request goes: a task's host port, over http or https. */
export interface Upstream {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  taskId: string;
}

export interface ForwardOptions {
  upstream: Upstream;
  /** The path (and query) to request upstream. */
  path: string;
  /** What the client sees as the service's name, for messages. */
  service: string;
  /** The path prefix the service is served under (`/service/web`): X-Forwarded-Prefix and redirects. */
  prefix?: string;
  /** Whether `prefix` was stripped from the forwarded path (redirects to `/x` then get it back). */
  prefixStripped?: boolean;
  /** Drop an `Authorization` carrying an Atoll credential (Bearer / token=). */
  stripAuthorization: boolean;
  /** Drop the `Authorization` header whatever it holds: it was the request's Atoll login (Basic). */
  authorizationWasLogin?: boolean;
  /**
   * Add origins.ts's CSP sandbox to every response: the service is served in control's own origin
   * (`/service/<name>/`), so its pages must not run as that origin. Not on the edge port, where a
   * service has an origin of its own (its host name and the edge port).
   */
  sandbox?: boolean;
}

interface RequestContext {
  opts: ForwardOptions;
  /** The upstream's own origin, as it may appear in a Location header. */
  origin: string;
}

const HEAD_SYMBOL = 'ws-head';

/**
 * A reverse proxy to tasks, shared by `/service/<name>/` (routes below) and the edge port
 * (routes/edge.ts): http-proxy-3 streams bodies both ways without buffering (server-sent
 * events, chunked responses) and passes WebSocket upgrades through as raw sockets.
 *
 * What it changes on the way:
 * - under `/service/`, every response gets a CSP `sandbox` (origins.ts): the page runs in an
 *   opaque origin, not as control;
 * - the Atoll session cookie is removed (and, when asked, an Atoll bearer token), so no
 *   credential of the cluster reaches a service; a service can never set that cookie either;
 * - X-Forwarded-For / -Proto / -Host (and -Prefix under /service/) tell the service where the
 *   client was;
 * - a redirect to the upstream's own address, or (when the prefix was stripped) to an absolute
 *   path, is moved under the prefix, so the client stays on the proxy.
 */
export class ServiceProxy {
  readonly routes: ServiceRouteCache;
  private readonly proxy = createProxyServer({ xfwd: false });
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  // Services behind DCOS_SERVICE_SCHEME=https mostly have self-signed certificates (DC/OS did
  // not verify them either): the connection is encrypted, the upstream is not authenticated.
  private readonly httpsAgent = new https.Agent({
    keepAlive: true,
    maxSockets: 512,
    rejectUnauthorized: false,
  });
  private readonly contexts = new WeakMap<IncomingMessage, RequestContext>();
  private readonly upgraded = new Set<Duplex>();

  constructor(
    private readonly s: Pick<Services, 'db' | 'bus' | 'log'>,
    opts: { ttlMs?: number } = {},
  ) {
    this.routes = new ServiceRouteCache(s, opts.ttlMs ?? 1000);
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const ctx = this.contexts.get(req);
      if (ctx) rewriteResponseHeaders(proxyRes, ctx);
    });
    // Errors are answered per request (the callbacks below); this keeps a stray one from throwing.
    this.proxy.on('error', (err) => this.s.log.debug({ err }, 'service proxy error'));
  }

  /** Forwards an HTTP request; answers 502 itself when the upstream cannot be reached. */
  web(req: IncomingMessage, res: ServerResponse, opts: ForwardOptions): void {
    const ctx = this.prepare(req, opts);
    this.proxy.web(
      req,
      res,
      {
        target: targetOf(opts.upstream),
        agent: opts.upstream.scheme === 'https' ? this.httpsAgent : this.httpAgent,
        secure: false,
      },
      (err) => {
        this.s.log.warn(
          { err, service: opts.service, taskId: opts.upstream.taskId },
          'service proxy: upstream failed',
        );
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const body = JSON.stringify({ message: upstreamErrorMessage(ctx, err), code: 'BAD_GATEWAY' });
        res.writeHead(502, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      },
    );
  }

  /** Passes a WebSocket upgrade through to the upstream (raw bytes both ways once switched). */
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, opts: ForwardOptions): void {
    const ctx = this.prepare(req, opts);
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    this.proxy.ws(req, socket, head, { target: targetOf(opts.upstream), secure: false }, (err) => {
      this.s.log.warn(
        { err, service: opts.service, taskId: opts.upstream.taskId },
        'service proxy: WebSocket upstream failed',
      );
      // Before the upstream switched protocols the client still waits for an HTTP answer.
      if (socket.writable) {
        const body = upstreamErrorMessage(ctx, err);
        socket.write(
          `HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    });
  }

  private prepare(req: IncomingMessage, opts: ForwardOptions): RequestContext {
    const { upstream } = opts;
    const ctx: RequestContext = {
      opts,
      origin: `${upstream.scheme}://${hostPort(upstream.host, upstream.port)}`,
    };
    this.contexts.set(req, ctx);
    const h = req.headers;
    const cookie = withoutSessionCookie(h.cookie);
    if (cookie) h.cookie = cookie;
    else delete h.cookie;
    if (
      opts.authorizationWasLogin ||
      (opts.stripAuthorization && authService.parseAuthorization(h.authorization))
    )
      delete h.authorization;
    const encrypted = 'encrypted' in req.socket && Boolean((req.socket as { encrypted?: boolean }).encrypted);
    const proto = encrypted ? 'https' : 'http';
    const remote = req.socket.remoteAddress ?? '';
    h['x-forwarded-for'] = h['x-forwarded-for'] ? `${String(h['x-forwarded-for'])}, ${remote}` : remote;
    // http or https for WebSockets too, as nginx's $scheme (what services compare with)
    h['x-forwarded-proto'] ??= proto;
    if (h.host) h['x-forwarded-host'] ??= h.host;
    if (opts.prefix) h['x-forwarded-prefix'] = opts.prefix;
    else delete h['x-forwarded-prefix'];
    req.url = opts.path;
    return ctx;
  }

  /** Ends proxied WebSockets (the HTTP server does not track upgraded sockets) and idle upstream connections. */
  close(): void {
    for (const socket of this.upgraded) socket.destroy();
    this.upgraded.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.routes.close();
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function targetOf(u: Upstream): string {
  return `${u.scheme}://${hostPort(u.host, u.port)}`;
}

function upstreamErrorMessage(ctx: RequestContext, err: unknown): string {
  const code = (err as { code?: string } | null)?.code ?? (err instanceof Error ? err.message : String(err));
  return `service ${ctx.opts.service}: its task ${ctx.opts.upstream.taskId} at ${hostPort(ctx.opts.upstream.host, ctx.opts.upstream.port)} did not answer (${code})`;
}

/** The Cookie header without Atoll's session cookie (or undefined when nothing is left). */
export function withoutSessionCookie(
  header: string | string[] | undefined,
  name = SESSION_COOKIE_NAME,
): string | undefined {
  if (!header) return undefined;
  const parts = (Array.isArray(header) ? header.join('; ') : header)
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '' && p.split('=')[0]!.trim() !== name);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

// Kept in step with server.ts's SESSION_COOKIE (not imported: server.ts imports this file).
const SESSION_COOKIE_NAME = 'atoll_session';

function rewriteResponseHeaders(res: IncomingMessage, ctx: RequestContext): void {
  if (ctx.opts.sandbox) {
    // Appended, never replacing: the service's own policy (Node joins repeated headers with ", ",
    // i.e. several policies, each enforced) stays, and the sandbox is one more.
    const csp = res.headers['content-security-policy'];
    res.headers['content-security-policy'] = csp ? `${csp}, ${SERVICE_SANDBOX}` : SERVICE_SANDBOX;
  }
  const setCookie = res.headers['set-cookie'];
  if (setCookie) {
    const kept = setCookie.filter((c) => c.split('=')[0]!.trim() !== SESSION_COOKIE_NAME);
    if (kept.length > 0) res.headers['set-cookie'] = kept;
    else delete res.headers['set-cookie'];
  }
  const location = res.headers.location;
  if (!location) return;
  const prefix = ctx.opts.prefix ?? '';
  let rewritten = location;
  if (location === ctx.origin || location.startsWith(`${ctx.origin}/`)) {
    // A redirect to the task's own address (nginx's default proxy_redirect does the same).
    const path = location.slice(ctx.origin.length) || '/';
    rewritten = ctx.opts.prefixStripped ? `${prefix}${path}` : path;
  } else if (
    ctx.opts.prefixStripped &&
    location.startsWith('/') &&
    !location.startsWith('//') &&
    location !== prefix &&
    !location.startsWith(`${prefix}/`)
  ) {
    rewritten = `${prefix}${location}`;
  }
  res.headers.location = rewritten;
}

/** The raw socket and head of an upgrade request that @fastify/websocket routed through Fastify. */
function upgradeOf(req: FastifyRequest): { socket: Duplex; head: Buffer } | null {
  const h = req.headers;
  const isUpgrade =
    typeof h.upgrade === 'string' &&
    /\bupgrade\b/i.test(String(h.connection ?? '')) &&
    req.raw.method === 'GET';
  if (!isUpgrade) return null;
  const raw = req.raw as unknown as Record<symbol, unknown>;
  const symbols = Object.getOwnPropertySymbols(raw);
  const headSym = symbols.find((sym) => sym.description === HEAD_SYMBOL);
  const head = headSym && Buffer.isBuffer(raw[headSym]) ? raw[headSym] : Buffer.alloc(0);
  return { socket: req.raw.socket, head };
}

/**
 * `/service/<name>/…` (DC/OS Admin Router's service endpoints): login required, as for the
 * console (server.ts's onRequest hook runs first, for WebSocket upgrades too, since
 * @fastify/websocket routes upgrades through Fastify). Everything happens in a route-level
 * onRequest hook so Fastify never parses the body: it streams to the task as it comes.
 */
export function registerServiceProxyRoutes(app: FastifyInstance, proxy: ServiceProxy): void {
  const forward = async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.raw.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q >= 0 ? raw.slice(0, q) : raw;
    const query = q >= 0 ? raw.slice(q + 1) : '';
    const sub = pathname.replace(/^\/service\/?/, '');
    const name = requestedServiceName(sub);
    if (!name)
      return reply.code(404).send({ message: 'no service named: use /service/<name>/', code: 'NOT_FOUND' });
    const match = matchServicePath(await proxy.routes.get(), sub);
    if (!match) return reply.code(404).send({ message: `no service named ${name}`, code: 'NOT_FOUND' });
    // A scoped operator reaches only the services of apps in the scope (access-hook.ts checks the role).
    if (!accessService.visibleTo({ user: req.user }, match.route.appId))
      return reply
        .code(403)
        .send({ message: `${match.route.appId} is outside your scope`, code: 'FORBIDDEN' });
    const service = match.route.serviceName ?? match.route.appId;
    if (match.rest === '') {
      return reply
        .code(307)
        .header('location', `${match.prefix}/${query ? `?${query}` : ''}`)
        .send();
    }
    const endpoint = proxy.routes.pick(match.route.appId, match.route.endpoints);
    if (!endpoint) {
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ message: `service ${service} has no healthy task`, code: 'SERVICE_UNAVAILABLE' });
    }
    const opts: ForwardOptions = {
      upstream: {
        scheme: match.route.scheme,
        host: endpoint.host,
        port: endpoint.port,
        taskId: endpoint.taskId,
      },
      path: upstreamPath(match, query),
      service,
      prefix: match.prefix,
      prefixStripped: match.route.rewriteRequestUrls,
      stripAuthorization: true,
      authorizationWasLogin: req.authMethod === 'basic',
      sandbox: true,
    };
    const upgrade = upgradeOf(req);
    reply.hijack();
    if (upgrade) proxy.ws(req.raw, upgrade.socket, upgrade.head, opts);
    else proxy.web(req.raw, reply.raw, opts);
  };
  app.route({
    method: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
    url: '/service/*',
    // The proxied app may do anything with the user's session: operators only, whatever the method.
    config: { access: 'operate', scope: 'service' },
    onRequest: forward,
    // Never reached: the hook above answers or hijacks every request.
    handler: async (_req, reply) => reply.code(404).send({ message: 'not found', code: 'NOT_FOUND' }),
  });
}

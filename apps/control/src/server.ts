import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import fastifyWebsocket from '@fastify/websocket';
import {
  appRouter,
  authService,
  callerDbError,
  createContextInner,
  internalErrorMessage,
  type AuthUser,
  type Context,
  type Services,
} from '@atoll/api';
import type { TRPCError } from '@trpc/server';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { fastifyTRPCOpenApiPlugin } from 'trpc-to-openapi';
import type { AgentGateway } from './gateway/gateway';
import {
  InputError,
  checkHeaders,
  checkUrl,
  inputErrorBody,
  issueBody,
  registerInputGuard,
  requestIdFor,
} from './input-guard';
import { installAccessHook } from './access-hook';
import { registerAuditHook } from './audit-hook';
import { registerLoginRateLimit, wantsSecureCookie } from './login-guard';
import { registerOriginGuard } from './origins';
import { buildOpenApiDocument, registerOpenApiGuards } from './openapi';
import { registerDcosAuthRoutes } from './routes/dcos-auth';
import { registerMarathonRoutes } from './routes/marathon';
import { registerCosmosRoutes } from './routes/cosmos';
import { registerMetronomeRoutes } from './routes/metronome';
import { registerMesosDnsRoutes } from './routes/mesos-dns';
import { registerInstallRoutes } from './routes/install';
import { registerPrometheusRoute } from './routes/prometheus';
import { registerTaskIoRoutes } from './routes/task-io';
import { registerServiceProxyRoutes, ServiceProxy } from './routes/service-proxy';

export const SESSION_COOKIE = 'atoll_session';

/** tRPC's names of the 4xx statuses Fastify itself answers (before a route). */
const HTTP_ERROR_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

declare module 'fastify' {
  interface FastifyRequest {
    user: AuthUser | null;
    /** How the request authenticated (null without credentials). */
    authMethod: authService.AuthMethod | null;
  }
}

export type NextRequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** This replica's part in the leader election (Marathon's /v2/leader and /v2/info). */
export interface Leadership {
  isLeader(): boolean;
  /** The leader's public URL (any replica's view), or null while no replica leads. */
  leaderUrl(): Promise<string | null>;
  /** Gives up the leadership for a new election; false when this replica does not lead. */
  abdicate(): Promise<boolean>;
}

export interface ServerDeps {
  services: Services;
  gateway: AgentGateway;
  /** Next's request handler for the console, or null when the console is not served. */
  consoleHandler: NextRequestHandler | null;
  /** Secure cookies when served over HTTPS. */
  secureCookies?: boolean;
  /** The /service/<name>/ proxy (shared with the edge port); one is made when absent. */
  serviceProxy?: ServiceProxy;
  /** The port control's DNS server answers on, for Mesos-DNS's /v1/config. */
  dnsPort?: () => number | null;
  leadership: Leadership;
  /** The replicas' link endpoint (replicas/cluster.ts). */
  replicas?: { register(app: FastifyInstance): void };
  /** Whose X-Forwarded-For gives req.ip (Fastify's trustProxy); off when absent. */
  trustProxy?: boolean | string[];
}

/** Routes anyone may call; everything else answers 401 without credentials. */
function isPublic(method: string, path: string): boolean {
  // The agents' socket and the replicas' link (each checks its own credential).
  if (path === '/health' || path === '/agent/v1' || path === '/internal/v1/replicas/link') return true;
  // What a new host fetches before it has any credential (see routes/install.ts).
  if (
    ((method === 'GET' || method === 'HEAD') &&
      ['/install/agent.sh', '/install/atoll-agent.mjs', '/install/node'].includes(path)) ||
    (method === 'POST' && path === '/install/token-check')
  )
    return true;
  if (
    method === 'POST' &&
    (path === '/api/trpc/auth.login' || path === '/api/v1/auth/login' || path === '/acs/api/v1/auth/login')
  ) {
    return true;
  }
  // The console's login page and its static assets (no cluster data in either).
  if (method === 'GET' && (path === '/login' || path.startsWith('/_next/static/') || path === '/favicon.ico'))
    return true;
  return false;
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { services } = deps;
  const app = Fastify({
    loggerInstance: services.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Server-sent event streams (/v2/events, tRPC subscriptions) must not hold up a shutdown.
    forceCloseConnections: true,
    // req.ip (audit records) is the socket's peer unless proxies are trusted (ATOLL_TRUST_PROXY).
    trustProxy: deps.trustProxy ?? false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    // Every request has an id (input-guard.ts requestIdFor), logged with its lines, sent back as
    // x-request-id and named in 5xx bodies.
    genReqId: requestIdFor,
    requestIdHeader: false,
    // A path the router cannot decode (`/v2/apps/%FF`) never reaches a hook: answer it here.
    frameworkErrors: (err, req, res) => {
      const reply = res as FastifyReply;
      void reply.header('x-request-id', req.id);
      const found = checkUrl(req.raw.url ?? '/') ?? checkHeaders(req.headers);
      void reply.code(400).send(found ? issueBody(found) : { message: err.message, code: 'BAD_REQUEST' });
    },
  });
  app.decorateRequest('user', null);
  app.decorateRequest('authMethod', null);
  // Before any other hook: the id on every answer (also hijacked ones: the console, the proxy)...
  app.addHook('onRequest', async (req, reply) => {
    reply.raw.setHeader('x-request-id', req.id);
  });
  // ...and no NUL byte or invalid UTF-8 past this point (400 naming the field).
  registerInputGuard(app);
  // Roles and scopes on every route registered from here on (access-hook.ts, docs/access.md).
  installAccessHook(app);
  // Marathon's clients send `Content-Type: application/json` with empty bodies (marathon-python's
  // restart_app POSTs nothing): an empty JSON body is no body, and the route says if it needs one.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') return done(null, undefined);
    return parseJson(req, body as string, done);
  });
  await app.register(fastifyCookie);
  await app.register(fastifyWebsocket, { options: { maxPayload: 4 * 1024 * 1024 } });

  // Password logins per client address, before any password is checked (login-guard.ts).
  registerLoginRateLimit(app);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    const auth = await authService.authenticateRequest(services, {
      sessionToken: req.cookies[SESSION_COOKIE],
      authorization: req.headers.authorization,
    });
    req.user = auth?.user ?? null;
    req.authMethod = auth?.method ?? null;
    if (req.user || isPublic(req.method, path)) return;
    if (
      req.method === 'GET' &&
      deps.consoleHandler &&
      wantsHtml(req) &&
      !path.startsWith('/api/') &&
      !path.startsWith('/v2/')
    ) {
      return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`);
    }
    // Marathon's API challenges for HTTP Basic, as Marathon with --http_credentials did (the DC/OS
    // CLI 0.x asks for a user and password on that challenge). Not elsewhere: a browser would
    // answer the console's own 401s with its login dialog.
    if (path === '/ping' || path.startsWith('/v2/')) reply.header('www-authenticate', 'Basic realm="Atoll"');
    return reply.code(401).send({ message: 'authentication required', code: 'UNAUTHORIZED' });
  });
  // One audit record per write request, 401s included (audit-hook.ts, docs/audit.md).
  registerAuditHook(app, services);
  // Cross-site requests riding on the session cookie: CSRF and WebSocket origins (origins.ts).
  registerOriginGuard(app, () => services.config.publicUrl);
  // /api/v1's document (openapi.ts completes trpc-to-openapi's errors) and the guards that make the
  // adapter answer as it says (405 with Allow, booleans, bodies that are no object).
  const openApi = buildOpenApiDocument(appRouter, {
    version: services.config.version,
    baseUrl: `${services.config.publicUrl}/api/v1`,
    cookieName: SESSION_COOKIE,
  });
  registerOpenApiGuards(app, openApi, '/api/v1');

  // Malformed bodies and unknown errors: a clear 4xx for what the caller sent, never a stack trace
  // nor a library's or the database's text (those go to the log, under the request's id).
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err instanceof InputError) return reply.code(400).send(inputErrorBody(err.issue, req.url));
    const known = callerDbError(err);
    if (known) return reply.code(known.httpStatus).send({ message: known.message, code: known.code });
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    // With a code, as every other error body (openapi.ts's Error): a malformed JSON body, a body too
    // large or of another content type.
    if (status !== 500)
      return reply.code(status).send({ message: err.message, code: HTTP_ERROR_CODES[status] ?? 'BAD_REQUEST' });
    req.log.error({ err, requestId: req.id }, 'request failed');
    return reply
      .code(500)
      .send({ message: internalErrorMessage(req.id), code: 'INTERNAL', requestId: req.id });
  });

  app.get('/health', { config: { access: 'public' } }, async () => ({ status: 'ok' }));

  // HttpOnly, SameSite=Lax, and Secure when the request came over HTTPS (login-guard.ts).
  const setCookie = (req: FastifyRequest, reply: FastifyReply) => (token: string | null, expiresAt?: Date) => {
    const flags = {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: wantsSecureCookie(req, { publicUrl: services.config.publicUrl, secureCookies: deps.secureCookies }),
    } as const;
    if (token) {
      void reply.setCookie(SESSION_COOKIE, token, { ...flags, ...(expiresAt ? { expires: expiresAt } : {}) });
    } else {
      void reply.clearCookie(SESSION_COOKIE, flags);
    }
  };
  const createContext = ({ req, res }: { req: FastifyRequest; res: FastifyReply }) =>
    createContextInner(services, req.user, {
      setSessionCookie: setCookie(req, res),
      ...(req.cookies[SESSION_COOKIE] ? { sessionToken: req.cookies[SESSION_COOKIE] } : {}),
      requestId: req.id,
    });
  // tRPC answers an internal error with the request id only (trpc.ts errorFormatter); its cause
  // is logged here, under that id.
  const logProcedureError = ({ error, path, ctx }: { error: TRPCError; path?: string; ctx?: Context }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR')
      services.log.error({ err: error.cause ?? error, path, requestId: ctx?.requestId }, 'tRPC procedure failed');
  };

  await app.register(fastifyTRPCPlugin, {
    prefix: '/api/trpc',
    trpcOptions: {
      router: appRouter,
      createContext,
      onError: logProcedureError,
    } satisfies FastifyTRPCPluginOptions<typeof appRouter>['trpcOptions'],
  });

  app.get('/api/v1/openapi.json', { config: { access: 'self', scope: 'cluster' } }, async () => openApi);
  // trpc-to-openapi's Fastify adapter hands the Fastify request and reply to createContext.
  await app.register(fastifyTRPCOpenApiPlugin, {
    basePath: '/api/v1',
    router: appRouter,
    createContext: ({ req, res }: { req: FastifyRequest; res: FastifyReply }) => createContext({ req, res }),
    onError: logProcedureError,
  });

  registerDcosAuthRoutes(app, services);
  registerMarathonRoutes(app, services, deps.leadership);
  registerCosmosRoutes(app, services);
  registerMetronomeRoutes(app, services);
  registerMesosDnsRoutes(app, services, () => ({ port: deps.dnsPort?.() ?? null }));
  registerTaskIoRoutes(app, services);
  const serviceProxy = deps.serviceProxy ?? new ServiceProxy(services);
  registerServiceProxyRoutes(app, serviceProxy);
  // Proxied WebSockets are no longer the HTTP server's connections: end them before it closes.
  app.addHook('preClose', async () => serviceProxy.close());
  registerPrometheusRoute(app, services);
  registerInstallRoutes(app, services);
  deps.gateway.register(app);
  deps.replicas?.register(app);

  if (deps.consoleHandler) {
    const handle = deps.consoleHandler;
    // The console's pages: server.ts's authentication decides which need a login (isPublic); their
    // data comes through tRPC, which checks the role.
    app.all('/*', { config: { access: 'public' } }, async (req, reply) => {
      reply.hijack();
      await handle(req.raw, reply.raw);
    });
  }
  return app;
}

function wantsHtml(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

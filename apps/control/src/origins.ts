import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * What every response of `/service/<name>/` carries: the page runs in an opaque origin (no
 * `allow-same-origin`), so its scripts cannot read control's cookies or storage, and whatever they
 * send to control is cross-origin (`Origin: null`, no SameSite cookie) and refused below.
 */
export const SERVICE_SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-downloads';

export const CROSS_ORIGIN_REFUSED = 'cross-origin request refused';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a Content-Type names JSON (`application/json`, with parameters or not). */
export function isJsonType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  return contentType.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** The origin a browser says the request comes from: `Origin`, else the `Referer`'s origin. */
export function requestOrigin(headers: IncomingHttpHeaders): string | null {
  const origin = headers.origin;
  if (typeof origin === 'string' && origin !== '') return origin.toLowerCase();
  const referer = headers.referer;
  if (typeof referer !== 'string' || referer === '') return null;
  try {
    return new URL(referer).origin.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * Whether `origin` is control's own: the configured public URL's origin, or the origin the request
 * was addressed to (its Host header, over http or https: behind a TLS proxy control sees http).
 * A page on another port of the same host is another origin, and `null` (a sandboxed page, a
 * redirect chain) is no origin at all.
 */
export function isOwnOrigin(origin: string | null, host: string | undefined, publicUrl: string): boolean {
  if (!origin || origin === 'null') return false;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.origin.toLowerCase() === safeOrigin(publicUrl)) return true;
  if (!host) return false;
  const h = host.toLowerCase();
  return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.host.toLowerCase() === h;
}

function safeOrigin(url: string): string | null {
  try {
    return new URL(url).origin.toLowerCase();
  } catch {
    return null;
  }
}

function isUpgrade(req: FastifyRequest): boolean {
  return req.method === 'GET' && typeof req.headers.upgrade === 'string' && req.headers.upgrade !== '';
}

/** Public writes that are not a login and carry no session: the install script's token check. */
const NON_BROWSER_WRITES = new Set(['/install/token-check']);

/**
 * Why a request must be refused as cross-site, or null. Only what a browser can be made to send
 * matters — requests authenticated by the session cookie, and logins:
 * - writes (not GET/HEAD/OPTIONS) need a JSON body type: a form, `text/plain` or no type at all
 *   is what another page can send without asking CORS. This holds for logins too (no session
 *   yet), so another page cannot log the browser in as someone else (login CSRF), whatever the
 *   spelling of the path (a tRPC batch `auth.login,auth.me`, a trailing slash);
 * - cookie-authenticated writes also need an Origin (or Referer) of control's own;
 * - cookie-authenticated WebSocket upgrades need control's own Origin (a browser sends one with
 *   every WebSocket; cross-site WebSocket hijacking would otherwise reach exec with the session).
 * Token and Basic credentials are never sent by a browser on its own: those requests pass.
 */
export function crossOriginProblem(req: FastifyRequest, publicUrl: string): string | null {
  if (req.authMethod === 'token' || req.authMethod === 'basic') return null;
  const own = () => isOwnOrigin(requestOrigin(req.headers), req.headers.host, publicUrl);
  if (isUpgrade(req))
    return req.authMethod !== 'session' || (typeof req.headers.origin === 'string' && own())
      ? null
      : CROSS_ORIGIN_REFUSED;
  if (SAFE_METHODS.has(req.method)) return null;
  if (NON_BROWSER_WRITES.has(req.url.split('?')[0]!)) return null;
  if (!isJsonType(req.headers['content-type'])) return CROSS_ORIGIN_REFUSED;
  if (req.authMethod === 'session' && !own()) return CROSS_ORIGIN_REFUSED;
  return null;
}

/**
 * Registers the check as an onRequest hook; it must come after the hook that authenticates
 * (server.ts), since it reads `req.authMethod`.
 */
export function registerOriginGuard(app: FastifyInstance, publicUrl: () => string): void {
  app.addHook('onRequest', async (req, reply) => {
    const problem = crossOriginProblem(req, publicUrl());
    if (!problem) return;
    req.log.warn(
      {
        method: req.method,
        path: req.url.split('?')[0],
        origin: req.headers.origin ?? null,
        referer: req.headers.referer ?? null,
        contentType: req.headers['content-type'] ?? null,
      },
      'cross-origin request refused',
    );
    return reply.code(403).send({ message: problem });
  });
}

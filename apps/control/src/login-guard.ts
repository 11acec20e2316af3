import { authService } from '@atoll/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Password logins by REST: /api/v1 and DC/OS's route (tRPC's are counted per procedure below). */
const LOGIN_PATHS = new Set(['/api/v1/auth/login', '/acs/api/v1/auth/login']);

/**
 * How many password logins a request carries: one for a REST login, and for tRPC one per
 * `auth.login` in the path — a batch (`auth.login,auth.login,…`) may hold many.
 */
export function loginAttempts(method: string, path: string): number {
  if (method !== 'POST') return 0;
  const p = path.replace(/\/+$/, '');
  if (LOGIN_PATHS.has(p)) return 1;
  if (!p.startsWith('/api/trpc/')) return 0;
  let procedures: string[];
  try {
    procedures = decodeURIComponent(p.slice('/api/trpc/'.length)).split(',');
  } catch {
    return 0;
  }
  return procedures.filter((name) => name.trim() === 'auth.login').length;
}

/**
 * Whether a request carries HTTP Basic with a password (Marathon's clients), not one of the
 * user's tokens in its place.
 */
export function hasBasicPassword(authorization: string | undefined): boolean {
  const basic = authService.parseBasicAuthorization(authorization);
  return basic !== undefined && !/^(ses|atl)_/.test(basic.secret);
}

/**
 * Limits password logins per client address (20 a minute, good or bad), before any password is
 * checked: beyond it a 429 with Retry-After. HTTP Basic with a password is a login on every
 * request (Marathon's clients send it each time), so there only the failures count, and once the
 * address is over the limit its Basic passwords are refused like logins. Together with the
 * per-account lockout (services/auth.ts) this bounds both guessing one account and spraying many.
 */
export function registerLoginRateLimit(
  app: FastifyInstance,
  limiter = new authService.LoginRateLimiter(),
  now: () => number = Date.now,
): void {
  app.addHook('onRequest', async (req, reply) => {
    const [path, query = ''] = req.url.split('?') as [string, string?];
    const attempts = loginAttempts(req.method, path);
    const basic = attempts === 0 && hasBasicPassword(req.headers.authorization);
    if (attempts === 0 && !basic) return;
    const r = basic ? limiter.check(req.ip, now()) : limiter.hit(req.ip, now(), attempts);
    if (r.allowed) return;
    reply.header('retry-after', String(r.retryAfterSeconds));
    const message = `too many login attempts from ${req.ip}; try again in ${r.retryAfterSeconds} s`;
    if (path.startsWith('/api/trpc/')) {
      // In tRPC's own shape, so the console and the CLI show the message (a batch is a list).
      const error = { message, code: -32029, data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429 } };
      return reply.code(429).send(new URLSearchParams(query).get('batch') ? [{ error }] : { error });
    }
    return reply.code(429).send({ message, code: 'TOO_MANY_REQUESTS' });
  });
  // A Basic password that did not authenticate (the auth hook's 401) counts as a failed login.
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 401 && hasBasicPassword(req.headers.authorization)) limiter.hit(req.ip, now());
  });
}

/**
 * Whether the session cookie must be `Secure`: when control is configured for HTTPS (a `https:`
 * public URL, or `secureCookies`), or when this request reached the edge over HTTPS
 * (`x-forwarded-proto: https`, its first value when proxies chained). Believing the header is
 * safe whoever sends it: it can only add the flag, and a browser on plain HTTP then drops the
 * cookie, so a forged header harms only the one who forged it.
 */
export function wantsSecureCookie(
  req: Pick<FastifyRequest, 'headers' | 'protocol'>,
  opts: { publicUrl: string; secureCookies?: boolean | undefined },
): boolean {
  if (opts.secureCookies) return true;
  if (opts.publicUrl.startsWith('https:')) return true;
  if (req.protocol === 'https') return true;
  const forwarded = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

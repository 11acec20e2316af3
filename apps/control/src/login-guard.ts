import { authService } from '@atoll/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The three ways to log in with a password: tRPC, /api/v1 and DC/OS's route. */
const LOGIN_PATHS = new Set(['/api/trpc/auth.login', '/api/v1/auth/login', '/acs/api/v1/auth/login']);

/**
 * Limits password logins per client address (20 a minute, good or bad), before any password is
 * checked: beyond it a 429 with Retry-After. Together with the per-account lockout
 * (services/auth.ts) this bounds both guessing one account and spraying many.
 */
export function registerLoginRateLimit(
  app: FastifyInstance,
  limiter = new authService.LoginRateLimiter(),
  now: () => number = Date.now,
): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'POST' || !LOGIN_PATHS.has(req.url.split('?')[0]!)) return;
    const r = limiter.hit(req.ip, now());
    if (r.allowed) return;
    reply.header('retry-after', String(r.retryAfterSeconds));
    return reply.code(429).send({
      message: `too many login attempts from ${req.ip}; try again in ${r.retryAfterSeconds} s`,
      code: 'TOO_MANY_REQUESTS',
    });
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

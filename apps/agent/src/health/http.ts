import http from 'node:http';
import https from 'node:https';
import { absolutePath } from './checks';

export interface HttpProbeOptions {
  /** `https`: TLS, certificate errors ignored (Marathon accepts any certificate for checks). */
  scheme: 'http' | 'https';
  port: number;
  path: string;
  timeoutMs: number;
  host?: string;
}

export type HttpProbeResult =
  | { ok: true; status: number }
  /** No final response. `informational`: a 1xx status arrived before the failure. */
  | { ok: false; error: string; informational?: number };

/**
 * GET `scheme://host:port/path`, resolved with the status as soon as the response head arrives (the
 * body is not read: a streaming endpoint must not hold the check). Never rejects; a connection
 * error or no response within `timeoutMs` resolves as `ok: false`.
 */
export function httpGet(opts: HttpProbeOptions): Promise<HttpProbeResult> {
  const host = opts.host ?? '127.0.0.1';
  const lib = opts.scheme === 'https' ? https : http;
  return new Promise((resolve) => {
    let informational: number | undefined;
    let settled = false;
    const finish = (r: HttpProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = lib.request({
      host,
      port: opts.port,
      path: absolutePath(opts.path),
      method: 'GET',
      agent: false,
      headers: { 'User-Agent': 'atoll-agent', Accept: '*/*', Connection: 'close' },
      ...(opts.scheme === 'https' ? { rejectUnauthorized: false } : {}),
    });
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          error: `no response within ${formatSeconds(opts.timeoutMs)}`,
          ...(informational !== undefined ? { informational } : {}),
        }),
      opts.timeoutMs,
    );
    timer.unref();
    req.on('information', (info: { statusCode: number }) => (informational = info.statusCode));
    req.on('response', (res) => {
      res.on('error', () => undefined);
      res.resume();
      finish({ ok: true, status: res.statusCode ?? 0 });
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        error: err.code ? `${err.code}: ${err.message}` : err.message,
        ...(informational !== undefined ? { informational } : {}),
      }),
    );
    req.end();
  });
}

export type HttpVerdict = 'healthy' | 'unhealthy' | 'ignored';

/**
 * Marathon's rule: 200–399 is healthy; 100–199 is discarded (health unchanged) when
 * `ignoreHttp1xx`, else unhealthy like every other status.
 */
export function httpHealthVerdict(status: number, ignoreHttp1xx: boolean): HttpVerdict {
  if (status >= 200 && status <= 399) return 'healthy';
  if (ignoreHttp1xx && status >= 100 && status <= 199) return 'ignored';
  return 'unhealthy';
}

export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

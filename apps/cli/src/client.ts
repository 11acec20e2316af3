import type { AppRouter } from '@atoll/api';
import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import { CliError, connectionError, notLoggedIn } from './errors';
import type { CliConfig, Env } from './config';

export type AtollClient = TRPCClient<AppRouter>;

/** Output types of the procedures the CLI shows, inferred from the router. */
export type NodeView = Awaited<ReturnType<AtollClient['nodes']['list']['query']>>[number];
export type AppView = Awaited<ReturnType<AtollClient['apps']['get']['query']>>;
export type TaskView = Awaited<ReturnType<AtollClient['tasks']['list']['query']>>[number];

/** How long one API request may take before the CLI gives up. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Checks and normalizes a cluster URL as the user typed it: http(s) only, no trailing slash,
 * no query or fragment. A path prefix is kept (control may sit behind a proxy under a path).
 */
export function normalizeClusterUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new CliError(`invalid cluster URL '${raw}'`, {
      hints: ['give it with its scheme, e.g. http://control.example:7700'],
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new CliError(`invalid cluster URL '${raw}': only http:// and https:// are supported`, {
      hints: ['give it with its scheme, e.g. http://control.example:7700'],
    });
  }
  if (u.username || u.password)
    throw new CliError(`invalid cluster URL '${raw}': credentials do not belong in the URL`);
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/+$/, '');
}

/**
 * The cluster and token a command uses: `--url` / ATOLL_URL and ATOLL_TOKEN override the config
 * file. Without both a URL and a token the user has not logged in (exit 2).
 */
export function resolveConnection(
  opts: { url?: string | undefined },
  env: Env,
  config: CliConfig | null,
): CliConfig {
  const url = opts.url || env.ATOLL_URL || config?.url;
  const token = env.ATOLL_TOKEN || config?.token;
  if (!url || !token) throw notLoggedIn();
  return { url: normalizeClusterUrl(url), token };
}

export type FetchFn = typeof globalThis.fetch;

/**
 * A fetch that turns transport failures into messages naming the cluster URL, and answers that
 * are not the tRPC endpoint (a 401 from the gateway, an HTML page, a proxy error) into errors that
 * say so, instead of tRPC's "Unable to transform response from server".
 */
export function clusterFetch(clusterUrl: string, baseFetch: FetchFn = globalThis.fetch): FetchFn {
  return async (input, init) => {
    const signal = init?.signal
      ? AbortSignal.any([init.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)])
      : AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    let res: Response;
    try {
      res = await baseFetch(input, { ...init, signal });
    } catch (err) {
      if (init?.signal?.aborted) throw err;
      throw connectionError(clusterUrl, err);
    }
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('application/json')) {
      throw new CliError(
        `${clusterUrl} did not answer like atoll-control (HTTP ${res.status}${type ? `, ${type.split(';')[0]}` : ''})`,
        {
          hints: ['check the cluster URL'],
        },
      );
    }
    if (res.status === 401) {
      // A tRPC error body (e.g. a failed login) is left to tRPC; the gateway's own 401 is not one.
      const body: unknown = await res
        .clone()
        .json()
        .catch(() => null);
      if (!isTrpcBody(body)) throw notLoggedIn(`${clusterUrl} rejected the API token`);
    }
    return res;
  };
}

function isTrpcBody(body: unknown): boolean {
  const items = Array.isArray(body) ? body : [body];
  return items.every((i) => typeof i === 'object' && i !== null && ('error' in i || 'result' in i));
}

export function createClient(opts: {
  url: string;
  token?: string | undefined;
  fetch?: FetchFn;
}): AtollClient {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${opts.url}/api/trpc`,
        headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
        fetch: clusterFetch(opts.url, opts.fetch),
      }),
    ],
  });
}

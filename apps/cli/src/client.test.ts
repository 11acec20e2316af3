import { describe, expect, it } from 'vitest';
import { clusterFetch, normalizeClusterUrl, resolveConnection } from './client';
import { CliError, EXIT_NOT_LOGGED_IN } from './errors';

describe('normalizeClusterUrl', () => {
  it.each([
    ['http://control:7700', 'http://control:7700'],
    ['http://control:7700/', 'http://control:7700'],
    [' https://atoll.example/prefix/ ', 'https://atoll.example/prefix'],
    ['http://control:7700/?x=1#y', 'http://control:7700'],
  ])('%s → %s', (raw, url) => {
    expect(normalizeClusterUrl(raw)).toBe(url);
  });

  it.each(['control:7700', 'ftp://control', 'not a url', 'http://user:pw@control'])('rejects %s', (raw) => {
    expect(() => normalizeClusterUrl(raw)).toThrow(CliError);
  });
});

describe('resolveConnection', () => {
  const config = { url: 'http://from-config', token: 'config-token' };

  it('uses the config file by default', () => {
    expect(resolveConnection({}, {}, config)).toEqual(config);
  });

  it('lets --url, then ATOLL_URL, and ATOLL_TOKEN override it', () => {
    expect(resolveConnection({}, { ATOLL_URL: 'http://env/' }, config)).toEqual({
      url: 'http://env',
      token: 'config-token',
    });
    expect(resolveConnection({ url: 'http://flag' }, { ATOLL_URL: 'http://env' }, config).url).toBe(
      'http://flag',
    );
    expect(resolveConnection({}, { ATOLL_TOKEN: 'env-token' }, config).token).toBe('env-token');
    expect(resolveConnection({}, { ATOLL_URL: 'http://env', ATOLL_TOKEN: 't' }, null)).toEqual({
      url: 'http://env',
      token: 't',
    });
  });

  it('is "not logged in" (exit 2) without a URL or a token', () => {
    for (const [env, cfg] of [
      [{}, null],
      [{ ATOLL_URL: 'http://env' }, null],
      [{ ATOLL_TOKEN: 't' }, null],
    ] as const) {
      let err: unknown;
      try {
        resolveConnection({}, env, cfg);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).exitCode).toBe(EXIT_NOT_LOGGED_IN);
    }
  });
});

describe('clusterFetch', () => {
  const answering = (status: number, body: string, type = 'application/json') =>
    clusterFetch('http://c', () =>
      Promise.resolve(new Response(body, { status, headers: { 'content-type': type } })),
    );

  it('passes tRPC answers through, errors included', async () => {
    const res = await answering(
      401,
      '[{"error":{"code":-32001,"message":"invalid username or password"}}]',
    )('http://c/api/trpc/auth.login');
    expect(res.status).toBe(401);
  });

  it('turns the gateway’s own 401 into "not logged in"', async () => {
    const err = await answering(
      401,
      '{"message":"authentication required","code":"UNAUTHORIZED"}',
    )('http://c/api/trpc/nodes.list').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT_NOT_LOGGED_IN);
    expect((err as CliError).message).toBe(
      'http://c rejected the API token: run `atoll cluster setup <url>` first',
    );
  });

  it('says when something else than control answers', async () => {
    const err = await answering(
      404,
      '<html></html>',
      'text/html; charset=utf-8',
    )('http://c/api/trpc/x').catch((e: unknown) => e);
    expect((err as CliError).message).toBe(
      'http://c did not answer like atoll-control (HTTP 404, text/html)',
    );
  });
});

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, httpHealthVerdict } from './http';

// A throwaway self-signed certificate (CN=atoll-test) for a local HTTPS server; the check must
// accept it, as Marathon's does.
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgKUOGdDsz2QHNuikP
bLyX7bGW021nsu6Ti5jjyYY1XVKhRANCAARSP13dq/7Bo4fMFLK1yTMWiOwoRycM
yh+uXfuvp5qwS55RIGXWdQ+XbKKHinvpSDz8alkjCa/8tofm/vqYBrTN
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBgDCCASegAwIBAgIUNLY5cKy39+RrIodvB1SZMya+X58wCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKYXRvbGwtdGVzdDAgFw0yNjExMjQyMDUzMjJaGA8yMTI2MTAz
MTIwNTMyMlowFTETMBEGA1UEAwwKYXRvbGwtdGVzdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABFI/Xd2r/sGjh8wUsrXJMxaI7ChHJwzKH65d+6+nmrBLnlEgZdZ1
D5dsooeKe+lIPPxqWSMJr/y2h+b++pgGtM2jUzBRMB0GA1UdDgQWBBRwoZZ8CqC6
ln5rKT9GWNE1avYeUDAfBgNVHSMEGDAWgBRwoZZ8CqC6ln5rKT9GWNE1avYeUDAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIGflVuMfZrzYlqlYEGI3
UxxFdhrHKWA19nXb/joA2ofXAiBCOkqeIdrgKabL5GvQ6UqbGC1IbmI2+M9PUY0N
iFTnRA==
-----END CERTIFICATE-----
`;

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/hang') return; // never answers
  if (url === '/processing') {
    res.writeProcessing(); // 102, then nothing
    return;
  }
  if (url === '/stream') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('first chunk, and the body never ends');
    return;
  }
  const m = /^\/status\/(\d{3})$/.exec(url);
  res.writeHead(m ? Number(m[1]) : url === '/health' ? 200 : 404);
  res.end(`${req.method} ${url}`);
}

function portOf(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return portOf(server);
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('httpGet against a real local server', () => {
  const server = http.createServer(handler);
  const tls = https.createServer({ key: TEST_KEY, cert: TEST_CERT }, handler);
  let port = 0;
  let tlsPort = 0;

  beforeAll(async () => {
    port = await listen(server);
    tlsPort = await listen(tls);
  });
  afterAll(async () => {
    await close(server);
    await close(tls);
  });

  it.each([
    { path: '/health', status: 200 },
    { path: 'health', status: 200 },
    { path: '/status/302', status: 302 },
    { path: '/status/404', status: 404 },
    { path: '/status/503', status: 503 },
    { path: '/missing', status: 404 },
  ])('GET $path answers $status', async ({ path, status }) => {
    expect(await httpGet({ scheme: 'http', port, path, timeoutMs: 2_000 })).toEqual({ ok: true, status });
  });

  it('resolves at the response head, without waiting for an endless body', async () => {
    expect(await httpGet({ scheme: 'http', port, path: '/stream', timeoutMs: 5_000 })).toEqual({
      ok: true,
      status: 200,
    });
  });

  it('fails when no response arrives within the timeout', async () => {
    const r = await httpGet({ scheme: 'http', port, path: '/hang', timeoutMs: 200 });
    expect(r).toMatchObject({ ok: false, error: expect.stringContaining('no response within 0.2 s') });
  });

  it('notes a 1xx that was not followed by a final response', async () => {
    const r = await httpGet({ scheme: 'http', port, path: '/processing', timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, informational: 102 });
  });

  it('fails on a refused connection', async () => {
    const closed = http.createServer();
    const freePort = await listen(closed);
    await close(closed);
    const r = await httpGet({ scheme: 'http', port: freePort, path: '/', timeoutMs: 2_000 });
    expect(r).toMatchObject({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('speaks HTTPS and ignores certificate errors (self-signed)', async () => {
    expect(await httpGet({ scheme: 'https', port: tlsPort, path: '/health', timeoutMs: 2_000 })).toEqual({
      ok: true,
      status: 200,
    });
    expect(await httpGet({ scheme: 'https', port: tlsPort, path: '/status/500', timeoutMs: 2_000 })).toEqual({
      ok: true,
      status: 500,
    });
  });
});

describe('httpHealthVerdict (Marathon: 200–399 healthy, 1xx ignored only with ignoreHttp1xx)', () => {
  it.each([
    { status: 200, ignore: false, want: 'healthy' },
    { status: 204, ignore: false, want: 'healthy' },
    { status: 301, ignore: false, want: 'healthy' },
    { status: 399, ignore: false, want: 'healthy' },
    { status: 400, ignore: false, want: 'unhealthy' },
    { status: 404, ignore: true, want: 'unhealthy' },
    { status: 500, ignore: false, want: 'unhealthy' },
    { status: 100, ignore: false, want: 'unhealthy' },
    { status: 102, ignore: true, want: 'ignored' },
    { status: 199, ignore: true, want: 'ignored' },
  ])('$status (ignoreHttp1xx $ignore) → $want', ({ status, ignore, want }) => {
    expect(httpHealthVerdict(status, ignore)).toBe(want);
  });
});

import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { healthCheckSpecSchema, readinessCheckSpecSchema, type HealthCheckSpec } from '@atoll/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecResult } from '../runtime/types';
import { createProbes } from './probes';

function check(overrides: Partial<HealthCheckSpec>): HealthCheckSpec {
  return healthCheckSpecSchema.parse({
    protocol: 'HTTP',
    gracePeriodSeconds: 0,
    intervalSeconds: 1,
    timeoutSeconds: 1,
    maxConsecutiveFailures: 3,
    ...overrides,
  });
}

describe('createProbes against real local servers', () => {
  const server = http.createServer((req, res) => {
    if (req.url === '/processing') {
      res.writeProcessing();
      return;
    }
    res.writeHead(req.url === '/health' ? 200 : req.url === '/ready' ? 204 : 404);
    res.end();
  });
  let port = 0;
  const commands: Array<{ command: string; timeoutMs: number }> = [];
  const probes = createProbes((command, timeoutMs): Promise<ExecResult> => {
    commands.push({ command, timeoutMs });
    return Promise.resolve({ exitCode: command === 'exit 1' ? 1 : 0, timedOut: false, output: '' });
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('HTTP and MESOS_HTTP: healthy on 2xx, unhealthy with the status otherwise', async () => {
    const target = { port, timeoutMs: 1_000 };
    expect(await probes.health(check({ path: '/health' }), target)).toEqual({ kind: 'healthy' });
    expect(await probes.health(check({ protocol: 'MESOS_HTTP', path: '/health' }), target)).toEqual({
      kind: 'healthy',
    });
    expect(await probes.health(check({ path: '/nope' }), target)).toEqual({
      kind: 'unhealthy',
      message: 'HTTP 404',
    });
  });

  it('discards a lone 1xx with ignoreHttp1xx, fails it without', async () => {
    const target = { port, timeoutMs: 300 };
    expect(await probes.health(check({ path: '/processing', ignoreHttp1xx: true }), target)).toMatchObject({
      kind: 'ignored',
    });
    expect(await probes.health(check({ path: '/processing' }), target)).toMatchObject({ kind: 'unhealthy' });
  });

  it('TCP and MESOS_TCP: a connection is healthy; without a port the check fails', async () => {
    const target = { port, timeoutMs: 1_000 };
    expect(await probes.health(check({ protocol: 'TCP' }), target)).toEqual({ kind: 'healthy' });
    expect(await probes.health(check({ protocol: 'MESOS_TCP' }), target)).toEqual({ kind: 'healthy' });
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(
      await probes.health(check({ protocol: 'TCP' }), { port: freePort, timeoutMs: 1_000 }),
    ).toMatchObject({
      kind: 'unhealthy',
    });
    expect(await probes.health(check({ protocol: 'TCP' }), { port: undefined, timeoutMs: 1_000 })).toEqual({
      kind: 'unhealthy',
      message: 'TCP health check has no port to probe',
    });
  });

  it('COMMAND: runs through the runtime with the timeout; exit 0 is healthy', async () => {
    const target = { port: undefined, timeoutMs: 1_500 };
    expect(await probes.health(check({ protocol: 'COMMAND', command: 'true' }), target)).toEqual({
      kind: 'healthy',
    });
    expect(await probes.health(check({ protocol: 'COMMAND', command: 'exit 1' }), target)).toEqual({
      kind: 'unhealthy',
      message: 'command exited with code 1',
    });
    expect(commands).toEqual([
      { command: 'true', timeoutMs: 1_500 },
      { command: 'exit 1', timeoutMs: 1_500 },
    ]);
  });

  it('readiness: ready iff the status is listed, with the last response', async () => {
    const rc = readinessCheckSpecSchema.parse({
      name: 'r',
      protocol: 'HTTP',
      path: '/ready',
      port,
      intervalSeconds: 1,
      timeoutSeconds: 1,
      httpStatusCodesForReady: [200],
    });
    const target = { port, timeoutMs: 1_000 };
    expect(await probes.readiness(rc, target)).toEqual({
      name: 'r',
      ready: false,
      lastResponse: { status: 204 },
    });
    expect(await probes.readiness({ ...rc, httpStatusCodesForReady: [200, 204] }, target)).toEqual({
      name: 'r',
      ready: true,
      lastResponse: { status: 204 },
    });
  });
});

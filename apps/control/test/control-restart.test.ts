import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@atoll/db/testing';
import Docker from 'dockerode';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/embedded-postgres';
import { spawnLocalAgent, type LocalAgent } from '../src/local-agent';
import { restClient, skipWithoutDocker, TEST_IMAGE, until, spawnControl } from './support';

const IMAGE = TEST_IMAGE;
const skip = await skipWithoutDocker('control restart test');

/** Control as a real process, so it can be SIGKILLed; its state is all in PostgreSQL. */
describe.skipIf(skip)('control killed with SIGKILL mid-deployment', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let port: number;
  let control: ChildProcess | null = null;
  let agent: LocalAgent | null = null;
  let stateDir: string;
  let token: string;
  const password = 'restart-test-password';
  const url = () => `http://127.0.0.1:${port}`;

  const startControl = async () => {
    control = await spawnControl({ databaseUrl: database.url, port, adminPassword: password });
  };
  const api = restClient(url, () => token);

  beforeAll(async () => {
    database = await createTestDatabase();
    port = await freePort();
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'atoll-agent-'));
    await startControl();
    const login = await fetch(`${url()}/acs/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uid: 'admin', password }),
    });
    token = ((await login.json()) as { token: string }).token;
    const join = await api<{ token: string }>('POST', '/api/v1/nodes/join-tokens', { singleUse: false });
    agent = spawnLocalAgent({
      controlUrl: url(),
      joinToken: join.token,
      stateDir,
      log: pino({ level: 'silent' }),
      env: { ATOLL_RUNTIME: 'docker', ATOLL_PORT_RANGE: '24000-24999', ATOLL_LOG_LEVEL: 'warn' },
    });
    await until(
      'the node',
      () => api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
      (n) => n[0]?.connected === true,
    );
  });

  afterAll(async () => {
    await api('DELETE', '/v2/apps/restart/web?force=true').catch(() => undefined);
    await until(
      'the app to be gone',
      async () =>
        (await fetch(`${url()}/v2/apps/restart/web`, { headers: { authorization: `Bearer ${token}` } }))
          .status,
      (s) => s === 404,
      30_000,
    ).catch(() => undefined);
    await agent?.stop();
    control?.kill('SIGKILL');
    const docker = new Docker();
    const left = await docker.listContainers({
      all: true,
      filters: { label: ['io.atoll.app-id=/restart/web'] },
    });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    await database?.drop();
    await rm(stateDir, { recursive: true, force: true });
  });

  const web = (body: string) => ({
    id: '/restart/web',
    instances: 3,
    cpus: 0.05,
    mem: 16,
    cmd: `mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p 8080 -h /www`,
    container: {
      type: 'DOCKER',
      docker: { image: IMAGE },
      portMappings: [{ containerPort: 8080, hostPort: 0 }],
    },
    networks: [{ mode: 'container/bridge' }],
    healthChecks: [
      {
        protocol: 'HTTP',
        path: '/',
        portIndex: 0,
        gracePeriodSeconds: 10,
        intervalSeconds: 1,
        timeoutSeconds: 1,
        maxConsecutiveFailures: 3,
        delaySeconds: 0,
      },
    ],
    // One new task at a time: a deployment long enough to interrupt.
    upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.34 },
  });

  it('finishes the deployment after a restart', async () => {
    await api('POST', '/v2/apps', web('v1'));
    await until(
      'the first deployment',
      () => api<unknown[]>('GET', '/v2/deployments'),
      (d) => d.length === 0,
    );
    await api('PUT', '/v2/apps/restart/web', web('v2'));
    await until(
      'the deployment to be under way',
      () => api<Array<{ progress: Array<{ updated: number; old: number }> }>>('GET', '/api/v1/deployments'),
      (d) => (d[0]?.progress[0]?.updated ?? 0) >= 1 && (d[0]?.progress[0]?.old ?? 0) >= 1,
    );
    control!.kill('SIGKILL');
    await new Promise<void>((r) => control!.once('exit', () => r()));
    await startControl();
    await until(
      'the deployment to finish',
      () => api<unknown[]>('GET', '/v2/deployments'),
      (d) => d.length === 0,
    );
    const { tasks } = await api<{ tasks: Array<{ state: string; ports: number[] }> }>(
      'GET',
      '/v2/apps/restart/web/tasks',
    );
    expect(tasks).toHaveLength(3);
    for (const t of tasks) {
      const body = await (
        await fetch(`http://127.0.0.1:${t.ports[0]}/`, { signal: AbortSignal.timeout(5000) })
      ).text();
      expect(body.trim()).toBe('v2');
    }
  });
});

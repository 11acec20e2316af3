import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../src/runtime/docker';
import type { TaskExit } from '../src/runtime/types';
import {
  countNodeContainers,
  DOCKER_SOCKET,
  dockerForTests,
  eventually,
  httpStatus,
  removeNodeContainers,
} from './docker-support';
import { makeTaskSpec } from './factories';

const available = await dockerForTests('docker runtime integration tests');
const logger = pino({ level: process.env.ATOLL_TEST_LOG_LEVEL ?? 'silent' });
const nodeId = `test-node-${randomUUID()}`;

describe.skipIf(!available)('DockerRuntime against the real Docker Engine', () => {
  const runtimes: DockerRuntime[] = [];
  function newRuntime(): DockerRuntime {
    // A long poll interval: exits must come from the event stream, not the poll fallback.
    const r = new DockerRuntime({ logger, socketPath: DOCKER_SOCKET, pollIntervalMs: 600_000 });
    runtimes.push(r);
    return r;
  }

  let first: DockerRuntime;
  const firstExits: TaskExit[] = [];

  beforeAll(async () => {
    first = newRuntime();
    await first.attach(nodeId);
    first.onExit((e) => firstExits.push(e));
  });

  afterAll(async () => {
    await Promise.all(runtimes.map((r) => r.close()));
    await removeNodeContainers(nodeId);
    expect(await countNodeContainers(nodeId)).toBe(0);
  });

  it('runs httpd on a published port, finds it again after a restart and kills it', async () => {
    const spec = makeTaskSpec({
      cmd: 'httpd -f -p 8080',
      ports: [{ hostPort: 0, containerPort: 8080, protocol: 'tcp', name: 'http' }],
      labels: { team: 'test' },
      killGracePeriodSeconds: 1,
    });
    const launched = await first.launch(spec, nodeId);
    const hostPort = launched.ports[0]?.hostPort ?? 0;
    expect(hostPort).toBeGreaterThan(0);
    expect(launched.ports[0]).toMatchObject({ containerPort: 8080, protocol: 'tcp', name: 'http' });

    // busybox httpd answers (404 for a missing index is fine).
    const status = await eventually(() => httpStatus(hostPort), 30_000, 'httpd to answer');
    expect([200, 404]).toContain(status);

    const listed = (await first.list()).find((t) => t.taskId === spec.taskId);
    expect(listed).toMatchObject({ state: 'TASK_RUNNING', runtimeId: launched.runtimeId, appId: spec.appId });
    expect(listed?.ports?.[0]).toMatchObject({ hostPort, containerPort: 8080, name: 'http' });

    // A second instance is what a restarted agent sees: it finds the container by its labels.
    const second = newRuntime();
    await second.attach(nodeId);
    const exits: TaskExit[] = [];
    second.onExit((e) => exits.push(e));
    const found = (await second.list()).find((t) => t.taskId === spec.taskId);
    expect(found).toMatchObject({ state: 'TASK_RUNNING', runtimeId: launched.runtimeId });
    expect(found?.ports?.[0]?.hostPort).toBe(hostPort);

    await second.kill(spec.taskId, 1);
    expect(exits).toEqual([expect.objectContaining({ taskId: spec.taskId, killed: true })]);
    expect((await second.list()).find((t) => t.taskId === spec.taskId)).toMatchObject({
      state: 'TASK_KILLED',
    });

    // Killing again, or killing what does not exist, does nothing.
    await second.kill(spec.taskId, 1);
    await second.kill('no-such-task', 1);

    // The stopped container stays (its logs remain readable) until removed.
    expect((await first.list()).some((t) => t.taskId === spec.taskId)).toBe(true);
    await second.remove(spec.taskId);
    expect((await first.list()).some((t) => t.taskId === spec.taskId)).toBe(false);
  });

  it.each([
    { name: 'exit 0 finishes', cmd: 'sleep 1; exit 0', exitCode: 0, state: 'TASK_FINISHED' },
    { name: 'exit 3 fails', cmd: 'sleep 1; exit 3', exitCode: 3, state: 'TASK_FAILED' },
  ])('reports exits promptly from Docker events: $name', async ({ cmd, exitCode, state }) => {
    const spec = makeTaskSpec({ cmd });
    await first.launch(spec, nodeId);
    const exit = await eventually(
      () => firstExits.find((e) => e.taskId === spec.taskId),
      10_000,
      'the exit event',
    );
    expect(exit).toMatchObject({ exitCode, killed: false });
    expect((await first.list()).find((t) => t.taskId === spec.taskId)).toMatchObject({ state, exitCode });
  });

  it('runs args with the image entrypoint and passes env', async () => {
    const spec = makeTaskSpec({
      cmd: undefined,
      args: ['sh', '-c', 'test "$GREETING" = hello'],
      env: { GREETING: 'hello' },
    });
    await first.launch(spec, nodeId);
    const exit = await eventually(
      () => firstExits.find((e) => e.taskId === spec.taskId),
      10_000,
      'the exit event',
    );
    expect(exit.exitCode).toBe(0);
  });

  it('fails a launch whose port is taken, leaving no container', async () => {
    const holder = makeTaskSpec({
      cmd: 'httpd -f -p 8080',
      ports: [{ hostPort: 0, containerPort: 8080, protocol: 'tcp' }],
    });
    const held = await first.launch(holder, nodeId);
    const port = held.ports[0]?.hostPort ?? 0;
    const clash = makeTaskSpec({
      cmd: 'httpd -f -p 8080',
      ports: [{ hostPort: port, containerPort: 8080, protocol: 'tcp' }],
    });
    await expect(first.launch(clash, nodeId)).rejects.toThrow(/starting the container failed/);
    expect((await first.list()).some((t) => t.taskId === clash.taskId)).toBe(false);
    await first.kill(holder.taskId, 0);
  });

  it('runs commands inside the container with its env: exit codes, output, timeouts', async () => {
    const spec = makeTaskSpec({ env: { GREETING: 'hello' } });
    await first.launch(spec, nodeId);
    expect(await first.exec(spec.taskId, 'test "$GREETING" = hello', { timeoutMs: 10_000 })).toEqual({
      exitCode: 0,
      timedOut: false,
      output: '',
    });
    const failed = await first.exec(spec.taskId, 'echo out; echo err >&2; exit 3', { timeoutMs: 10_000 });
    expect(failed).toMatchObject({ exitCode: 3, timedOut: false });
    expect(failed.output).toContain('out\n');
    expect(failed.output).toContain('err\n');
    expect(await first.exec(spec.taskId, 'sleep 30', { timeoutMs: 300 })).toMatchObject({
      exitCode: undefined,
      timedOut: true,
    });
    await first.kill(spec.taskId, 0);
    await expect(first.exec(spec.taskId, 'true', { timeoutMs: 5_000 })).rejects.toThrow(/docker exec failed/);
    await expect(first.exec('no-such-task', 'true', { timeoutMs: 5_000 })).rejects.toThrow(/no container/);
  });

  it('persists the checks in a label and reads them back', async () => {
    const healthChecks = [
      {
        protocol: 'COMMAND' as const,
        path: '/',
        command: 'true',
        gracePeriodSeconds: 5,
        intervalSeconds: 1,
        timeoutSeconds: 1,
        maxConsecutiveFailures: 3,
        delaySeconds: 0,
        ignoreHttp1xx: false,
      },
    ];
    const spec = makeTaskSpec({ healthChecks, killGracePeriodSeconds: 2 });
    await first.launch(spec, nodeId);
    const second = newRuntime();
    await second.attach(nodeId);
    expect((await second.list()).find((t) => t.taskId === spec.taskId)).toMatchObject({
      state: 'TASK_RUNNING',
      checks: { healthChecks, readinessChecks: [], killGracePeriodSeconds: 2 },
    });
    await first.kill(spec.taskId, 0);
  });

  it('leaves the containers of another node on the same Docker Engine alone', async () => {
    const otherNode = `test-node-${randomUUID()}`;
    const other = newRuntime();
    await other.attach(otherNode);
    try {
      const spec = makeTaskSpec();
      await first.launch(spec, nodeId);
      expect((await other.list()).some((t) => t.taskId === spec.taskId)).toBe(false);
      await other.kill(spec.taskId, 0);
      await other.remove(spec.taskId);
      await expect(other.exec(spec.taskId, 'true', { timeoutMs: 5_000 })).rejects.toThrow(/no container/);
      expect((await first.list()).find((t) => t.taskId === spec.taskId)).toMatchObject({
        state: 'TASK_RUNNING',
      });
      await first.kill(spec.taskId, 0);
    } finally {
      await removeNodeContainers(otherNode);
    }
  });

  it('fails fast with a clear message when a missing image cannot be pulled', async () => {
    const image = `atoll-missing-${randomUUID().slice(0, 8)}:never`;
    await expect(first.launch(makeTaskSpec({ image }), nodeId)).rejects.toThrow(
      new RegExp(`^image ${image} not found and no registry reachable: .+`),
    );
  });

  it('bounds a pull from a registry that never answers', async () => {
    // A "registry" that accepts connections and says nothing: without a bound the pull would hang.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const runtime = new DockerRuntime({ logger, socketPath: DOCKER_SOCKET, pullTimeoutMs: 1_000 });
    runtimes.push(runtime);
    await runtime.attach(nodeId);
    try {
      const image = `127.0.0.1:${port}/atoll/never:1`;
      const spec = makeTaskSpec({ image });
      await expect(runtime.launch(spec, nodeId)).rejects.toThrow(
        `image ${image} not found and no registry reachable: the pull did not finish within 1 s`,
      );
      expect((await runtime.list()).some((t) => t.taskId === spec.taskId)).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('refuses a second launch of the same task id', async () => {
    const spec = makeTaskSpec();
    await first.launch(spec, nodeId);
    await expect(first.launch(spec, nodeId)).rejects.toThrow(/already exists/);
    await first.kill(spec.taskId, 0);
  });
});

import { randomUUID } from 'node:crypto';
import { containerLabels, type TaskSpec } from '@atoll/spec';
import Docker from 'dockerode';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../src/runtime/docker';
import { podContainerName, podVolumeName } from '../src/runtime/docker-options';
import type { TaskExit } from '../src/runtime/types';
import {
  countNodeContainers,
  DOCKER_SOCKET,
  dockerForTests,
  eventually,
  httpStatus,
  removeNodeContainers,
  TEST_IMAGE,
} from './docker-support';
import { makeTaskSpec } from './factories';

const available = await dockerForTests('docker pod integration tests');
const logger = pino({ level: process.env.ATOLL_TEST_LOG_LEVEL ?? 'silent' });
const nodeId = `test-node-${randomUUID()}`;
const docker = new Docker({ socketPath: DOCKER_SOCKET });

async function nodeVolumes(): Promise<string[]> {
  const res = await docker.listVolumes({ filters: { label: [`${containerLabels.nodeId}=${nodeId}`] } });
  return (res.Volumes ?? []).map((v) => v.Name);
}

/** ct1 writes the time into the shared volume every second; ct2 reads it and serves it on 8080. */
function podSpec(ct2Cmd?: string): TaskSpec {
  return makeTaskSpec({
    image: undefined,
    cmd: undefined,
    ports: [{ hostPort: 0, containerPort: 8080, protocol: 'tcp', name: 'http' }],
    env: { WHO: 'task', SHARED: 'task' },
    killGracePeriodSeconds: 1,
    volumes: [{ name: 'shared' }],
    containers: [
      {
        name: 'ct1',
        image: TEST_IMAGE,
        cmd: 'while true; do date > ./shared/clock; sleep 1; done',
        env: { WHO: 'ct1' },
        cpus: 0.1,
        mem: 32,
        volumeMounts: [{ name: 'shared', mountPath: './shared', readOnly: false }],
      },
      {
        name: 'ct2',
        image: TEST_IMAGE,
        cmd:
          ct2Cmd ??
          'httpd -p 8080 -h /mnt/mesos/sandbox/shared; while true; do cat shared/clock > /dev/null; sleep 1; done',
        env: { WHO: 'ct2' },
        cpus: 0.1,
        mem: 32,
        volumeMounts: [{ name: 'shared', mountPath: 'shared', readOnly: false }],
      },
    ],
  });
}

async function running(name: string): Promise<boolean> {
  return (await docker.getContainer(name).inspect()).State.Running;
}

describe.skipIf(!available)('DockerRuntime pod instances against the real Docker Engine', () => {
  const runtimes: DockerRuntime[] = [];
  function newRuntime(): DockerRuntime {
    // A long poll interval: exits must come from the event stream, not the poll fallback.
    const r = new DockerRuntime({ logger, socketPath: DOCKER_SOCKET, pollIntervalMs: 600_000 });
    runtimes.push(r);
    return r;
  }
  let runtime: DockerRuntime;
  const exits: TaskExit[] = [];

  beforeAll(async () => {
    runtime = newRuntime();
    await runtime.attach(nodeId);
    runtime.onExit((e) => exits.push(e));
  });

  afterAll(async () => {
    await Promise.all(runtimes.map((r) => r.close()));
    await removeNodeContainers(nodeId);
    await Promise.all(
      (await nodeVolumes()).map((name) =>
        docker
          .getVolume(name)
          .remove()
          .catch(() => undefined),
      ),
    );
    expect(await countNodeContainers(nodeId)).toBe(0);
    expect(await nodeVolumes()).toEqual([]);
  });

  it('shares volume and network, is one task after a restart, and ends as a whole when one container dies', async () => {
    const spec = podSpec();
    const launched = await runtime.launch(spec, nodeId);
    const hostPort = launched.ports[0]?.hostPort ?? 0;
    expect(hostPort).toBeGreaterThan(0);

    // ct2's httpd answers on the instance's port: the containers share ct1's network namespace.
    const status = await eventually(() => httpStatus(hostPort), 30_000, 'httpd in ct2 to answer');
    expect([200, 404]).toContain(status);
    // ct2 serves the file ct1 writes into the shared ephemeral volume.
    const clock = await eventually(
      async () => {
        const res = await fetch(`http://127.0.0.1:${hostPort}/clock`, { signal: AbortSignal.timeout(2_000) });
        const text = await res.text();
        return res.status === 200 && text.trim() !== '' ? text : undefined;
      },
      30_000,
      'the clock file written by ct1',
    );
    expect(clock.trim()).not.toBe('');

    const ct1 = await docker.getContainer(podContainerName(spec.taskId, 'ct1')).inspect();
    const ct2 = await docker.getContainer(podContainerName(spec.taskId, 'ct2')).inspect();
    expect(ct1.Id).toBe(launched.runtimeId);
    expect(ct2.HostConfig.NetworkMode).toBe(`container:${ct1.Id}`);
    expect(ct1.Config.Env).toContain('WHO=ct1');
    expect(ct2.Config.Env).toEqual(expect.arrayContaining(['WHO=ct2', 'SHARED=task']));
    expect(await nodeVolumes()).toEqual([podVolumeName(spec.taskId, 'shared')]);

    // A restarted agent sees one task.
    const second = newRuntime();
    await second.attach(nodeId);
    const found = (await second.list()).filter((t) => t.taskId === spec.taskId);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ state: 'TASK_RUNNING', runtimeId: ct1.Id, appId: spec.appId });
    expect(found[0]?.ports?.[0]?.hostPort).toBe(hostPort);

    // ct2 dies behind the runtime's back: the whole instance ends, reported once.
    await docker.getContainer(ct2.Id).kill();
    const exit = await eventually(
      () => exits.find((e) => e.taskId === spec.taskId),
      30_000,
      'the pod instance to exit',
    );
    expect(exit).toMatchObject({ exitCode: 137, killed: false });
    expect(exit.message).toContain('container ct2 exited with 137');
    expect(await running(ct1.Id)).toBe(false);
    const listed = (await runtime.list()).filter((t) => t.taskId === spec.taskId);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ state: 'TASK_FAILED', exitCode: 137 });
    expect(exits.filter((e) => e.taskId === spec.taskId)).toHaveLength(1);

    await runtime.remove(spec.taskId);
    expect(await countNodeContainers(nodeId)).toBe(0);
    expect(await nodeVolumes()).toEqual([]);
  });

  it('reports a failing container by name with its exit code', async () => {
    const spec = podSpec('sleep 1; exit 3');
    await runtime.launch(spec, nodeId);
    const exit = await eventually(
      () => exits.find((e) => e.taskId === spec.taskId),
      30_000,
      'the pod instance to exit',
    );
    expect(exit).toMatchObject({ exitCode: 3, killed: false });
    expect(exit.message).toContain('container ct2 exited with 3');
    expect(await running(podContainerName(spec.taskId, 'ct1'))).toBe(false);
    await runtime.remove(spec.taskId);
    expect(await countNodeContainers(nodeId)).toBe(0);
  });

  it('kill() stops all containers and remove() leaves no container and no volume', async () => {
    const spec = podSpec();
    await runtime.launch(spec, nodeId);
    await runtime.kill(spec.taskId, 1);
    expect(await running(podContainerName(spec.taskId, 'ct1'))).toBe(false);
    expect(await running(podContainerName(spec.taskId, 'ct2'))).toBe(false);
    expect(exits.filter((e) => e.taskId === spec.taskId)).toEqual([
      expect.objectContaining({ taskId: spec.taskId, killed: true }),
    ]);
    const listed = (await runtime.list()).filter((t) => t.taskId === spec.taskId);
    expect(listed).toEqual([expect.objectContaining({ state: 'TASK_KILLED' })]);

    await runtime.remove(spec.taskId);
    expect(await countNodeContainers(nodeId)).toBe(0);
    expect(await nodeVolumes()).toEqual([]);
  });
});

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { containerLabels } from '@atoll/spec';
import Docker from 'dockerode';
import { probeDocker } from '../src/runtime/select';

export const DOCKER_SOCKET = '/var/run/docker.sock';
export const TEST_IMAGE = 'atoll-test-busybox:latest';

/**
 * Whether the Docker tests can run. Without a Docker Engine they are skipped loudly on a
 * developer machine; in CI (CI set) a missing engine fails the run instead.
 */
export async function dockerForTests(suite: string): Promise<boolean> {
  const probe = await probeDocker(DOCKER_SOCKET);
  if (probe.ok) {
    await ensureTestImage();
    return true;
  }
  if (process.env.CI)
    throw new Error(
      `${suite}: Docker Engine unreachable at ${DOCKER_SOCKET} (${probe.reason}); required in CI`,
    );
  console.warn(`\n⚠ SKIPPING ${suite}: no Docker Engine at ${DOCKER_SOCKET} (${probe.reason})\n`);
  return false;
}

/** Builds the test image from the host's busybox-static when it is missing (there is no registry). */
async function ensureTestImage(): Promise<void> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  try {
    await docker.getImage(TEST_IMAGE).inspect();
    return;
  } catch {
    // build it below
  }
  const busybox = ['/bin/busybox', '/usr/bin/busybox'];
  let source: string | undefined;
  for (const candidate of busybox) {
    if (
      await fs.stat(candidate).then(
        () => true,
        () => false,
      )
    )
      source = candidate;
  }
  if (!source)
    throw new Error(`${TEST_IMAGE} is missing and no busybox-static binary is installed to build it`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'atoll-busybox-'));
  try {
    await fs.copyFile(source, path.join(dir, 'busybox'));
    await fs.writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["/bin/sh"]\n',
    );
    const stream = await docker.buildImage(
      { context: dir, src: ['Dockerfile', 'busybox'] },
      { t: TEST_IMAGE },
    );
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
        const failed = err?.message ?? out.find((o) => o.error)?.error;
        if (failed) reject(new Error(failed));
        else resolve();
      });
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Removes every container a test made for `nodeId`. */
export async function removeNodeContainers(nodeId: string): Promise<void> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${containerLabels.nodeId}=${nodeId}`] },
  });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
}

export async function countNodeContainers(nodeId: string): Promise<number> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${containerLabels.nodeId}=${nodeId}`] },
  });
  return containers.length;
}

/** Polls `check` until it returns a value or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The HTTP status of GET / on a local port; each attempt is bounded (a half-ready proxy can hang). */
export async function httpStatus(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.status;
}

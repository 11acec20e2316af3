import { spawn, type ChildProcess } from 'node:child_process';
import Docker from 'dockerode';
import { spawnControlProcess } from '../src/spawn';
import type { TestCluster } from '../src/testing';

export const TEST_IMAGE = 'atoll-test-busybox:latest';

/**
 * Whether the Docker tests must be skipped: only outside CI, and loudly. In CI a missing Docker
 * Engine or test image fails the file instead.
 */
export async function skipWithoutDocker(what: string): Promise<boolean> {
  try {
    await new Docker().getImage(TEST_IMAGE).inspect();
    return false;
  } catch {
    if (process.env.CI)
      throw new Error(`Docker Engine or ${TEST_IMAGE} missing in CI (run scripts/test-image.sh)`);
    console.warn(
      `\n!!! SKIPPING ${what}: no Docker Engine or no ${TEST_IMAGE} (scripts/test-image.sh builds it)\n`,
    );
    return true;
  }
}

/** Polls `get` until `check` holds; fails with the last value seen. Bounded: no test waits forever. */
export async function until<T>(
  what: string,
  get: () => Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (check(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A JSON client for control's REST APIs with a bearer token; throws on non-2xx with the body. */
export function restClient(baseUrl: () => string, token: () => string) {
  return async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(baseUrl() + p, {
      method,
      headers: {
        authorization: `Bearer ${token()}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return (text ? JSON.parse(text) : null) as T;
  };
}

/**
 * Debian's Python 3, where Debian's packages of the real third-party clients are installed
 * (python3-marathon, python3-dcos: `.ci/run` installs them); a pyenv `python3` earlier on PATH
 * would not see them.
 */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * Whether tests of a Python client must be skipped because Debian's Python cannot import
 * `modules`: outside CI only, loudly; in CI the file fails instead.
 */
export async function skipWithoutPython(modules: string[], what: string): Promise<boolean> {
  const r = await runPython(`import ${modules.join(', ')}`, {}, 30_000).catch((err: Error) => ({
    code: -1,
    stdout: '',
    stderr: err.message,
  }));
  if (r.code === 0) return false;
  const why = `${DEBIAN_PYTHON} cannot import ${modules.join(', ')}: ${r.stderr.trim().split('\n').at(-1)}`;
  if (process.env.CI) throw new Error(`${why} (.ci/run installs the Debian packages)`);
  console.warn(`\n!!! SKIPPING ${what}: ${why}\n`);
  return true;
}

/**
 * Runs Python code (a script's text) with Debian's interpreter, with `env` added to the
 * environment; resolves with its exit code and output once it ends, killing it after `timeoutMs`.
 */
export function runPython(
  code: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(DEBIAN_PYTHON, ['-'], {
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, stdout, stderr });
    });
    child.stdin.end(code);
  });
}

/**
 * Control as a real process (so a test can SIGKILL it; its state is all in PostgreSQL), without a
 * local agent or console, resolved once `/health` answers. `env` adds to or overrides the settings.
 */
export async function spawnControl(opts: {
  databaseUrl: string;
  port: number;
  adminPassword: string;
  env?: Record<string, string>;
}): Promise<ChildProcess> {
  const child = spawnControlProcess({
    ...opts,
    env: { ATOLL_HEARTBEAT_INTERVAL_MS: '500', ATOLL_HEARTBEAT_TIMEOUT_MS: '3000', ...opts.env },
  });
  await until(
    'control to answer',
    async () => (await fetch(`http://127.0.0.1:${opts.port}/health`).catch(() => null))?.ok ?? false,
    (ok) => ok,
  );
  return child;
}

/** Waits until the cluster's one agent has joined and is connected. */
export async function agentJoined(cluster: TestCluster): Promise<void> {
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  await until(
    'the agent to join',
    () => api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
    (n) => n.length === 1 && n[0]!.connected,
  );
}

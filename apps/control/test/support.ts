import Docker from 'dockerode';

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

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VipProxy } from './proxy';

/** A real TCP server that answers every connection with its name, then closes. */
async function namedServer(name: string): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.end(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Connects to the proxy and reads until the server closes; null when the connection is reset. */
function fetchName(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.on('end', () => resolve(data));
    s.on('error', () => resolve(null));
  });
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(strategy: 'round-robin' | 'least-connections', names: string[], dead = 0) {
  const servers = await Promise.all(names.map((n) => namedServer(n)));
  for (const s of servers) cleanups.push(s.close);
  const backends = servers.map((s, i) => ({ taskId: names[i]!, host: '127.0.0.1', port: s.port }));
  for (let i = 0; i < dead; i++)
    backends.unshift({ taskId: `dead-${i}`, host: '127.0.0.1', port: await deadPort() });
  const proxy = new VipProxy('127.0.0.1', 0, { strategy, connectTimeoutMs: 1_000 });
  const port = await proxy.listen();
  cleanups.push(() => proxy.close());
  proxy.setBackends(backends);
  return { proxy, port, backends };
}

describe('VipProxy (real TCP servers on 127.0.0.1)', () => {
  it('round-robin spreads connections evenly and counts them', async () => {
    const { proxy, port } = await setup('round-robin', ['a', 'b', 'c']);
    const got: Array<string | null> = [];
    for (let i = 0; i < 30; i++) got.push(await fetchName(port));
    for (const n of ['a', 'b', 'c']) expect(got.filter((g) => g === n)).toHaveLength(10);
    const stats = proxy.stats();
    expect(stats.failed).toBe(0);
    expect(stats.backends.map((b) => b.totalConnections)).toEqual([10, 10, 10]);
    expect(stats.backends.every((b) => b.errors === 0)).toBe(true);
  });

  it('retries the next backend when one is dead: no connection fails', async () => {
    const { proxy, port } = await setup('round-robin', ['a', 'b'], 1);
    const got: Array<string | null> = [];
    for (let i = 0; i < 12; i++) got.push(await fetchName(port));
    expect(got.every((g) => g === 'a' || g === 'b')).toBe(true);
    const stats = proxy.stats();
    const dead = stats.backends.find((b) => b.taskId === 'dead-0')!;
    expect(dead.totalConnections).toBe(0);
    // The first failure puts it last for a while: one retry, not one per round.
    expect(dead.errors).toBeGreaterThanOrEqual(1);
    expect(dead.errors).toBeLessThan(4);
    expect(stats.failed).toBe(0);
  });

  it('resets the client when no backend accepts', async () => {
    const { proxy, port } = await setup('round-robin', [], 2);
    expect(await fetchName(port)).toBeNull();
    expect(proxy.stats().failed).toBe(1);
    expect(proxy.stats().backends.map((b) => b.errors)).toEqual([1, 1]);
  });

  it('least-connections sends new connections to the idle backend', async () => {
    // Backend "slow" holds its connections open; "fast" answers and closes.
    const held: net.Socket[] = [];
    const slow = net.createServer((s) => held.push(s));
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of held) s.destroy();
          slow.close(() => r());
        }),
    );
    const fast = await namedServer('fast');
    cleanups.push(fast.close);
    const proxy = new VipProxy('127.0.0.1', 0, { strategy: 'least-connections' });
    const port = await proxy.listen();
    cleanups.push(() => proxy.close());
    proxy.setBackends([
      { taskId: 'slow', host: '127.0.0.1', port: (slow.address() as net.AddressInfo).port },
      { taskId: 'fast', host: '127.0.0.1', port: fast.port },
    ]);
    const open = net.connect({ host: '127.0.0.1', port });
    cleanups.push(async () => void open.destroy());
    await new Promise((r) => open.once('connect', r));
    const activeOf = (taskId: string) =>
      proxy.stats().backends.find((b) => b.taskId === taskId)?.activeConnections ?? 0;
    const settle = async (taskId: string, n: number) => {
      while (activeOf(taskId) !== n) await new Promise((r) => setTimeout(r, 5));
    };
    await settle('slow', 1);
    const got: Array<string | null> = [];
    for (let i = 0; i < 10; i++) {
      got.push(await fetchName(port));
      // The client may see the end before the proxy's upstream socket closes.
      await settle('fast', 0);
    }
    expect(got).toEqual(Array(10).fill('fast'));
    const stats = proxy.stats();
    expect(stats.backends.find((b) => b.taskId === 'slow')).toMatchObject({
      activeConnections: 1,
      totalConnections: 1,
    });
    expect(stats.backends.find((b) => b.taskId === 'fast')).toMatchObject({
      activeConnections: 0,
      totalConnections: 10,
    });
  });

  it('keeps counters of backends that stay and forgets removed ones once idle', async () => {
    const { proxy, port, backends } = await setup('round-robin', ['a', 'b']);
    for (let i = 0; i < 4; i++) await fetchName(port);
    proxy.setBackends([backends[1]!]);
    expect(proxy.stats().backends).toEqual([expect.objectContaining({ taskId: 'b', totalConnections: 2 })]);
    expect(await fetchName(port)).toBe('b');
  });

  it('carries data both ways and half-closes (an echo through the proxy)', async () => {
    const echo = net.createServer({ allowHalfOpen: true }, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('end', () => s.end(Buffer.concat(chunks).toString().toUpperCase()));
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => echo.close(() => r())));
    const proxy = new VipProxy('127.0.0.1', 0, { strategy: 'round-robin' });
    const port = await proxy.listen();
    cleanups.push(() => proxy.close());
    proxy.setBackends([
      { taskId: 'echo', host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port },
    ]);
    const big = 'x'.repeat(1 << 20);
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      let data = '';
      s.on('data', (d: Buffer) => (data += d.toString()));
      s.on('end', () => resolve(data));
      s.on('error', reject);
      s.end(big);
    });
    expect(answer.length).toBe(big.length);
    expect(answer.startsWith('XXX')).toBe(true);
  });
});

import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { tcpConnect } from './tcp';

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('tcpConnect against a real local listener', () => {
  it('succeeds when the port accepts connections, and closes its connection', async () => {
    const seen: net.Socket[] = [];
    const server = net.createServer((s) => seen.push(s));
    const port = await listen(server);
    try {
      expect(await tcpConnect(port, 2_000)).toEqual({ ok: true });
      // The probe does not keep the connection: the server sees it end.
      const socket = seen[0];
      if (socket && !socket.closed) await new Promise((resolve) => socket.once('close', resolve));
      expect(seen).toHaveLength(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('fails when nothing listens', async () => {
    const server = net.createServer();
    const port = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await tcpConnect(port, 2_000)).toMatchObject({
      ok: false,
      error: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

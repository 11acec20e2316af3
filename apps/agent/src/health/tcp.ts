import net from 'node:net';
import { formatSeconds } from './http';

export type TcpProbeResult = { ok: true } | { ok: false; error: string };

/** Whether a TCP connection to `host:port` opens within `timeoutMs`; closed again at once. Never rejects. */
export function tcpConnect(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<TcpProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (r: TcpProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `no connection within ${formatSeconds(timeoutMs)}` }),
      timeoutMs,
    );
    timer.unref();
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, error: err.code ? `${err.code}: ${err.message}` : err.message }),
    );
  });
}

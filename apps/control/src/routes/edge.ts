import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { serviceRoutesService } from '@atoll/api';
import type { ServiceProxy } from './service-proxy';

const { normalizeHost } = serviceRoutesService;

export interface EdgeServer {
  /** The port it listens on (the one the OS chose when asked for 0). */
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * The edge port: marathon-lb's host-based routing. A request whose Host header is one of an app's
 * `HAPROXY_0_VHOST` names goes to that app's tasks at port index 0 (round-robin over running,
 * healthy tasks). No login, as marathon-lb had none: it is the public entry of the services that
 * ask for it. Unknown host → 404; no task → 503; upstream failure → 502.
 */
export async function startEdgeServer(
  proxy: ServiceProxy,
  opts: { bind: string; port: number },
): Promise<EdgeServer> {
  const lookup = async (req: IncomingMessage) => {
    const host = normalizeHost(req.headers.host);
    const route = (await proxy.routes.get()).byHost.get(host);
    if (!route) return { status: 404, message: `no service answers for host ${host || '(none)'}` } as const;
    const endpoint = proxy.routes.pick(`${route.appId} vhost`, route.vhostEndpoints);
    if (!endpoint) return { status: 503, message: `service ${route.appId} has no healthy task` } as const;
    return {
      status: 200,
      opts: {
        upstream: { scheme: route.scheme, host: endpoint.host, port: endpoint.port, taskId: endpoint.taskId },
        path: req.url ?? '/',
        service: route.appId,
        stripAuthorization: false,
      },
    } as const;
  };

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    lookup(req).then(
      (r) => {
        if (r.status !== 200) return answer(res, r.status, r.message);
        proxy.web(req, res, r.opts);
      },
      (err: unknown) =>
        answer(res, 500, `routing failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    lookup(req).then(
      (r) => {
        if (r.status !== 200) {
          socket.end(
            `HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(r.message)}\r\nconnection: close\r\n\r\n${r.message}`,
          );
          return;
        }
        proxy.ws(req, socket, head, r.opts);
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.bind === '0.0.0.0' || opts.bind === '::' ? '127.0.0.1' : opts.bind;
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

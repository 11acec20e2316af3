import net from 'node:net';
import type { VipBackend, VipBackendStats } from '@atoll/spec';
import { tryOrder, type BalanceStrategy } from './balancer';

export interface VipProxyOptions {
  strategy: BalanceStrategy;
  /** A backend that has not accepted by then counts as failed; the next one is tried. */
  connectTimeoutMs?: number;
  /** How long a backend that failed a connect is tried last. */
  downForMs?: number;
  /** Called on a failed backend connect (logging). */
  onBackendError?: (backend: VipBackend, err: Error) => void;
  now?: () => number;
}

interface BackendState extends VipBackend {
  key: string;
  active: number;
  total: number;
  errors: number;
  downUntilMs: number;
  /** Still in the view (a removed backend keeps its open connections until they end). */
  current: boolean;
}

const keyOf = (b: { taskId: string; host: string; port: number }) => `${b.taskId}@${b.host}:${b.port}`;

/**
 * One TCP VIP (`ip:port`) in userspace: accepts on the VIP address, picks a backend (round-robin or
 * least-connections), connects, and pipes both ways (half-closes carried). A connect that fails
 * (refused, timed out) counts as an error of that backend and the next backend is tried, so a task
 * that died but is still in the view costs a retry, not a failed connection; the client only sees a
 * reset when no backend accepts.
 */
export class VipProxy {
  private readonly server: net.Server;
  private readonly backends = new Map<string, BackendState>();
  private order: BackendState[] = [];
  private readonly sockets = new Set<net.Socket>();
  private cursor = 0;
  private failedCount = 0;
  private readonly now: () => number;
  private readonly connectTimeoutMs: number;
  private readonly downForMs: number;

  constructor(
    readonly ip: string,
    readonly port: number,
    private readonly opts: VipProxyOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2_000;
    this.downForMs = opts.downForMs ?? 2_000;
    this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (client) =>
      this.accept(client),
    );
  }

  /** Starts accepting (the address must be local: on `lo` for a VIP). Port 0 picks a free port (tests). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: this.ip, port: this.port, backlog: 1024 }, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : this.port);
      });
    });
  }

  /** Replaces the backends. Counters of backends that stay are kept. */
  setBackends(list: readonly VipBackend[]): void {
    const next = new Set(list.map(keyOf));
    for (const [key, b] of this.backends) {
      if (next.has(key)) continue;
      b.current = false;
      if (b.active === 0) this.backends.delete(key);
    }
    this.order = list.map((b) => {
      const key = keyOf(b);
      let state = this.backends.get(key);
      if (!state) {
        state = { ...b, key, active: 0, total: 0, errors: 0, downUntilMs: 0, current: true };
        this.backends.set(key, state);
      }
      state.current = true;
      return state;
    });
  }

  /** Counters of the backends in the view (and of removed ones with connections still open). */
  stats(): { failed: number; backends: VipBackendStats[] } {
    return {
      failed: this.failedCount,
      backends: [...this.backends.values()].map((b) => ({
        taskId: b.taskId,
        host: b.host,
        port: b.port,
        activeConnections: b.active,
        totalConnections: b.total,
        errors: b.errors,
      })),
    };
  }

  /** Stops accepting and ends every open connection. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    let clientGone = false;
    client.on('error', () => undefined);
    client.once('close', () => (clientGone = true));
    const candidates = tryOrder(this.order, this.opts.strategy, this.cursor++, this.now());
    if (this.cursor > Number.MAX_SAFE_INTEGER / 2) this.cursor = 0;
    const attempt = (i: number): void => {
      if (clientGone) return;
      const backend = candidates[i];
      if (!backend) {
        this.failedCount++;
        client.resetAndDestroy();
        return;
      }
      const upstream = net.connect({
        host: backend.host,
        port: backend.port,
        allowHalfOpen: true,
        noDelay: true,
      });
      this.track(upstream);
      let connected = false;
      const timer = setTimeout(() => upstream.destroy(new Error('connect timed out')), this.connectTimeoutMs);
      upstream.once('connect', () => {
        connected = true;
        clearTimeout(timer);
        if (clientGone) {
          upstream.destroy();
          return;
        }
        backend.total++;
        backend.active++;
        upstream.once('close', () => {
          backend.active--;
          if (!backend.current && backend.active === 0 && this.backends.get(backend.key) === backend)
            this.backends.delete(backend.key);
        });
        // Either side failing ends both; an orderly end (FIN) is passed on by pipe().
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.once('close', (hadError) => hadError && client.destroy());
        client.once('close', (hadError) => hadError && upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.once('error', (err) => {
        clearTimeout(timer);
        if (connected) return;
        backend.errors++;
        backend.downUntilMs = this.now() + this.downForMs;
        this.opts.onBackendError?.(backend, err);
        upstream.destroy();
        attempt(i + 1);
      });
    };
    attempt(0);
  }
}

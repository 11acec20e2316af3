import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  authService,
  ChangeBus,
  MetricsStore,
  ReconcileLoop,
  StreamRelay,
  type ClusterConfig,
  type Services,
} from '@atoll/api';
import { applyMigrations, createDb, type Db } from '@atoll/db';
import pino, { type Logger } from 'pino';
import type pg from 'pg';
import { AgentGateway } from './gateway/gateway';
import { buildServer, type NextRequestHandler } from './server';

export const ATOLL_VERSION = '0.1.0';

/** The leader lock: one replica runs the reconciler; all serve the API. */
const LEADER_LOCK_KEY = 0x61746f6c; // "atol"

export interface ControlOptions {
  databaseUrl: string;
  bind: string;
  port: number;
  clusterName: string;
  publicUrl?: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  console: boolean;
  log?: Logger;
  logLevel?: string;
  /** The first admin's password (ATOLL_ADMIN_PASSWORD); generated when absent. */
  adminPassword?: string;
}

export interface Control {
  url: string;
  services: Services;
  db: Db;
  /** The first admin, created before the server answered (the password only when generated here). */
  admin: { created: boolean; username: string; generatedPassword?: string };
  isLeader(): boolean;
  stop(): Promise<void>;
}

export const consoleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console');

async function loadConsole(log: Logger): Promise<NextRequestHandler | null> {
  if (!existsSync(path.join(consoleDir, '.next', 'BUILD_ID'))) {
    log.warn('the console is not built (run `npm run build`); serving the API only');
    return null;
  }
  const { default: next } = await import('next');
  // Next attaches its own 'upgrade' listener to the server of the first request it handles, and it
  // answers every WebSocket upgrade (ending the socket) — racing @fastify/websocket for /agent/v1
  // and the exec sockets. Give it a server that never listens instead.
  const nextApp = next({ dev: false, dir: consoleDir, quiet: true, httpServer: createServer() });
  await nextApp.prepare();
  const handle = nextApp.getRequestHandler();
  return (req, res) => handle(req, res);
}

export async function startControl(opts: ControlOptions): Promise<Control> {
  const log = opts.log ?? pino({ level: opts.logLevel ?? 'info', base: { service: 'atoll-control' } });
  await applyMigrations(opts.databaseUrl);
  const db = createDb(opts.databaseUrl);

  let loop: ReconcileLoop | null = null;
  const config: ClusterConfig = {
    clusterName: opts.clusterName,
    publicUrl: opts.publicUrl ?? `http://${opts.bind === '0.0.0.0' ? '127.0.0.1' : opts.bind}:${opts.port}`,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
    version: ATOLL_VERSION,
  };
  const services: Services = {
    db,
    bus: new ChangeBus(),
    log,
    config,
    agents: { send: () => false, isConnected: () => false },
    streams: new StreamRelay(() => services.agents),
    metrics: new MetricsStore(db, log),
    poke: () => loop?.poke(),
    now: () => new Date(),
  };
  services.metrics.start();
  const gateway = new AgentGateway(services);
  services.agents = gateway;

  // Before the server answers, so a login right after start never races the first admin.
  const admin = await authService.ensureFirstAdmin(services, opts.adminPassword);
  const consoleHandler = opts.console ? await loadConsole(log) : null;
  const server = await buildServer({ services, gateway, consoleHandler });
  await server.listen({ host: opts.bind, port: opts.port });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.bind === '0.0.0.0' || opts.bind === '::' ? '127.0.0.1' : opts.bind;
  const url = `http://${host}:${port}`;
  if (!opts.publicUrl) config.publicUrl = url;

  // Leader election through a session-scoped advisory lock on a dedicated connection: if this
  // process dies, PostgreSQL releases the lock and another replica takes over.
  let leaderClient: pg.PoolClient | null = null;
  let leader = false;
  let rollupTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tryLead = async () => {
    if (leader || stopped) return;
    try {
      leaderClient ??= await db.pool.connect();
      const { rows } = await leaderClient.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        LEADER_LOCK_KEY,
      ]);
      if (rows[0]?.ok && !stopped) {
        leader = true;
        log.info('elected leader: running the reconciler');
        loop = new ReconcileLoop(services);
        loop.start();
        // Metrics down-sampling and retention: the leader's job, once a minute.
        rollupTimer = setInterval(
          () =>
            void services.metrics
              .rollup(new Date())
              .catch((err: unknown) => log.error({ err }, 'metrics rollup failed')),
          60_000,
        );
        rollupTimer.unref();
      }
    } catch (err) {
      log.error({ err }, 'leader election failed');
    }
  };
  await tryLead();
  const electionTimer = setInterval(() => void tryLead(), 5000);

  return {
    url,
    services,
    db,
    admin,
    isLeader: () => leader,
    async stop() {
      stopped = true;
      clearInterval(electionTimer);
      await loop?.stop();
      clearInterval(rollupTimer);
      await gateway.close();
      await services.metrics.close();
      await server.close();
      leaderClient?.release(true);
      await db.close();
    },
  };
}

import { existsSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import os from 'node:os';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  authService,
  ChangeBus,
  DEFAULT_VIP_CIDR,
  DnsPublisher,
  MetricsStore,
  ReconcileLoop,
  LAUNCH_RESEND_MS,
  resendStagedLaunches,
  SecretKeyring,
  AuditLog,
  StreamRelay,
  VipPublisher,
  type ClusterConfig,
  type Services,
} from '@atoll/api';
import { applyMigrations, createDb, type Db } from '@atoll/db';
import { hostResolvers, startDnsServer, type DnsServer } from '@atoll/dns';
import pino, { type Logger } from 'pino';
import type pg from 'pg';
import { AgentGateway } from './gateway/gateway';
import { ReplicaCluster } from './replicas/cluster';
import { startEdgeServer, type EdgeServer } from './routes/edge';
import { ServiceProxy } from './routes/service-proxy';
import { buildServer, type Leadership, type NextRequestHandler } from './server';
import type { RouteRecord } from './access-hook';

export const ATOLL_VERSION = '0.1.0';

/** The leader lock: one replica runs the reconciler; all serve the API. */
const LEADER_LOCK_KEY = 0x61746f6c; // "atol"
/** The leader's lock connection is named `atoll-leader <public URL>`. */
const LEADER_APPLICATION_NAME = 'atoll-leader';

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
  /** The edge port (HAPROXY_0_VHOST routing, no login): a port (0: any free one), or off (null/absent). */
  edgePort?: number | null;
  /** Address of the edge port (default: `bind`). */
  edgeBind?: string;
  /** Control's DNS server for clients outside the cluster: a port (0: any free one) or off (null). */
  dnsPort?: number | null;
  dnsBind?: string;
  /** Atoll's own DNS suffix (`<app>.<group>.<suffix>`). */
  dnsSuffix?: string;
  /** The range named VIPs get their addresses from (default: ATOLL_VIP_CIDR, else 11.0.0.0/8). */
  vipCidr?: string;
  /** The secret store's keys (secret-keys.ts); absent: one random key for this process only. */
  secretKeys?: SecretKeyring;
  /** Days audit records are kept (ATOLL_AUDIT_RETENTION_DAYS); 0 or absent keeps them forever. */
  auditRetentionDays?: number;
  /** Whose X-Forwarded-For gives the client's address (ATOLL_TRUST_PROXY); off when absent. */
  trustProxy?: boolean | string[];
  /**
   * How other control replicas reach this one (ATOLL_INTERNAL_URL): relayed agent messages and
   * streams. Default: the address it listens on (loopback when it binds every address).
   */
  internalUrl?: string;
}

export interface Control {
  url: string;
  services: Services;
  db: Db;
  /** The first admin, created before the server answered (the password only when generated here). */
  admin: { created: boolean; username: string; generatedPassword?: string };
  isLeader(): boolean;
  /** This replica among the others: its id, and which replica holds each agent. */
  replicas: ReplicaCluster;
  /** The edge port's URL and port, or null when it is off. */
  edge: { url: string; port: number } | null;
  /** Control's DNS server (UDP and TCP on one port), or null when off. */
  dns: DnsServer | null;
  /** Every route of the HTTP server with its declared access (access-hook.ts), for the role walk. */
  routes: RouteRecord[];
  stop(): Promise<void>;
}

/**
 * Control's addresses for leader.mesos: its public URL's host when that is an IPv4 address;
 * otherwise (a name, or loopback) the host's first external IPv4 address, then loopback.
 */
function controlIps(publicUrl: string): string[] {
  const host = new URL(publicUrl).hostname;
  if (isIPv4(host) && !host.startsWith('127.')) return [host];
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  return [external?.address ?? (isIPv4(host) ? host : '127.0.0.1')];
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
    audit: new AuditLog(db, log, { retentionDays: opts.auditRetentionDays ?? 0 }),
    dns: undefined as unknown as DnsPublisher,
    vips: undefined as unknown as VipPublisher,
    secrets: opts.secretKeys ?? SecretKeyring.random('ephemeral'),
    poke: () => loop?.poke(),
    now: () => new Date(),
  };
  services.metrics.start();
  services.audit.start();
  services.dns = new DnsPublisher(services, {
    controlIps: () => controlIps(config.publicUrl),
    ...(opts.dnsSuffix ? { suffix: opts.dnsSuffix } : {}),
  });
  // Named VIPs: their names go into the DNS view (…l4lb.thisdcos.directory, ….vip).
  services.vips = new VipPublisher(services, {
    cidr: opts.vipCidr ?? process.env.ATOLL_VIP_CIDR ?? DEFAULT_VIP_CIDR,
    ...(opts.dnsSuffix ? { dnsSuffix: opts.dnsSuffix } : {}),
    onNamesChanged: () => services.dns.schedule(),
  });
  services.dns.vips = () => services.vips.dnsVips();
  const gateway = new AgentGateway(services);
  // Every agent reachable from every replica: through this replica's gateway, or over a link to
  // the replica that holds it (replicas/cluster.ts).
  const replicas = new ReplicaCluster(services, gateway);
  gateway.holder = replicas;
  services.agents = replicas;

  // Leader election through a session-scoped advisory lock on a dedicated connection: if this
  // process dies, PostgreSQL releases the lock and another replica takes over. The leader's
  // connection carries its public URL as application_name, so every replica can tell who leads.
  let leaderClient: pg.PoolClient | null = null;
  let leader = false;
  let rollupTimer: NodeJS.Timeout | undefined;
  let resendTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tryLead = async () => {
    if (leader || stopped) return;
    try {
      if (!leaderClient) {
        leaderClient = await db.pool.connect();
        // PostgreSQL keeps 63 bytes of it: a longer URL is left out rather than cut.
        const name = `${LEADER_APPLICATION_NAME} ${config.publicUrl}`;
        await leaderClient.query(`SELECT set_config('application_name', $1, false)`, [
          Buffer.byteLength(name) <= 63 ? name : LEADER_APPLICATION_NAME,
        ]);
      }
      const { rows } = await leaderClient.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        LEADER_LOCK_KEY,
      ]);
      if (rows[0]?.ok && !stopped) {
        leader = true;
        log.info('elected leader: running the reconciler');
        // Launches a previous leader staged but may not have delivered (relaunch.ts).
        void resendStagedLaunches(services, new Date()).catch((err: unknown) =>
          log.error({ err }, 'sending staged launches again failed'),
        );
        loop = new ReconcileLoop(services);
        loop.start();
        // A launch can still be lost after that: a replica link that closed with it on the wire,
        // an agent that dropped it. The agent answers a launch at once (TASK_STARTING), so a task
        // still STAGING after LAUNCH_RESEND_MS never reached it: send it again (agents ignore a
        // launch of a task they have), as kills are sent again (decide.ts KILL_RESEND_MS).
        resendTimer = setInterval(
          () =>
            void resendStagedLaunches(services, new Date(Date.now() - LAUNCH_RESEND_MS)).catch(
              (err: unknown) => log.error({ err }, 'sending staged launches again failed'),
            ),
          LAUNCH_RESEND_MS,
        );
        resendTimer.unref();
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
  const leadership: Leadership = {
    isLeader: () => leader,
    async leaderUrl() {
      const { rows } = await db.pool.query<{ name: string }>(
        `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1 AND l.database = (
           SELECT oid FROM pg_database WHERE datname = current_database())`,
        [LEADER_LOCK_KEY],
      );
      const name = rows[0]?.name ?? '';
      return name.startsWith(`${LEADER_APPLICATION_NAME} `)
        ? name.slice(LEADER_APPLICATION_NAME.length + 1)
        : leader
          ? config.publicUrl
          : null;
    },
    async abdicate() {
      if (!leader || !leaderClient) return false;
      leader = false;
      log.info('abdicating leadership: a new election follows');
      await loop?.stop();
      loop = null;
      clearInterval(rollupTimer);
      clearInterval(resendTimer);
      await leaderClient.query('SELECT pg_advisory_unlock($1)', [LEADER_LOCK_KEY]);
      // Stand again at the next election round, so another replica may win this one.
      return true;
    },
  };

  // Before the server answers, so a login right after start never races the first admin.
  const admin = await authService.ensureFirstAdmin(services, opts.adminPassword);
  const consoleHandler = opts.console ? await loadConsole(log) : null;
  let dns: DnsServer | null = null;
  const serviceProxy = new ServiceProxy(services);
  const server = await buildServer({
    services,
    gateway,
    consoleHandler,
    dnsPort: () => dns?.port ?? null,
    serviceProxy,
    ...(opts.trustProxy !== undefined ? { trustProxy: opts.trustProxy } : {}),
    leadership,
    replicas,
  });
  await server.listen({ host: opts.bind, port: opts.port });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.bind === '0.0.0.0' || opts.bind === '::' ? '127.0.0.1' : opts.bind;
  const url = `http://${host}:${port}`;
  if (!opts.publicUrl) config.publicUrl = url;
  await replicas.start(opts.internalUrl ?? url);
  let edge: EdgeServer | null = null;
  if (opts.edgePort !== undefined && opts.edgePort !== null) {
    edge = await startEdgeServer(serviceProxy, { bind: opts.edgeBind ?? opts.bind, port: opts.edgePort });
    log.info({ url: edge.url }, 'edge port answering (HAPROXY_0_VHOST routing)');
  }
  await services.vips.start();
  await services.dns.start();
  if (opts.dnsPort !== null) {
    const bindAddress = opts.dnsBind ?? (opts.bind === '::' ? '0.0.0.0' : opts.bind);
    try {
      dns = await startDnsServer({
        view: () => services.dns.view,
        upstreams: hostResolvers([bindAddress]),
        address: bindAddress,
        port: opts.dnsPort ?? 8053,
      });
      log.info({ address: dns.address, port: dns.port }, 'DNS server answering (UDP and TCP)');
    } catch (err) {
      log.error({ err }, 'the DNS server could not start; cluster names are served by the agents only');
    }
  }

  await tryLead();
  const electionTimer = setInterval(() => void tryLead(), 5000);

  return {
    url,
    services,
    db,
    admin,
    isLeader: () => leader,
    replicas,
    edge: edge ? { url: edge.url, port: edge.port } : null,
    dns,
    routes: server.accessRoutes,
    async stop() {
      stopped = true;
      await edge?.close();
      services.vips.close();
      services.dns.close();
      await dns?.close();
      clearInterval(electionTimer);
      await loop?.stop();
      clearInterval(rollupTimer);
      clearInterval(resendTimer);
      await gateway.close();
      await replicas.close();
      await services.metrics.close();
      await server.close();
      // After the server: the records of the last requests are written before the pool ends.
      await services.audit.close();
      leaderClient?.release(true);
      await db.close();
    },
  };
}

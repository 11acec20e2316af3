import type { Db } from '@atoll/db';
import type { Logger } from 'pino';
import type { ChangeBus } from './bus';
import type { AuditLog } from './services/audit';
import type { AgentDispatcher } from './services/agents';
import type { StreamRelay } from './services/agent-streams';
import type { DnsPublisher } from './services/dns';
import type { MetricsStore } from './services/metrics';
import type { SecretKeyring } from './services/secrets';
import type { VipPublisher } from './services/vips';

export interface AuthUser {
  id: string;
  username: string;
  /** viewer | operator | admin (services/access.ts). */
  role: string;
  /** The group path an operator or viewer is limited to; null for the whole cluster. */
  scope: string | null;
  /** `user` logs in with a password; `service` is a service account with API tokens only. */
  kind: string;
}

export interface ClusterConfig {
  clusterName: string;
  /** Public URL of control, as agents and browsers reach it. */
  publicUrl: string;
  /** Seconds without a heartbeat after which a node is UNREACHABLE. */
  heartbeatTimeoutMs: number;
  heartbeatIntervalMs: number;
  version: string;
}

/** Everything a procedure or service may use; built without HTTP so tests can call routers directly. */
export interface Services {
  db: Db;
  bus: ChangeBus;
  log: Logger;
  config: ClusterConfig;
  agents: AgentDispatcher;
  /** Latest node and task metrics, their batched storage and the chart queries. */
  metrics: MetricsStore;
  /** Task log streams and exec sessions relayed to and from agents. */
  streams: StreamRelay;
  /** The cluster's DNS names, kept current and pushed to the agents. */
  dns: DnsPublisher;
  /** The cluster's VIPs (pushed to the agents) and the agents' VIP counters. */
  vips: VipPublisher;
  /** The keys the secret store encrypts with (services/secrets.ts); the first is current. */
  secrets: SecretKeyring;
  /** The audit log: one record per write request, written in batches. */
  audit: AuditLog;
  /** Asks the reconciler to run soon (debounced); a no-op on non-leaders. */
  poke: () => void;
  now: () => Date;
}

export interface Context extends Services {
  user: AuthUser | null;
  /** Sets or clears the session cookie; present when the request came over HTTP. */
  setSessionCookie?: (token: string | null, expiresAt?: Date) => void;
  /** The session cookie of this request, if any (for logout). */
  sessionToken?: string;
  /** The HTTP request's id (x-request-id), named in internal-error answers and logged with them. */
  requestId?: string;
}

export function createContextInner(
  services: Services,
  user: AuthUser | null,
  extra: Partial<Context> = {},
): Context {
  return { ...services, user, ...extra };
}

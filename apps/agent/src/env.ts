import os from 'node:os';
import path from 'node:path';
import { createEnv } from '@t3-oss/env-core';
import { z } from 'zod';
import { balanceStrategies, type BalanceStrategy } from './vip/balancer';

/**
 * The agent's whole configuration, read once at start. This is the only file that looks at
 * environment variables; everything else receives an `AgentConfig`.
 */
export interface AgentConfig {
  /** Base URL of atoll-control (`http(s)://host:port[/prefix]`), without a trailing slash. */
  controlUrl: string;
  /**
   * More control replicas (ATOLL_CONTROL_URLS): after a lost or failed connection the agent tries
   * the next URL of [controlUrl, ...controlUrls] in turn. Absent: controlUrl only.
   */
  controlUrls?: string[];
  /** Join token for the first registration; not needed once the state dir holds a credential. */
  joinToken: string | undefined;
  /** Absolute directory holding the node identity (0600 JSON) and the exec runtime's sandboxes. */
  stateDir: string;
  runtime: RuntimeChoice;
  /** Address other hosts and clients use to reach this node's tasks. */
  nodeAddress: string;
  /**
   * Hostname reported to control (`@hostname` constraints, `HOST`). Defaults to the machine's;
   * several agents on one machine (tests) set distinct ones.
   */
  nodeHostname: string;
  /** Inclusive host-port range offered to control for tasks. */
  portRange: [number, number];
  attributes: Record<string, string>;
  /** How often node and task metrics are sent. */
  metricsIntervalMs: number;
  /** Garbage collection of ended tasks' containers (and so their logs). */
  gc: { intervalMs: number; keepExitedPerApp: number; retentionMs: number };
  /** CPUs and MiB kept for the host itself, reported at join (never offered to tasks). */
  reserved: { cpus: number; memMb: number };
  logLevel: LogLevel;
  /** Docker Engine socket the `docker` runtime talks to. */
  dockerSocketPath: string;
  /** An image pull that has not finished by then fails the task (no registry must hang a launch). */
  imagePullTimeoutMs: number;
  /** PATH given to exec-runtime tasks (they do not inherit the agent's environment). */
  execPath: string;
  /**
   * The node's DNS server (answers cluster names, forwards the rest; the resolver of the
   * containers the agent starts). Address: the Docker bridge's gateway unless given.
   */
  dns: { enabled: boolean; address: string | undefined; port: number };
  /**
   * VIP load balancing (see vip/manager.ts): on by default; the balancing strategy, how often the
   * counters go to control, and how long a backend has to accept before the next one is tried.
   */
  vip?: { enabled: boolean; balance: BalanceStrategy; statsIntervalMs: number; connectTimeoutMs: number };
}

export const runtimeChoices = ['auto', 'docker', 'exec'] as const;
export type RuntimeChoice = (typeof runtimeChoices)[number];

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Thrown when a setting is missing or malformed; the message names every bad variable. */
export class AgentConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid agent configuration: ${problems.join('; ')}`);
    this.name = 'AgentConfigError';
  }
}

/** Parses `10000-20000` into an inclusive range. */
export function parsePortRange(value: string): [number, number] | undefined {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(value);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) return undefined;
  return [lo, hi];
}

/** Parses `k=v,k2=v2` (Mesos agent attributes); a value may itself contain `=`. */
export function parseAttributes(value: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return undefined;
    const key = item.slice(0, eq).trim();
    if (key === '') return undefined;
    out[key] = item.slice(eq + 1).trim();
  }
  return out;
}

type Interfaces = ReturnType<typeof os.networkInterfaces>;

/** The first non-internal IPv4 address of this host, else loopback. */
export function defaultNodeAddress(interfaces: Interfaces = os.networkInterfaces()): string {
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return '127.0.0.1';
}

const schema = {
  ATOLL_CONTROL_URL: z
    .url({
      protocol: /^https?$/,
      error: (issue) =>
        issue.input === undefined
          ? 'required: the http:// or https:// URL of atoll-control'
          : 'must be an http:// or https:// URL of atoll-control',
    })
    .transform((u) => u.replace(/\/+$/, '')),
  ATOLL_CONTROL_URLS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((u) => u.trim().replace(/\/+$/, ''))
        .filter(Boolean),
    )
    .refine(
      (urls) => urls.every((u) => /^https?:\/\/[^/]/.test(u) && URL.canParse(u)),
      'must be comma-separated http:// or https:// URLs of atoll-control',
    ),
  ATOLL_JOIN_TOKEN: z.string().min(1).optional(),
  ATOLL_AGENT_STATE_DIR: z.string().min(1).default('.atoll/agent'),
  ATOLL_RUNTIME: z.enum(runtimeChoices).default('auto'),
  ATOLL_NODE_ADDRESS: z.string().min(1).optional(),
  ATOLL_NODE_HOSTNAME: z
    .string()
    .max(253, 'must be at most 253 characters')
    .regex(/^[^\s/]+$/, 'must be a host name (no spaces or slashes)')
    .optional(),
  ATOLL_PORT_RANGE: z
    .string()
    .default('10000-20000')
    .transform((v, ctx) => {
      const r = parsePortRange(v);
      if (!r) {
        ctx.addIssue({ code: 'custom', message: 'must look like 10000-20000 (1 ≤ low ≤ high ≤ 65535)' });
        return z.NEVER;
      }
      return r;
    }),
  ATOLL_NODE_ATTRIBUTES: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const r = parseAttributes(v);
      if (!r) {
        ctx.addIssue({ code: 'custom', message: 'must look like key=value,key2=value2' });
        return z.NEVER;
      }
      return r;
    }),
  ATOLL_METRICS_INTERVAL_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .positive('must be more than 0')
    .default(10),
  ATOLL_GC_INTERVAL_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .positive('must be more than 0')
    .default(300),
  ATOLL_GC_KEEP_EXITED_PER_APP: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(0, 'must be ≥ 0')
    .default(5),
  ATOLL_GC_RETENTION_HOURS: z.coerce
    .number({ error: 'must be a number of hours' })
    .positive('must be more than 0')
    .default(24),
  ATOLL_RESERVED_CPUS: z.coerce
    .number({ error: 'must be a number of CPUs' })
    .min(0, 'must be ≥ 0')
    .default(0),
  ATOLL_RESERVED_MEM_MB: z.coerce
    .number({ error: 'must be a number of MiB' })
    .min(0, 'must be ≥ 0')
    .default(0),
  ATOLL_LOG_LEVEL: z.enum(logLevels).default('info'),
  ATOLL_DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),
  ATOLL_IMAGE_PULL_TIMEOUT_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .positive('must be more than 0')
    .default(60),
  PATH: z.string().min(1).default(DEFAULT_PATH),
  ATOLL_DNS: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  ATOLL_DNS_ADDRESS: z.ipv4({ error: 'must be an IPv4 address' }).optional(),
  ATOLL_DNS_PORT: z.coerce.number({ error: 'must be a port' }).int().min(0).max(65535).default(53),
  ATOLL_VIP: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  ATOLL_VIP_BALANCE: z
    .enum(balanceStrategies, { error: 'must be round-robin or least-connections' })
    .default('round-robin'),
  ATOLL_VIP_STATS_INTERVAL_SECONDS: z.coerce
    .number({ error: 'must be a number of seconds' })
    .positive('must be more than 0')
    .default(5),
  ATOLL_VIP_CONNECT_TIMEOUT_MS: z.coerce
    .number({ error: 'must be a number of milliseconds' })
    .int()
    .positive('must be more than 0')
    .default(2000),
};

/**
 * Validates the agent's settings. Throws `AgentConfigError` naming each bad variable, so a process
 * with a bad setting refuses to start. `env` defaults to `process.env`; tests and atoll-control
 * (which runs a local agent) pass their own object.
 */
export function loadAgentConfig(env: Record<string, string | undefined> = process.env): AgentConfig {
  // createEnv deletes empty strings from the object it is given: hand it a copy.
  const runtimeEnv: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema)) runtimeEnv[key] = env[key];
  const parsed = createEnv({
    server: schema,
    runtimeEnv,
    isServer: true,
    emptyStringAsUndefined: true,
    onValidationError: (issues) => {
      throw new AgentConfigError(
        issues.map((i) => {
          const key =
            i.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.') ?? '(unknown)';
          const value = env[key];
          return `${key}: ${i.message}${value === undefined || key === 'ATOLL_JOIN_TOKEN' ? '' : ` (got ${JSON.stringify(value)})`}`;
        }),
      );
    },
  });
  return {
    controlUrl: parsed.ATOLL_CONTROL_URL,
    ...(parsed.ATOLL_CONTROL_URLS.length > 0 ? { controlUrls: parsed.ATOLL_CONTROL_URLS } : {}),
    joinToken: parsed.ATOLL_JOIN_TOKEN,
    stateDir: path.resolve(parsed.ATOLL_AGENT_STATE_DIR),
    runtime: parsed.ATOLL_RUNTIME,
    nodeAddress: parsed.ATOLL_NODE_ADDRESS ?? defaultNodeAddress(),
    nodeHostname: parsed.ATOLL_NODE_HOSTNAME ?? os.hostname(),
    portRange: parsed.ATOLL_PORT_RANGE,
    attributes: parsed.ATOLL_NODE_ATTRIBUTES,
    metricsIntervalMs: Math.round(parsed.ATOLL_METRICS_INTERVAL_SECONDS * 1000),
    gc: {
      intervalMs: Math.round(parsed.ATOLL_GC_INTERVAL_SECONDS * 1000),
      keepExitedPerApp: parsed.ATOLL_GC_KEEP_EXITED_PER_APP,
      retentionMs: Math.round(parsed.ATOLL_GC_RETENTION_HOURS * 3600_000),
    },
    reserved: { cpus: parsed.ATOLL_RESERVED_CPUS, memMb: parsed.ATOLL_RESERVED_MEM_MB },
    logLevel: parsed.ATOLL_LOG_LEVEL,
    dockerSocketPath: parsed.ATOLL_DOCKER_SOCKET,
    imagePullTimeoutMs: Math.round(parsed.ATOLL_IMAGE_PULL_TIMEOUT_SECONDS * 1000),
    execPath: parsed.PATH,
    dns: {
      enabled: parsed.ATOLL_DNS === 'on',
      address: parsed.ATOLL_DNS_ADDRESS,
      port: parsed.ATOLL_DNS_PORT,
    },
    vip: {
      enabled: parsed.ATOLL_VIP === 'on',
      balance: parsed.ATOLL_VIP_BALANCE,
      statsIntervalMs: Math.round(parsed.ATOLL_VIP_STATS_INTERVAL_SECONDS * 1000),
      connectTimeoutMs: parsed.ATOLL_VIP_CONNECT_TIMEOUT_MS,
    },
  };
}

import { createEnv } from '@t3-oss/env-core';
import { z } from 'zod';

/**
 * atoll-control's settings, validated once at start: a bad value stops the process with the name
 * of the setting. Nothing else in control reads process.env.
 */
export function loadControlConfig(env: Record<string, string | undefined> = process.env) {
  return createEnv({
    server: {
      DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL').optional(),
      ATOLL_BIND: z.string().min(1).default('127.0.0.1'),
      ATOLL_PORT: z.coerce.number().int().min(0).max(65535).default(7700),
      ATOLL_DATA_DIR: z.string().min(1).default('.atoll'),
      ATOLL_ADMIN_PASSWORD: z
        .string()
        .min(8, 'ATOLL_ADMIN_PASSWORD must have at least 8 characters')
        .optional(),
      ATOLL_PUBLIC_URL: z.string().url('ATOLL_PUBLIC_URL must be a URL').optional(),
      // How the other control replicas reach this one (default: the address it listens on).
      ATOLL_INTERNAL_URL: z.string().url('ATOLL_INTERNAL_URL must be a URL').optional(),
      ATOLL_CLUSTER_NAME: z.string().min(1).default('atoll'),
      /** Run one agent beside control (what `npm start` does on one machine). */
      ATOLL_LOCAL_AGENT: z
        .enum(['true', 'false'])
        .default('true')
        .transform((v) => v === 'true'),
      /** Serve the console (needs `next build` output in apps/console/.next). */
      ATOLL_CONSOLE: z
        .enum(['true', 'false'])
        .default('true')
        .transform((v) => v === 'true'),
      ATOLL_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).default(2000),
      ATOLL_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(500).default(6000),
      ATOLL_DNS_PORT: z
        .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)], {
          error: 'ATOLL_DNS_PORT must be a port number or off',
        })
        .default(8053),
      ATOLL_DNS_BIND: z.string().min(1).optional(),
      ATOLL_DNS_SUFFIX: z
        .string()
        .regex(
          /^[a-z0-9-]+(\.[a-z0-9-]+)*$/,
          'ATOLL_DNS_SUFFIX must be a domain such as atoll or cluster.local',
        )
        .default('atoll'),
      /** marathon-lb's HAPROXY_0_VHOST routing on its own port (no login): a port, 0 for any free one, or off. */
      ATOLL_EDGE_PORT: z
        .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)], {
          error: 'ATOLL_EDGE_PORT must be a port number or off',
        })
        .default('off'),
      ATOLL_EDGE_BIND: z.string().min(1).optional(),
      /** Days audit records are kept; 0 keeps them forever (the default). */
      ATOLL_AUDIT_RETENTION_DAYS: z.coerce
        .number()
        .int('ATOLL_AUDIT_RETENTION_DAYS must be a whole number of days')
        .min(0, 'ATOLL_AUDIT_RETENTION_DAYS must be 0 (keep forever) or more')
        .default(0),
      /** The secret store's keys: comma-separated `id:base64-of-32-bytes`, the first is current (docs/secrets.md). */
      ATOLL_SECRET_KEYS: z.string().min(1).optional(),
      /** A file of such keys, one a line (ignored when ATOLL_SECRET_KEYS is set). */
      ATOLL_SECRET_KEY_FILE: z.string().min(1).optional(),
      /**
       * Whose X-Forwarded-For to believe for a client's address (audit records, logs): off by
       * default (the socket's peer); `true` (any) or the proxies' addresses/CIDRs, comma-separated.
       */
      ATOLL_TRUST_PROXY: z
        .string()
        .default('false')
        .transform((v): boolean | string[] =>
          v === 'false'
            ? false
            : v === 'true'
              ? true
              : v
                  .split(',')
                  .map((s) => s.trim())
                  .filter(Boolean),
        ),
      ATOLL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    },
    runtimeEnv: env,
    emptyStringAsUndefined: true,
    onValidationError: (issues) => {
      const lines = issues.map((i) => `  ${i.path?.join('.') ?? ''}: ${i.message}`).join('\n');
      throw new ConfigError(`invalid configuration:\n${lines}`);
    },
  });
}

export class ConfigError extends Error {}

export type ControlConfig = ReturnType<typeof loadControlConfig>;

import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client';

// The generated client lives in src/generated/prisma (gitignored, written by the root postinstall
// through scripts/prisma-generate.mjs). Everything else imports it from here, never from the
// generated folder, so that its location stays an implementation detail of this package.
export { Prisma, PrismaClient } from './generated/prisma/client';
export type {
  ApiToken,
  App,
  AppVersion,
  Deployment,
  Event,
  JoinToken,
  Node,
  Session,
  Task,
  User,
} from './generated/prisma/client';

export { tablesFingerprint, type FingerprintTable } from './fingerprint';
export { applyMigrations, MigrationHistoryError, MIGRATION_LOCK_NAME, readMigrations } from './migrations';
export type { ApplyMigrationsOptions, MigrationFile } from './migrations';
export { MIGRATIONS_DIR, SCHEMA_PATH } from './paths';

export interface Db {
  /** The ORM, for ordinary reads and writes. */
  prisma: PrismaClient;
  /**
   * The same connections, for raw SQL on hot paths (batches, `INSERT … SELECT unnest(…)`,
   * `LISTEN`): Prisma 7 through the adapter runs at a fraction of pg's throughput.
   */
  pool: pg.Pool;
  /** Disconnects Prisma and ends the pool; safe to call more than once. */
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** Pool size; pg's default (10) otherwise. */
  max?: number;
  /** Errors of idle connections (e.g. the server restarted); defaults to console.error. */
  onPoolError?: (error: Error) => void;
}

/**
 * Opens one pg pool on `databaseUrl` and a PrismaClient that runs through it, so the ORM and raw
 * SQL share one connection budget. Does not migrate: call applyMigrations first.
 */
export function createDb(databaseUrl: string, options: CreateDbOptions = {}): Db {
  const pool = new pg.Pool({ connectionString: databaseUrl, ...(options.max === undefined ? {} : { max: options.max }) });
  // Without a listener, an idle connection dropped by the server is an unhandled 'error' event
  // and kills the process; the pool already discards the client, so reporting is enough.
  const onPoolError = options.onPoolError ?? ((error: Error) => console.error('[db] idle connection error:', error.message));
  pool.on('error', onPoolError);

  // Interactive transactions may wait for a connection and run longer than Prisma's defaults (2 s
  // to start, 5 s to finish): a control busy with thousands of agents queues a burst of deploys
  // rather than failing them (bench:scale saw 500s in such a burst at the defaults).
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    transactionOptions: { maxWait: 15_000, timeout: 30_000 },
  });
  let closing: Promise<void> | undefined;
  return {
    prisma,
    pool,
    close() {
      closing ??= (async () => {
        try {
          await prisma.$disconnect();
        } finally {
          await pool.end();
        }
      })();
      return closing;
    },
  };
}

import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR } from './paths';

// Our own migration runner. The Prisma CLI's `migrate deploy` needs a native engine that it
// downloads at run time (see shared/notes/prisma-offline.md), so production and tests apply the
// committed SQL files themselves. The bookkeeping table is Prisma's own `_prisma_migrations`, with
// the same columns and checksums, so Prisma tooling (Studio, `migrate status` where it works, the
// WASM schema engine) reads our history as if `migrate deploy` had written it.

/** One committed migration: prisma/migrations/<name>/migration.sql. */
export interface MigrationFile {
  /** Directory name, e.g. 20261124194500_init; migrations apply in the order of these names. */
  name: string;
  sql: string;
  /** sha256 of the file's bytes, hex: what Prisma stores in _prisma_migrations.checksum. */
  checksum: string;
}

/** Name hashed into the advisory lock key; the leader lock must use a different one. */
export const MIGRATION_LOCK_NAME = 'atoll:migrations';

/** Thrown when the database and prisma/migrations disagree in a way that must not be papered over. */
export class MigrationHistoryError extends Error {
  override name = 'MigrationHistoryError';
}

// Prisma's DDL for its bookkeeping table (schema-engine, sql-migration-connector), kept verbatim
// so that a database first migrated by us can later be handled by the Prisma CLI and vice versa.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Reads every <dir>/<name>/migration.sql, sorted by name. A missing directory means no migrations. */
export async function readMigrations(migrationsDir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  let entries;
  try {
    entries = await readdir(migrationsDir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrations: MigrationFile[] = [];
  for (const name of names) {
    let sql: string;
    try {
      sql = await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8');
    } catch (error) {
      // An empty directory (an aborted `db:migration`, a stale checkout) is not a migration.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    migrations.push({ name, sql, checksum: sha256(sql) });
  }
  return migrations;
}

// A checkout with CRLF line endings (git autocrlf) must not look like an edited migration: Prisma
// tolerates that difference too.
function checksumMatches(file: MigrationFile, recorded: string): boolean {
  return recorded === file.checksum || recorded === sha256(file.sql.replace(/\r\n/g, '\n'));
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

export interface ApplyMigrationsOptions {
  /** Called for conditions worth a log line but not a refusal; defaults to console.warn. */
  onWarning?: (message: string) => void;
}

/**
 * Applies the migrations under `migrationsDir` that the database has not seen yet, each once, in
 * name order, each in its own transaction together with its `_prisma_migrations` row. Refuses to
 * start (MigrationHistoryError) when an applied migration's file changed or a migration is
 * recorded as failed. Concurrent callers (several control replicas starting at once) serialise on
 * a Postgres advisory lock, so each migration runs exactly once.
 *
 * Returns the names of the migrations applied by this call.
 */
export async function applyMigrations(
  target: pg.Pool | string,
  migrationsDir: string = MIGRATIONS_DIR,
  options: ApplyMigrationsOptions = {},
): Promise<string[]> {
  const warn = options.onWarning ?? ((message: string) => console.warn(`[db] ${message}`));
  const migrations = await readMigrations(migrationsDir);

  // One dedicated session for the whole run: the advisory lock belongs to a session, so it must
  // outlive the per-migration transactions.
  let client: pg.ClientBase;
  let finish: (broken: boolean) => Promise<void>;
  if (typeof target === 'string') {
    const own = new pg.Client({ connectionString: target });
    await own.connect();
    client = own;
    finish = () => own.end();
  } else {
    const pooled = await target.connect();
    client = pooled;
    finish = async (broken) => pooled.release(broken);
  }

  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [MIGRATION_LOCK_NAME]);
    const applied = await applyLocked(client, migrations, warn);
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [MIGRATION_LOCK_NAME]);
    return applied;
  } catch (error) {
    // Closing the session releases the lock and any half-open transaction on the server side,
    // which is more reliable than trying to clean up over a connection that may be the problem.
    broken = true;
    throw error;
  } finally {
    await finish(broken);
  }
}

async function applyLocked(client: pg.ClientBase, migrations: MigrationFile[], warn: (message: string) => void): Promise<string[]> {
  await client.query(CREATE_MIGRATIONS_TABLE);
  const { rows } = await client.query<AppliedRow>(
    'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at',
  );

  const failed = rows.filter((row) => row.finished_at === null).map((row) => row.migration_name);
  if (failed.length > 0) {
    throw new MigrationHistoryError(
      `migration(s) ${failed.join(', ')} are recorded as started but not finished in _prisma_migrations ` +
        `(left by a tool that does not use one transaction per migration). Repair the schema by hand, then ` +
        `mark each as rolled back (UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '…') and start again.`,
    );
  }

  const byName = new Map(migrations.map((migration) => [migration.name, migration]));
  const edited: string[] = [];
  for (const row of rows) {
    const file = byName.get(row.migration_name);
    if (file === undefined) {
      // A newer release already migrated this database (e.g. a rollback of the binary); its
      // migrations are additive by convention, so running the older code is allowed.
      warn(`migration ${row.migration_name} is applied in the database but not among the migration files`);
    } else if (!checksumMatches(file, row.checksum)) {
      edited.push(`${row.migration_name} (applied ${row.checksum.slice(0, 12)}…, file now ${file.checksum.slice(0, 12)}…)`);
    }
  }
  if (edited.length > 0) {
    throw new MigrationHistoryError(
      `refusing to migrate: applied migration(s) were edited after they ran: ${edited.join('; ')}. ` +
        'Restore the original migration.sql and put the change in a new migration (npm run db:migration -- <name>).',
    );
  }

  const done = new Set(rows.map((row) => row.migration_name));
  const applied: string[] = [];
  for (const migration of migrations) {
    if (done.has(migration.name)) continue;
    await applyOne(client, migration);
    applied.push(migration.name);
  }
  return applied;
}

async function applyOne(client: pg.ClientBase, migration: MigrationFile): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, clock_timestamp(), 0)',
      [id, migration.checksum, migration.name],
    );
    // No parameters, so pg uses the simple query protocol, which accepts the whole multi-statement
    // file at once (statement splitting on ';' would break function bodies and string literals).
    await client.query(migration.sql);
    await client.query(
      'UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1',
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${migration.name} failed and was rolled back: ${detail}`, { cause: error });
  }
}

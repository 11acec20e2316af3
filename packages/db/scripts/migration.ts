// `npm run db:migration -- <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with
// the SQL that brings a database built by the committed migrations to what prisma/schema.prisma
// describes. The offline stand-in for `prisma migrate dev --create-only` (see packages/db/README.md).
//
// Needs a PostgreSQL server on which it may create (and then drop) a scratch database:
// ATOLL_DEV_DATABASE_URL, or the local default below.
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { diffMigrationsToSchema, MIGRATION_LOCK_TOML } from '../src/migrate-diff';
import { MIGRATIONS_DIR } from '../src/paths';

const DEFAULT_URL = 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

function usage(message: string): never {
  console.error(`${message}\nusage: npm run db:migration -- <name>   (e.g. add_task_labels)`);
  process.exit(2);
}

// The same normalisation as `prisma migrate dev --name`, so names read alike in the history.
function migrationName(raw: string | undefined): string {
  const name = (raw ?? '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '') usage('missing migration name');
  return name;
}

// UTC, yyyymmddhhmmss: names sort in creation order, which is the order the runner applies them.
function timestamp(now: Date): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((arg) => arg !== '--');
  if (args.length > 1) usage(`expected one name, got: ${args.join(' ')}`);
  const name = migrationName(args[0]);
  const serverUrl = process.env.ATOLL_DEV_DATABASE_URL ?? DEFAULT_URL;
  const shown = relative(process.cwd(), MIGRATIONS_DIR) || '.';

  const sql = await diffMigrationsToSchema(serverUrl);
  if (sql === null) {
    console.log(`prisma/schema.prisma matches the migrations in ${shown}: nothing to write.`);
    return;
  }

  await mkdir(MIGRATIONS_DIR, { recursive: true });
  const lockPath = join(MIGRATIONS_DIR, 'migration_lock.toml');
  if (!(await exists(lockPath))) await writeFile(lockPath, MIGRATION_LOCK_TOML);

  const dir = join(MIGRATIONS_DIR, `${timestamp(new Date())}_${name}`);
  await mkdir(dir);
  await writeFile(join(dir, 'migration.sql'), sql);
  console.log(`wrote ${join(shown, relative(MIGRATIONS_DIR, dir), 'migration.sql')}:\n\n${sql}`);
  console.log('Review it (data-losing steps, defaults for new NOT NULL columns on existing rows), then commit it.');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

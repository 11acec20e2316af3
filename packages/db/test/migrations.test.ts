import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, MigrationHistoryError, MIGRATIONS_DIR, readMigrations, SCHEMA_PATH } from '../src/index';
import { diffDatabaseToSchema, diffMigrationsToSchema } from '../src/migrate-diff';
import { createTestDatabase, skipWithoutPostgres, testServerUrl, type TestDatabase } from '../src/testing';

// The committed migrations are what production runs; schema.prisma is what the generated client
// believes. This file proves they agree, and that the runner applies them once, in a transaction,
// under a lock, and refuses a history that was rewritten.

const skip = await skipWithoutPostgres();

describe.skipIf(skip)('prisma/migrations', () => {
  let test: TestDatabase;
  let scratch: string;

  beforeAll(async () => {
    test = await createTestDatabase();
    scratch = await mkdtemp(join(tmpdir(), 'atoll-migrations-'));
  });

  afterAll(async () => {
    await test?.drop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('are committed, and a fresh database records each as applied once', async () => {
    const files = await readMigrations();
    expect(files.length, 'no migrations under prisma/migrations').toBeGreaterThan(0);
    const { rows } = await test.db.pool.query<{ migration_name: string; checksum: string; finished: boolean; applied_steps_count: number }>(
      'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows).toEqual(files.map((file) => ({ migration_name: file.name, checksum: file.checksum, finished: true, applied_steps_count: 1 })));
  });

  it('produce exactly the database schema.prisma describes', async () => {
    const drift = await diffDatabaseToSchema(test.url);
    expect(drift, `schema.prisma and prisma/migrations disagree; run \`npm run db:migration -- <name>\`. Missing SQL:\n${drift}`).toBeNull();
  });

  it('are checked by a diff that does notice drift', async () => {
    const schemaPath = join(scratch, 'schema.prisma');
    await writeFile(schemaPath, `${await readFile(SCHEMA_PATH, 'utf8')}\nmodel Drift {\n  id Int @id\n}\n`);
    expect(await diffDatabaseToSchema(test.url, { schemaPath })).toMatch(/CREATE TABLE "Drift"/);
  });

  it('replay in a throw-away shadow database when a migration is authored', async () => {
    // A function body full of ';' is what a naive statement splitter would break.
    const dir = join(scratch, 'with-function');
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await mkdir(join(dir, '99990101000000_function'));
    await writeFile(
      join(dir, '99990101000000_function', 'migration.sql'),
      "CREATE FUNCTION atoll_noop() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  PERFORM 1;\n  RETURN NEW;\nEND;\n$$;\n",
    );
    const shadows = () =>
      test.db.pool.query("SELECT datname FROM pg_database WHERE datname LIKE 'atoll\\_shadow\\_%'").then((result) => result.rowCount);
    const before = await shadows();
    expect(await diffMigrationsToSchema(testServerUrl(), { migrationsDir: dir })).toBeNull();
    expect(await shadows()).toBe(before);
  });

  it('are not applied again', async () => {
    expect(await applyMigrations(test.db.pool)).toEqual([]);
  });

  it('work with the generated client and the raw pool alike', async () => {
    const user = await test.db.prisma.user.create({ data: { username: 'migrations-test', passwordHash: 'x' } });
    const { rows } = await test.db.pool.query<{ role: string }>('SELECT role FROM users WHERE id = $1', [user.id]);
    // A new user is a viewer unless given a role (least privilege; docs/users.md).
    expect(rows).toEqual([{ role: 'viewer' }]);
  });

  it('are applied once when two replicas start at the same time', async () => {
    const other = await createTestDatabase({ migrate: false });
    try {
      // By URL: each call opens its own session, as two control processes would.
      const runs = await Promise.all([applyMigrations(other.url), applyMigrations(other.url)]);
      expect(runs.flat().sort()).toEqual((await readMigrations()).map((file) => file.name));
    } finally {
      await other.drop();
    }
  });

  it('refuse to run when an applied migration was edited', async () => {
    const dir = join(scratch, 'edited');
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    const [first] = await readMigrations(dir);
    const file = join(dir, first!.name, 'migration.sql');
    await writeFile(file, `${await readFile(file, 'utf8')}\n-- an innocent-looking edit\n`);

    const attempt = applyMigrations(test.db.pool, dir);
    await expect(attempt).rejects.toBeInstanceOf(MigrationHistoryError);
    await expect(attempt).rejects.toThrow(new RegExp(`edited after they ran: ${first!.name}`));
  });

  it('roll back a failing migration completely, its record included', async () => {
    const dir = join(scratch, 'broken');
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await mkdir(join(dir, '99990101000000_broken'));
    await writeFile(join(dir, '99990101000000_broken', 'migration.sql'), 'CREATE TABLE half_done (id INT);\nSELECT * FROM no_such_table;\n');

    await expect(applyMigrations(test.db.pool, dir)).rejects.toThrow(/99990101000000_broken failed and was rolled back/);
    const { rows } = await test.db.pool.query(
      `SELECT to_regclass('half_done') AS half_done, (SELECT count(*)::int FROM "_prisma_migrations" WHERE migration_name = '99990101000000_broken') AS recorded`,
    );
    expect(rows).toEqual([{ half_done: null, recorded: 0 }]);
  });
});

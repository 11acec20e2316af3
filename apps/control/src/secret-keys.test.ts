import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SECRET_KEY_FILE, loadSecretKeyring } from './secret-keys';

const log = pino({ level: 'silent' });

describe('the secret keyring of control', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates a 0600 key file on the first start and reads the same key on the next', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-keys-'));
    const first = await loadSecretKeyring({ dataDir: dir, log });
    const file = path.join(dir, DEFAULT_SECRET_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await loadSecretKeyring({ dataDir: dir, log });
    expect(again.currentId).toBe(first.currentId);
    expect(again.decrypt('/p', first.encrypt('/p', 'v'))).toBe('v');
    expect(await readFile(file, 'utf8')).toMatch(/^# /);
  });

  it('prefers ATOLL_SECRET_KEYS, then ATOLL_SECRET_KEY_FILE, and names what is wrong', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-keys-'));
    const k = `env1:${randomBytes(32).toString('base64')}`;
    const keyFile = path.join(dir, 'keys');
    await writeFile(keyFile, `file1:${randomBytes(32).toString('base64')}\n`);
    expect((await loadSecretKeyring({ keys: k, keyFile, dataDir: dir, log })).currentId).toBe('env1');
    expect((await loadSecretKeyring({ keyFile, dataDir: dir, log })).currentId).toBe('file1');
    await expect(loadSecretKeyring({ keys: 'x:short', dataDir: dir, log })).rejects.toThrow(
      /secret keys: key x/,
    );
    await expect(loadSecretKeyring({ keyFile: path.join(dir, 'none'), dataDir: dir, log })).rejects.toThrow(
      /ATOLL_SECRET_KEY_FILE .* does not exist/,
    );
  });
});

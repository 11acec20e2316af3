import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestCluster } from '@atoll/control/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CliIO } from '../src/main';
import type { SecretRow } from '../src/commands/secret';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// `atoll secret …` in-process against a real control with a fresh database.
describe('atoll secret against a real cluster', () => {
  let cluster: Awaited<ReturnType<typeof startTestCluster>>;
  let dir: string;
  let env: Record<string, string>;

  async function atoll(args: string[], io: Partial<CliIO> = {}): Promise<Result> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(args, {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env,
      ...io,
    });
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  /** The value a secret decrypts to, read as control does at a launch. */
  async function stored(p: string): Promise<string> {
    const { rows } = await cluster.control.db.pool.query<{
      ciphertext: Buffer;
      iv: Buffer;
      tag: Buffer;
      key_id: string;
    }>('SELECT * FROM secrets WHERE path = $1', [p]);
    const row = rows[0]!;
    return cluster.control.services.secrets.decrypt(p, { ...row, keyId: row.key_id });
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-cli-secret-'));
    cluster = await startTestCluster({ agent: false });
    env = { ATOLL_URL: cluster.url, ATOLL_TOKEN: cluster.token, ATOLL_CONFIG: path.join(dir, 'config.json') };
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates secrets from --value, a file and standard input, and lists them without values', async () => {
    const a = await atoll([
      'secret',
      'create',
      '/team-a/db',
      '--value',
      'v-one',
      '--description',
      'db password',
    ]);
    expect(a).toEqual({ code: 0, stdout: 'Created secret /team-a/db\n', stderr: '' });
    const file = path.join(dir, 'cert.pem');
    await writeFile(file, 'line 1\nline 2\n');
    expect((await atoll(['secret', 'create', '/team-a/cert', '--value-file', file])).code).toBe(0);
    const piped = await atoll(['secret', 'create', 'team-b/token'], {
      readStdin: () => Promise.resolve('from-stdin\n'),
    });
    expect(piped.stdout).toBe('Created secret /team-b/token\n');
    expect(await stored('/team-a/db')).toBe('v-one');
    expect(await stored('/team-a/cert')).toBe('line 1\nline 2\n');
    expect(await stored('/team-b/token')).toBe('from-stdin');

    const list = await atoll(['secret', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    expect(lines[0]).toEqual(['PATH', 'DESCRIPTION', 'KEY', 'USED BY', 'UPDATED']);
    expect(lines.slice(1).map((l) => l.slice(0, 4))).toEqual([
      ['/team-a/cert', '-', 'test', '-'],
      ['/team-a/db', 'db password', 'test', '-'],
      ['/team-b/token', '-', 'test', '-'],
    ]);
    expect(list.stdout).not.toMatch(/v-one|from-stdin|line 1/);
    const json = await atoll(['--json', 'secret', 'list']);
    const rows = JSON.parse(json.stdout) as SecretRow[];
    expect(rows.map((r) => r.path)).toEqual(['/team-a/cert', '/team-a/db', '/team-b/token']);
    expect(json.stdout).not.toMatch(/v-one|from-stdin|line 1/);
  });

  it('updates, names the apps that still use a removed secret, rotates, and says what is wrong', async () => {
    expect((await atoll(['secret', 'update', '/team-a/db', '--value', 'v-two'])).stdout).toBe(
      'Updated secret /team-a/db\n',
    );
    expect(await stored('/team-a/db')).toBe('v-two');
    await atoll(['secret', 'update', '/team-a/db', '--description', '']);
    const [db] = (JSON.parse((await atoll(['--json', 'secret', 'list'])).stdout) as SecretRow[]).filter(
      (r) => r.path === '/team-a/db',
    );
    expect(db?.description).toBeNull();
    expect(await stored('/team-a/db')).toBe('v-two');

    const app = await fetch(`${cluster.url}/v2/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: '/team-a/api',
        cmd: 'sleep 60',
        instances: 0,
        secrets: { pw: { source: '/team-a/db' } },
        env: { PW: { secret: 'pw' } },
      }),
    });
    expect(app.status).toBe(201);
    const removed = await atoll(['secret', 'remove', '/team-a/db']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe('Removed secret /team-a/db\n');
    expect(removed.stderr).toBe(
      'warning: still referred to by /team-a/api: their next tasks will fail to start\n',
    );

    const rotated = await atoll(['secret', 'rotate']);
    expect(rotated).toEqual({
      code: 0,
      stdout: 'Re-encrypted 2 of 2 secrets under key test (0 moved from an older key)\n',
      stderr: '',
    });
    const keys = JSON.parse((await atoll(['--json', 'secret', 'keys'])).stdout) as {
      currentKeyId: string;
      keys: Array<{ id: string; secrets: number }>;
    };
    expect(keys).toEqual({ currentKeyId: 'test', keys: [{ id: 'test', configured: true, secrets: 2 }] });

    const bad = await atoll(['secret', 'create', '/a b', '--value', 'x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/path/);
    const both = await atoll(['secret', 'create', '/x', '--value', 'x', '--value-file', 'f']);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('give --value or --value-file, not both');
    const missing = await atoll(['secret', 'remove', '/nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/does not exist/);
  });
});

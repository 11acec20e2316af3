import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestCluster } from '@atoll/control/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CliIO } from '../src/main';
import type { UserRow } from '../src/commands/user';
import type { TokenRow } from '../src/commands/token';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// `atoll user …` and `atoll token …` in-process against a real control with a fresh database.
describe('atoll user and atoll token against a real cluster', () => {
  let cluster: Awaited<ReturnType<typeof startTestCluster>>;
  let dir: string;
  let env: Record<string, string>;

  async function atoll(args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env: { ...env, ...extraEnv },
    };
    const code = await run(args, io);
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  async function atollJson<T>(...args: string[]): Promise<T> {
    const r = await atoll(['--json', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-cli-user-'));
    cluster = await startTestCluster({ agent: false });
    env = { ATOLL_URL: cluster.url, ATOLL_TOKEN: cluster.token, ATOLL_CONFIG: path.join(dir, 'config.json') };
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('adds a user and a service account and lists them', async () => {
    const added = await atoll([
      'user',
      'add',
      'olga',
      '--role',
      'operator',
      '--scope',
      '/team-a',
      '--password',
      'olga-secret-1',
    ]);
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe('Created user olga (operator in /team-a)\n');
    const bot = await atollJson<UserRow>('user', 'add', 'release-bot', '--service', '--role', 'operator');
    expect(bot).toMatchObject({ username: 'release-bot', kind: 'service', role: 'operator', scope: null });

    const list = await atoll(['user', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    expect(lines[0]).toEqual(['USERNAME', 'KIND', 'ROLE', 'SCOPE', 'STATE', 'TOKENS', 'CREATED']);
    expect(lines.slice(1).map((l) => l.slice(0, 6))).toEqual([
      ['admin', 'user', 'admin', '-', 'active', '1'],
      ['olga', 'user', 'operator', '/team-a', 'active', '0'],
      ['release-bot', 'service', 'operator', '-', 'active', '0'],
    ]);

    const shown = await atoll(['user', 'show', 'olga']);
    expect(shown.stdout).toContain('ROLE          operator\n');
    expect(shown.stdout).toContain('SCOPE         /team-a\n');
  });

  it('refuses a weak password naming the field, and a password for a service account', async () => {
    const weak = await atoll(['user', 'add', 'pete', '--password', 'short']);
    expect(weak.code).toBe(1);
    expect(weak.stdout).toBe('');
    expect(weak.stderr).toBe('error: invalid user:\n  password: password must have at least 10 characters\n');
    const sa = await atoll(['user', 'add', 'x-bot', '--service', '--password', 'whatever-123']);
    expect(sa.code).toBe(1);
    expect(sa.stderr).toMatch(/^error: a service account has no password\n/);
    const users = await atollJson<UserRow[]>('user', 'list');
    expect(users.map((u) => u.username)).not.toContain('pete');
  });

  it('updates, disables, enables, resets and removes', async () => {
    const updated = await atoll(['user', 'update', 'olga', '--role', 'viewer', '--no-scope']);
    expect(updated.stdout).toBe('Updated olga: viewer\n');

    const disabled = await atollJson<UserRow>('user', 'disable', 'olga');
    expect(disabled.disabled).toBe(true);
    expect((await atoll(['user', 'list'])).stdout).toMatch(/\nolga\s+user\s+viewer\s+-\s+disabled\s/);
    expect((await atollJson<UserRow>('user', 'enable', 'olga')).disabled).toBe(false);

    const reset = await atoll(['user', 'passwd', 'olga']);
    expect(reset.code).toBe(0);
    const generated = /shown only now\): (\S+)\n/.exec(reset.stdout)?.[1];
    expect(generated).toMatch(/^[A-Za-z0-9_-]{20}$/);
    // The generated password logs in.
    const login = await fetch(`${cluster.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'olga', password: generated }),
    });
    expect(login.status).toBe(200);

    // Olga changes it herself with an API token of hers: the current one is checked, her
    // session ends.
    const { token: session } = (await login.json()) as { token: string };
    const mint = await fetch(`${cluster.url}/api/v1/auth/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'olga-cli' }),
    });
    const { token: olgaToken } = (await mint.json()) as { token: string };
    const asOlga = { ATOLL_TOKEN: olgaToken };
    const wrong = await atoll(
      ['user', 'passwd', '--current', 'not-my-password', '--password', 'olga-secret-22'],
      asOlga,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      'error: invalid password:\n  currentPassword: currentPassword is not your password\n',
    );
    const own = await atoll(
      ['user', 'passwd', '--current', generated!, '--password', 'olga-secret-22'],
      asOlga,
    );
    expect(own.stderr).toBe('');
    expect(own.stdout).toBe('Changed your password; 1 other session(s) ended\n');

    // The last admin stays, with the server's reason.
    const self = await atoll(['user', 'remove', 'admin', '--yes']);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('you cannot delete your own account');

    const noTerminal = await atoll(['user', 'remove', 'olga']);
    expect(noTerminal.code).toBe(1);
    expect(noTerminal.stderr).toContain('run again with --yes');
    expect((await atoll(['user', 'remove', 'olga', '--yes'])).stdout).toBe('Removed olga\n');
    expect((await atollJson<UserRow[]>('user', 'list')).map((u) => u.username)).toEqual([
      'admin',
      'release-bot',
    ]);
  });

  it("creates, lists and revokes a service account's token; the token works until revoked", async () => {
    const created = await atoll([
      'token',
      'create',
      'ci',
      '--user',
      'release-bot',
      '--expires-in-days',
      '30',
    ]);
    expect(created.code).toBe(0);
    const token = created.stdout.trimEnd().split('\n').at(-1)!;
    expect(token).toMatch(/^atl_/);
    const id = /^Created token (\S+) for release-bot/.exec(created.stdout)?.[1];
    expect(id).toBeDefined();

    // The service account uses it with the CLI.
    const asBot = await atoll(['--json', 'token', 'list'], { ATOLL_TOKEN: token });
    expect(asBot.code).toBe(0);
    expect((JSON.parse(asBot.stdout) as TokenRow[]).map((t) => t.name)).toEqual(['ci']);
    // An operator is not an admin.
    const denied = await atoll(['user', 'list'], { ATOLL_TOKEN: token });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^error: the operator role may not administer the cluster/);

    const listed = await atollJson<TokenRow[]>('token', 'list', '--user', 'release-bot');
    expect(listed.map((t) => [t.id, t.name])).toEqual([[id, 'ci']]);
    expect(listed[0]!.expiresAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(token);

    expect((await atoll(['token', 'revoke', id!, '--user', 'release-bot'])).stdout).toBe(
      `Revoked token ${id}\n`,
    );
    const after = await atoll(['token', 'list'], { ATOLL_TOKEN: token });
    expect(after.code).toBe(2);
    expect(after.stderr).toContain('rejected the API token');
  });

  it('creates and revokes your own token', async () => {
    const created = await atollJson<{ id: string; token: string; name: string }>('token', 'create', 'laptop');
    expect(created.name).toBe('laptop');
    expect((await atollJson<TokenRow[]>('token', 'list')).map((t) => t.name)).toContain('laptop');
    await atollJson('token', 'revoke', created.id);
    expect((await atollJson<TokenRow[]>('token', 'list')).map((t) => t.name)).not.toContain('laptop');
  });
});

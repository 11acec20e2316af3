import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';

interface UserView {
  id: string;
  username: string;
  role: string;
  scope: string | null;
  kind: string;
  disabled: boolean;
  lockedUntil: string | null;
  tokens: number;
}

// Users, service accounts, tokens and login safety against a real control and PostgreSQL.
// Every password login from this file counts towards the per-address limit (20 a minute), so the
// tests log in sparingly and the limit itself is tested last.
describe('users, service accounts and login safety', () => {
  let cluster: TestCluster;

  const call = (
    p: string,
    init: {
      method?: string;
      json?: unknown;
      auth?: string | null;
      cookie?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const headers = new Headers(init.headers);
    if (init.cookie) {
      headers.set('cookie', init.cookie);
      // A browser's own page sends its origin; cookie-authenticated writes need it (origins.ts).
      headers.set('origin', cluster.url);
    } else if (init.auth !== null) headers.set('authorization', init.auth ?? `Bearer ${cluster.token}`);
    if (init.json !== undefined) headers.set('content-type', 'application/json');
    return fetch(cluster.url + p, {
      method: init.method ?? 'GET',
      headers,
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    });
  };
  const json = async <T>(res: Response | Promise<Response>, status = 200): Promise<T> => {
    const r = await res;
    const text = await r.text();
    expect(r.status, text).toBe(status);
    return JSON.parse(text) as T;
  };
  const createUser = (body: Record<string, unknown>, auth?: string) =>
    json<UserView>(call('/api/v1/users', { method: 'POST', json: body, ...(auth ? { auth } : {}) }));
  /** Logs in over REST; the session cookie as a Cookie header on success. */
  const login = async (username: string, password: string, headers: Record<string, string> = {}) => {
    const res = await call('/api/v1/auth/login', {
      method: 'POST',
      auth: null,
      json: { username, password },
      headers,
    });
    const setCookie = res.headers.get('set-cookie') ?? '';
    return { res, setCookie, cookie: setCookie.split(';')[0]! };
  };

  beforeAll(async () => {
    cluster = await startTestCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('creates a user and a service account; the list never carries a hash', async () => {
    const alice = await createUser({
      username: 'alice',
      password: 'alice-secret-1',
      role: 'operator',
      scope: '/team-a',
    });
    expect(alice).toMatchObject({
      username: 'alice',
      kind: 'user',
      role: 'operator',
      scope: '/team-a',
      disabled: false,
    });
    const bot = await createUser({ username: 'deploy-bot', kind: 'service', role: 'operator' });
    expect(bot).toMatchObject({ username: 'deploy-bot', kind: 'service', tokens: 0 });

    const res = await call('/api/v1/users');
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toMatch(/argon2|passwordHash|password_hash/);
    const list = JSON.parse(text) as UserView[];
    expect(list.map((u) => [u.username, u.kind, u.role])).toEqual([
      ['admin', 'user', 'admin'],
      ['alice', 'user', 'operator'],
      ['deploy-bot', 'service', 'operator'],
    ]);
    expect(await json<UserView>(call(`/api/v1/users/${alice.id}`))).toMatchObject({ username: 'alice' });
    expect((await call('/api/v1/users/00000000-0000-4000-8000-000000000000')).status).toBe(404);

    // The same username twice is a conflict.
    const again = await call('/api/v1/users', {
      method: 'POST',
      json: { username: 'alice', password: 'another-pass-2' },
    });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('alice already exists');
  });

  it.each([
    ['a user without a password', { username: 'nopass' }, 'password', /password is required/],
    [
      'a password under 10 characters',
      { username: 'shorty', password: 'Ab3$efgh9' },
      'password',
      /at least 10/,
    ],
    [
      'the username as password',
      { username: 'carol.smith', password: 'Carol.Smith' },
      'password',
      /username/,
    ],
    ['a common password', { username: 'dave', password: 'password123' }, 'password', /too common/],
    [
      'a service account with a password',
      { username: 'bot2', kind: 'service', password: 'some-secret-9' },
      'password',
      /service account has no password/,
    ],
    [
      'an admin with a scope',
      { username: 'erin', password: 'erin-secret-1', role: 'admin', scope: '/team-a' },
      'scope',
      /admins/,
    ],
    [
      'a scope that is not a group path',
      { username: 'frank', password: 'frank-secret-1', scope: 'team a' },
      'scope',
      /group path/,
    ],
  ])('refuses %s with 422 naming the field', async (_name, body, field, message) => {
    const res = await call('/api/v1/users', { method: 'POST', json: body });
    const text = await res.text();
    expect(res.status, text).toBe(422);
    const b = JSON.parse(text) as { message: string };
    expect(b.message.startsWith(`${field}: `), b.message).toBe(true);
    expect(b.message).toMatch(message);
  });

  it('refuses a username outside [a-z0-9._-] naming the field', async () => {
    const res = await call('/api/v1/users', {
      method: 'POST',
      json: { username: 'Bad Name', password: 'good-secret-1' },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await res.text()).toContain('username');
  });

  it('locks an account after 5 failed logins, with the time, also for the DC/OS login; a reset unlocks', async () => {
    const user = await createUser({ username: 'locky', password: 'locky-secret-1' });
    for (let i = 0; i < 4; i++) expect((await login('locky', `wrong-${i}`)).res.status).toBe(401);
    // The fifth failure, through DC/OS's route: the same counter, and the answer says so.
    const fifth = await call('/acs/api/v1/auth/login', {
      method: 'POST',
      auth: null,
      json: { uid: 'locky', password: 'wrong-4' },
    });
    expect(fifth.status).toBe(429);
    const { message } = (await fifth.json()) as { message: string };
    const until = /account locked until (\S+Z)/.exec(message)?.[1];
    expect(until, message).toBeDefined();
    const minutes = (Date.parse(until!) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(14);
    expect(minutes).toBeLessThanOrEqual(15);

    // Locked: even the right password is refused, with the same message, on every route.
    const right = await login('locky', 'locky-secret-1');
    expect(right.res.status).toBe(429);
    expect(await right.res.text()).toContain(`account locked until ${until}`);
    expect(right.setCookie).toBe('');
    const row = await cluster.control.db.prisma.user.findUniqueOrThrow({ where: { username: 'locky' } });
    expect(row.lockedUntil?.toISOString()).toBe(until);
    expect((await json<UserView>(call(`/api/v1/users/${user.id}`))).lockedUntil).toBe(until);

    // An admin's password reset lifts the lock; the new password logs in and clears the count.
    await json(
      call(`/api/v1/users/${user.id}/password`, { method: 'POST', json: { password: 'locky-secret-2' } }),
    );
    const after = await login('locky', 'locky-secret-2');
    expect(after.res.status).toBe(200);
    const cleared = await cluster.control.db.prisma.user.findUniqueOrThrow({ where: { username: 'locky' } });
    expect([cleared.failedLogins, cleared.lockedUntil]).toEqual([0, null]);
  });

  it("a disabled account's sessions and tokens answer 401, its login 403; enabling restores the tokens", async () => {
    const bot = await createUser({ username: 'ci-bot', kind: 'service', role: 'viewer' });
    const created = await json<{ id: string; token: string }>(
      call(`/api/v1/users/${bot.id}/tokens`, { method: 'POST', json: { name: 'ci' } }),
    );
    const botAuth = `Bearer ${created.token}`;
    expect(
      await json<{ username: string; kind: string }>(call('/api/v1/auth/me', { auth: botAuth })),
    ).toMatchObject({
      username: 'ci-bot',
      kind: 'service',
    });
    const tokens = await json<Array<{ id: string; name: string; lastUsedAt: string | null }>>(
      call(`/api/v1/users/${bot.id}/tokens`),
    );
    expect(tokens.map((t) => t.name)).toEqual(['ci']);
    expect(tokens[0]!.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(tokens)).not.toContain(created.token);

    const user = await createUser({ username: 'gina', password: 'gina-secret-1', role: 'viewer' });
    const session = await login('gina', 'gina-secret-1');
    expect(session.res.status).toBe(200);
    expect((await call('/api/v1/auth/me', { cookie: session.cookie })).status).toBe(200);

    for (const u of [bot, user]) {
      const disabled = await json<UserView>(
        call(`/api/v1/users/${u.id}/disable`, { method: 'POST', json: {} }),
      );
      expect(disabled.disabled).toBe(true);
    }
    expect((await call('/api/v1/auth/me', { auth: botAuth })).status).toBe(401);
    expect((await call('/v2/apps', { auth: botAuth })).status).toBe(401);
    expect((await call('/api/v1/auth/me', { cookie: session.cookie })).status).toBe(401);
    expect(await cluster.control.db.prisma.session.count({ where: { userId: user.id } })).toBe(0);
    const refused = await login('gina', 'gina-secret-1');
    expect(refused.res.status).toBe(403);
    expect(await refused.res.text()).toContain('account gina is disabled');

    await json(call(`/api/v1/users/${bot.id}/enable`, { method: 'POST', json: {} }));
    expect((await call('/api/v1/auth/me', { auth: botAuth })).status).toBe(200);

    // Revoked, the token is gone for good.
    await json(call(`/api/v1/users/${bot.id}/tokens/${created.id}`, { method: 'DELETE' }));
    expect((await call('/api/v1/auth/me', { auth: botAuth })).status).toBe(401);
    // Tokens are a service account's: a user makes their own.
    const userTokens = await call(`/api/v1/users/${user.id}/tokens`);
    expect(userTokens.status).toBe(409);
  });

  it('a service account cannot log in with a password', async () => {
    await createUser({ username: 'pw-bot', kind: 'service' });
    const r = await login('pw-bot', 'anything-at-all');
    expect(r.res.status).toBe(401);
    expect(r.setCookie).toBe('');
  });

  it('refuses to delete, disable or demote the last enabled admin, or yourself, with 409', async () => {
    const admin = await cluster.control.db.prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
    const self = await call(`/api/v1/users/${admin.id}`, { method: 'DELETE' });
    expect(self.status).toBe(409);
    expect(await self.text()).toContain('your own account');

    // An admin service account may administer, but it cannot log in: 'admin' stays the last one.
    const opsBot = await createUser({ username: 'ops-bot', kind: 'service', role: 'admin' });
    const { token } = await json<{ token: string }>(
      call(`/api/v1/users/${opsBot.id}/tokens`, { method: 'POST', json: { name: 'ops' } }),
    );
    const asBot = `Bearer ${token}`;
    for (const [method, p, body] of [
      ['DELETE', `/api/v1/users/${admin.id}`, undefined],
      ['POST', `/api/v1/users/${admin.id}/disable`, undefined],
      ['PATCH', `/api/v1/users/${admin.id}`, { role: 'operator' }],
    ] as const) {
      const res = await call(p, {
        method,
        auth: asBot,
        ...(method === 'POST' ? { json: {} } : body ? { json: body } : {}),
      });
      const text = await res.text();
      expect(res.status, `${method} ${p}: ${text}`).toBe(409);
      expect(text).toContain('admin is the last enabled admin');
    }
    expect(
      await cluster.control.db.prisma.user.count({
        where: { username: 'admin', disabled: false, role: 'admin' },
      }),
    ).toBe(1);

    // With a second admin user, the first may go.
    const second = await createUser({ username: 'admin2', password: 'admin2-secret-1', role: 'admin' });
    const demoted = await json<UserView>(
      call(`/api/v1/users/${second.id}`, {
        method: 'PATCH',
        auth: asBot,
        json: { role: 'viewer', scope: '/team-b' },
      }),
    );
    expect([demoted.role, demoted.scope]).toEqual(['viewer', '/team-b']);
    await json(call(`/api/v1/users/${opsBot.id}`, { method: 'DELETE' }));
    expect((await call('/api/v1/auth/me', { auth: asBot })).status).toBe(401);
  });

  it('only admins manage users: a viewer gets 403', async () => {
    const bot = await createUser({ username: 'view-bot', kind: 'service', role: 'viewer' });
    const { token } = await json<{ token: string }>(
      call(`/api/v1/users/${bot.id}/tokens`, { method: 'POST', json: { name: 'v' } }),
    );
    expect((await call('/api/v1/users', { auth: `Bearer ${token}` })).status).toBe(403);
    const create = await call('/api/v1/users', {
      method: 'POST',
      auth: `Bearer ${token}`,
      json: { username: 'sneaky', kind: 'service', role: 'admin' },
    });
    expect(create.status).toBe(403);
    expect(await cluster.control.db.prisma.user.count({ where: { username: 'sneaky' } })).toBe(0);
  });

  it("a password reset ends the user's sessions; a generated password is shown once and works", async () => {
    const user = await createUser({ username: 'hank', password: 'hank-secret-1' });
    const before = await login('hank', 'hank-secret-1');
    expect((await call('/api/v1/auth/me', { cookie: before.cookie })).status).toBe(200);
    // The new session's idle deadline is 12 hours away, not 7 days.
    const session = await cluster.control.db.prisma.session.findFirstOrThrow({ where: { userId: user.id } });
    const hours = (session.expiresAt.getTime() - session.createdAt.getTime()) / 3600_000;
    expect(hours).toBe(12);

    const reset = await json<{ generatedPassword: string | null; revokedSessions: number }>(
      call(`/api/v1/users/${user.id}/password`, { method: 'POST', json: {} }),
    );
    expect(reset.revokedSessions).toBe(1);
    expect(reset.generatedPassword).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect((await call('/api/v1/auth/me', { cookie: before.cookie })).status).toBe(401);
    expect((await login('hank', 'hank-secret-1')).res.status).toBe(401);
    const after = await login('hank', reset.generatedPassword!);
    expect(after.res.status).toBe(200);

    // Hank changes it himself: the current one is checked, the new one follows the rules, and his
    // other sessions end while this one stays.
    const other = await cluster.control.db.prisma.session.create({
      data: { tokenHash: 'f'.repeat(64), userId: user.id, expiresAt: new Date(Date.now() + 3600_000) },
    });
    const change = (currentPassword: string, newPassword: string) =>
      call('/api/v1/auth/password', {
        method: 'POST',
        cookie: after.cookie,
        json: { currentPassword, newPassword },
      });
    const wrong = await change('not-it-at-all', 'hank-secret-3');
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain('currentPassword');
    const weak = await change(reset.generatedPassword!, 'short');
    expect(weak.status).toBe(422);
    expect(await weak.text()).toContain('newPassword');
    expect(
      await json<{ revokedSessions: number }>(change(reset.generatedPassword!, 'hank-secret-3')),
    ).toEqual({
      revokedSessions: 1,
    });
    expect(await cluster.control.db.prisma.session.count({ where: { tokenHash: other.tokenHash } })).toBe(0);

    const sessions = await json<Array<{ id: string; current: boolean }>>(
      call('/api/v1/auth/sessions', { cookie: after.cookie }),
    );
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.current).toBe(true);
    await json(
      call(`/api/v1/auth/sessions/${sessions[0]!.id}`, { method: 'DELETE', cookie: after.cookie, json: {} }),
    );
    expect((await call('/api/v1/auth/me', { cookie: after.cookie })).status).toBe(401);
  });

  it('the session cookie is HttpOnly and SameSite=Lax, and Secure behind an https edge', async () => {
    await createUser({ username: 'ivy', password: 'ivy-secret-12' });
    const plain = await login('ivy', 'ivy-secret-12');
    expect(plain.res.status).toBe(200);
    const attrs = (c: string) => c.split(';').map((p) => p.trim().toLowerCase());
    expect(attrs(plain.setCookie)).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']));
    expect(attrs(plain.setCookie)).not.toContain('secure');

    const edge = await login('ivy', 'ivy-secret-12', { 'x-forwarded-proto': 'https' });
    expect(edge.res.status).toBe(200);
    expect(attrs(edge.setCookie)).toEqual(expect.arrayContaining(['httponly', 'samesite=lax', 'secure']));

    // Logout revokes the session (not just the cookie) and clears the cookie with the same flags.
    const out = await call('/api/v1/auth/logout', {
      method: 'POST',
      json: {},
      cookie: edge.cookie,
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(out.status).toBe(200);
    expect(attrs(out.headers.get('set-cookie') ?? '')).toEqual(
      expect.arrayContaining(['secure', 'httponly']),
    );
    expect((await call('/api/v1/auth/me', { cookie: edge.cookie })).status).toBe(401);
    expect((await call('/api/v1/auth/me', { cookie: plain.cookie })).status).toBe(200);
  });

  // Last: it uses up this address's login attempts for the minute.
  it('limits login attempts per address, Basic passwords included: 429 with Retry-After', async () => {
    const basic = (user: string, secret: string) =>
      `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
    // Marathon's Basic with a password: each failure counts, until the address is refused.
    let limited: Response | null = null;
    for (let i = 0; i < 25 && !limited; i++) {
      // A spray: another name each time, so no account's lockout comes into it.
      const res = await call('/v2/apps', { auth: basic(`spray-${i}`, 'Summer2026!') });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(401);
    }
    expect(limited).not.toBeNull();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited!.json()) as { message: string }).message).toMatch(/too many login attempts/);
    // Before any password check: the right Basic password and the login routes are refused too...
    expect((await call('/v2/apps', { auth: basic('admin', cluster.adminPassword) })).status).toBe(429);
    const rest = await login('admin', cluster.adminPassword);
    expect(rest.res.status).toBe(429);
    expect(Number(rest.res.headers.get('retry-after'))).toBeGreaterThan(0);
    // ...in tRPC's shape for tRPC's callers (the console's login page, atoll cluster setup)...
    const trpc = await call('/api/trpc/auth.login?batch=1', {
      method: 'POST',
      auth: null,
      json: { 0: { username: 'admin', password: cluster.adminPassword } },
    });
    expect(trpc.status).toBe(429);
    const body = (await trpc.json()) as Array<{ error: { message: string; data: { code: string } } }>;
    expect(body[0]?.error.data.code).toBe('TOO_MANY_REQUESTS');
    expect(body[0]?.error.message).toMatch(/too many login attempts/);
    // ...while tokens, in Basic or as Bearer, are no password guess and still work.
    expect((await call('/v2/apps', { auth: basic('admin', cluster.token) })).status).toBe(200);
    expect((await call('/v2/apps')).status).toBe(200);
  });
});

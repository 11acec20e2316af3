import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { AppError } from '../errors';
import type { AuthUser, Services } from '../context';

const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

/**
 * Creates the first admin when there is no user yet. Returns the password only when it was
 * generated here (so it can be printed once); an explicit ATOLL_ADMIN_PASSWORD is not echoed.
 */
export async function ensureFirstAdmin(
  s: Pick<Services, 'db'>,
  password?: string,
): Promise<{ created: boolean; username: string; generatedPassword?: string }> {
  const count = await s.db.prisma.user.count();
  if (count > 0) return { created: false, username: 'admin' };
  const generated = password ? undefined : randomBytes(12).toString('base64url');
  await s.db.prisma.user.create({
    data: { username: 'admin', role: 'admin', passwordHash: await hash(password ?? generated!) },
  });
  return { created: true, username: 'admin', ...(generated ? { generatedPassword: generated } : {}) };
}

export async function login(
  s: Pick<Services, 'db' | 'now'>,
  username: string,
  password: string,
): Promise<{ token: string; expiresAt: Date; user: AuthUser }> {
  const user = await s.db.prisma.user.findUnique({ where: { username } });
  // Verify against a dummy hash when the user is unknown so timing does not reveal usernames.
  const ok = await verify(user?.passwordHash ?? (await dummyHash()), password);
  if (!user || !ok) throw new AppError('UNAUTHORIZED', 'invalid username or password');
  const token = newSecret('ses');
  const expiresAt = new Date(s.now().getTime() + SESSION_TTL_MS);
  await s.db.prisma.session.create({ data: { tokenHash: sha256(token), userId: user.id, expiresAt } });
  return { token, expiresAt, user: toAuthUser(user) };
}

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hash(randomBytes(16).toString('hex'));
  return dummy;
}

export async function logout(s: Pick<Services, 'db'>, token: string): Promise<void> {
  await s.db.prisma.session.deleteMany({ where: { tokenHash: sha256(token) } });
}

/** How a request proved who it is: the session cookie, a token (`Bearer x`, `token=x`) or HTTP Basic. */
export type AuthMethod = 'session' | 'token' | 'basic';

/** Resolves a session cookie or an API token (`Bearer x` or DC/OS's `token=x`) to a user. */
export async function authenticate(
  s: Pick<Services, 'db' | 'now'>,
  creds: { sessionToken?: string | undefined; authorization?: string | undefined },
): Promise<AuthUser | null> {
  return (await authenticateRequest(s, creds))?.user ?? null;
}

/**
 * Resolves a request's credentials to a user and says which one it was. Besides the session
 * cookie and tokens, HTTP Basic (Marathon's own `--http_credentials`, what its clients send as
 * username and password): the user's name with their password, or with one of their API or
 * session tokens in its place.
 */
export async function authenticateRequest(
  s: Pick<Services, 'db' | 'now'>,
  creds: { sessionToken?: string | undefined; authorization?: string | undefined },
): Promise<{ user: AuthUser; method: AuthMethod } | null> {
  if (creds.sessionToken) {
    const user = await userOfToken(s, creds.sessionToken);
    if (user) return { user, method: 'session' };
  }
  const token = parseAuthorization(creds.authorization);
  if (token) {
    const user = await userOfToken(s, token);
    return user ? { user, method: 'token' } : null;
  }
  const basic = parseBasicAuthorization(creds.authorization);
  if (basic) {
    const user = await userOfBasic(s, basic.username, basic.secret);
    return user ? { user, method: 'basic' } : null;
  }
  return null;
}

async function userOfToken(s: Pick<Services, 'db' | 'now'>, token: string): Promise<AuthUser | null> {
  const tokenHash = sha256(token);
  const now = s.now();
  if (token.startsWith('ses_')) {
    const session = await s.db.prisma.session.findUnique({ where: { tokenHash }, include: { user: true } });
    return session && session.expiresAt > now ? toAuthUser(session.user) : null;
  }
  const apiToken = await s.db.prisma.apiToken.findUnique({ where: { tokenHash }, include: { user: true } });
  return apiToken && (!apiToken.expiresAt || apiToken.expiresAt > now) ? toAuthUser(apiToken.user) : null;
}

/** Basic: a token of that user (a cheap lookup) or, failing that, the user's password (argon2). */
async function userOfBasic(
  s: Pick<Services, 'db' | 'now'>,
  username: string,
  secret: string,
): Promise<AuthUser | null> {
  if (/^(ses|atl)_/.test(secret)) {
    const user = await userOfToken(s, secret);
    if (user) return user.username === username ? user : null;
  }
  const user = await s.db.prisma.user.findUnique({ where: { username } });
  // Verify against a dummy hash when the user is unknown so timing does not reveal usernames.
  const ok = await verify(user?.passwordHash ?? (await dummyHash()), secret);
  return user && ok ? toAuthUser(user) : null;
}

function toAuthUser(u: {
  id: string;
  username: string;
  role: string;
  scope: string | null;
  kind: string;
}): AuthUser {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    scope: u.role === 'admin' ? null : u.scope,
    kind: u.kind,
  };
}

export function parseAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(?:Bearer\s+|token=)(\S+)$/i.exec(header.trim());
  return m?.[1];
}

/** `Basic base64(username:secret)`, or undefined when the header is not that. */
export function parseBasicAuthorization(
  header: string | undefined,
): { username: string; secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header?.trim() ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export async function createApiToken(
  s: Pick<Services, 'db'>,
  userId: string,
  name: string,
  expiresAt?: Date,
): Promise<{ id: string; token: string }> {
  const token = newSecret('atl');
  const row = await s.db.prisma.apiToken.create({
    data: { name, userId, tokenHash: sha256(token), expiresAt: expiresAt ?? null },
  });
  return { id: row.id, token };
}

export async function listApiTokens(s: Pick<Services, 'db'>, userId: string) {
  const rows = await s.db.prisma.apiToken.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } });
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    createdAt: r.createdAt.toISOString(),
    expiresAt: r.expiresAt?.toISOString() ?? null,
  }));
}

export async function revokeApiToken(s: Pick<Services, 'db'>, userId: string, id: string): Promise<void> {
  const { count } = await s.db.prisma.apiToken.deleteMany({ where: { id, userId } });
  if (count === 0) throw AppError.notFound(`API token ${id}`);
}

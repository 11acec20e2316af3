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
  return { token, expiresAt, user: { id: user.id, username: user.username, role: user.role } };
}

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hash(randomBytes(16).toString('hex'));
  return dummy;
}

export async function logout(s: Pick<Services, 'db'>, token: string): Promise<void> {
  await s.db.prisma.session.deleteMany({ where: { tokenHash: sha256(token) } });
}

/** Resolves a session cookie or an API token (`Bearer x` or DC/OS's `token=x`) to a user. */
export async function authenticate(
  s: Pick<Services, 'db' | 'now'>,
  creds: { sessionToken?: string | undefined; authorization?: string | undefined },
): Promise<AuthUser | null> {
  const now = s.now();
  const bearer = parseAuthorization(creds.authorization);
  for (const token of [creds.sessionToken, bearer]) {
    if (!token) continue;
    const tokenHash = sha256(token);
    if (token.startsWith('ses_')) {
      const session = await s.db.prisma.session.findUnique({ where: { tokenHash }, include: { user: true } });
      if (session && session.expiresAt > now) return toAuthUser(session.user);
    } else {
      const apiToken = await s.db.prisma.apiToken.findUnique({
        where: { tokenHash },
        include: { user: true },
      });
      if (apiToken && (!apiToken.expiresAt || apiToken.expiresAt > now)) return toAuthUser(apiToken.user);
    }
  }
  return null;
}

function toAuthUser(u: { id: string; username: string; role: string }): AuthUser {
  return { id: u.id, username: u.username, role: u.role };
}

export function parseAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(?:Bearer\s+|token=)(\S+)$/i.exec(header.trim());
  return m?.[1];
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

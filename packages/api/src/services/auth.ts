import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { AppError } from '../errors';
import type { AuthUser, Services } from '../context';

/** A session ends this long after login whatever happens (the cookie's own lifetime). */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
/** …and earlier when it is not used for this long. */
export const SESSION_IDLE_MS = 12 * 3600 * 1000;
/**
 * How far a session's idle deadline must move before it is written again: a session in use is
 * written at most once a minute, not on every request.
 */
export const SESSION_TOUCH_MS = 60 * 1000;
/** Consecutive failed logins that lock an account, and for how long. */
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60 * 1000;
export const MIN_PASSWORD_LENGTH = 10;
/** Login attempts one address may make per window (all attempts, good or bad). */
export const LOGIN_ATTEMPTS_PER_MINUTE = 20;

/**
 * Passwords people pick first and lists of leaked passwords open with; refused whatever their
 * length. Short on purpose: the length rule does most of the work.
 */
const COMMON_PASSWORDS = new Set([
  '1234567890',
  '12345678910',
  '0123456789',
  '0987654321',
  '1111111111',
  '1q2w3e4r5t',
  '1qaz2wsx3edc',
  'qwertyuiop',
  'qwerty12345',
  'qwerty123456',
  'asdfghjkl;',
  'password12',
  'password123',
  'password1234',
  'passw0rd123',
  'iloveyou123',
  'letmein1234',
  'welcome123',
  'welcome1234',
  'administrator',
  'admin12345',
  'admin123456',
  'changeme123',
  'changeme!!',
  'trustno1234',
  'football123',
  'baseball123',
  'superman123',
  'princess123',
  'starwars123',
  'sunshine123',
  'dragon12345',
  'monkey12345',
  'abcdefghij',
  'abc1234567',
  'atollatoll',
  'atoll12345',
  'mesosphere',
  'marathon123',
]);

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

/** A password an admin hands on (a reset without one given): 20 characters of base64url. */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

/** Why `password` is not acceptable for `username`, or null when it is. */
export function passwordProblem(password: string, username: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > 1024) return 'must have at most 1024 characters';
  const lower = password.toLowerCase();
  if (username && lower === username.toLowerCase()) return 'must not be the username';
  if (COMMON_PASSWORDS.has(lower)) return 'is too common; choose another';
  if (/^(.)\1*$/.test(password)) return 'must not be one character repeated';
  return null;
}

/** Throws a 422 naming `field` unless `password` follows the rules. */
export function assertPasswordRules(password: string, username: string, field = 'password'): void {
  const problem = passwordProblem(password, username);
  if (problem) throw AppError.invalid([{ path: field, message: `${field} ${problem}` }]);
}

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

/** The hash column of an account that has no password (a service account): matches nothing. */
export const NO_PASSWORD = '!';

/** argon2 verification that is false (not an exception) for a hash that is not one. */
async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (!passwordHash.startsWith('$')) return false;
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/**
 * The lock that follows a failed login: after `consecutiveFailures` failures in a row (this one
 * included), the time until which the account refuses logins, or null while under the limit.
 */
export function lockoutAfter(consecutiveFailures: number, now: Date): Date | null {
  return consecutiveFailures >= MAX_FAILED_LOGINS ? new Date(now.getTime() + LOCKOUT_MS) : null;
}

export function isLocked(lockedUntil: Date | null, now: Date): lockedUntil is Date {
  return lockedUntil !== null && lockedUntil > now;
}

export function lockedError(until: Date): AppError {
  return new AppError(
    'TOO_MANY_REQUESTS',
    `account locked until ${until.toISOString()} after ${MAX_FAILED_LOGINS} failed logins`,
  );
}

/** A session's idle deadline: `idle` after `now`, never past its absolute end. */
export function sessionDeadline(createdAt: Date, now: Date): Date {
  return new Date(Math.min(createdAt.getTime() + SESSION_TTL_MS, now.getTime() + SESSION_IDLE_MS));
}

/** The new deadline of a session used at `now`, or null when it moved too little to be written. */
export function sessionTouch(createdAt: Date, expiresAt: Date, now: Date): Date | null {
  const next = sessionDeadline(createdAt, now);
  return next.getTime() - expiresAt.getTime() >= SESSION_TOUCH_MS ? next : null;
}

/**
 * Login attempts per client address in a sliding window, in memory (each control replica counts
 * its own). `hit` records an attempt and says whether it is allowed and, if not, in how many
 * seconds the oldest attempt leaves the window.
 */
export class LoginRateLimiter {
  private readonly attempts = new Map<string, number[]>();

  constructor(
    readonly limit = LOGIN_ATTEMPTS_PER_MINUTE,
    readonly windowMs = 60_000,
    /** Addresses remembered at most; the oldest are forgotten beyond it. */
    private readonly maxKeys = 10_000,
  ) {}

  /** Whether one more attempt would be allowed, without recording one. */
  check(key: string, nowMs: number): { allowed: boolean; retryAfterSeconds: number } {
    const since = nowMs - this.windowMs;
    const list = (this.attempts.get(key) ?? []).filter((t) => t > since);
    if (list.length < this.limit) return { allowed: true, retryAfterSeconds: 0 };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((list[0]! - since) / 1000)) };
  }

  /** Records `count` attempts (a tRPC batch may carry several logins) unless they exceed the limit. */
  hit(key: string, nowMs: number, count = 1): { allowed: boolean; retryAfterSeconds: number } {
    const since = nowMs - this.windowMs;
    const list = (this.attempts.get(key) ?? []).filter((t) => t > since);
    if (list.length + count > this.limit) {
      this.attempts.set(key, list);
      const oldest = list[0] ?? nowMs;
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest - since) / 1000)) };
    }
    for (let i = 0; i < count; i++) list.push(nowMs);
    // Re-inserted last, so the Map's order is the order of last use.
    this.attempts.delete(key);
    this.attempts.set(key, list);
    if (this.attempts.size > this.maxKeys) {
      const oldest = this.attempts.keys().next().value;
      if (oldest !== undefined) this.attempts.delete(oldest);
    }
    return { allowed: true, retryAfterSeconds: 0 };
  }
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

type UserRow = {
  id: string;
  username: string;
  passwordHash: string;
  role: string;
  scope: string | null;
  kind: string;
  disabled: boolean;
  failedLogins: number;
  lockedUntil: Date | null;
};

/**
 * Checks a password login: locked accounts are refused without looking at the password, a
 * failure counts towards the lock (the one that reaches the limit answers with the lock), a
 * success clears the count. Service accounts have no password; disabled users are refused once
 * their password is right (so a guesser learns nothing). Returns the user on success.
 */
async function checkPasswordLogin(
  s: Pick<Services, 'db' | 'now'>,
  user: UserRow | null,
  password: string,
): Promise<UserRow> {
  const now = s.now();
  if (user && isLocked(user.lockedUntil, now)) throw lockedError(user.lockedUntil);
  const usable = user !== null && user.kind === 'user';
  // Verify against a dummy hash when there is no usable password so timing does not reveal names.
  const ok = await verifyPassword(usable ? user.passwordHash : await dummyHash(), password);
  if (!usable || !ok) {
    if (usable) {
      const until = await recordFailedLogin(s, user.id, now);
      if (until) throw lockedError(until);
    }
    throw new AppError('UNAUTHORIZED', 'invalid username or password');
  }
  if (user.disabled) throw new AppError('FORBIDDEN', `account ${user.username} is disabled`);
  if (user.failedLogins > 0 || user.lockedUntil) {
    await s.db.prisma.user.update({ where: { id: user.id }, data: { failedLogins: 0, lockedUntil: null } });
  }
  return user;
}

/** Counts a failed login (an atomic increment) and locks the account when it reaches the limit. */
async function recordFailedLogin(s: Pick<Services, 'db'>, userId: string, now: Date): Promise<Date | null> {
  const row = await s.db.prisma.user.update({
    where: { id: userId },
    data: { failedLogins: { increment: 1 } },
    select: { failedLogins: true },
  });
  const until = lockoutAfter(row.failedLogins, now);
  if (until) {
    // The count starts again once the lock is over: five more tries, then the next lock.
    await s.db.prisma.user.update({ where: { id: userId }, data: { failedLogins: 0, lockedUntil: until } });
  }
  return until;
}

export async function login(
  s: Pick<Services, 'db' | 'now'>,
  username: string,
  password: string,
): Promise<{ token: string; expiresAt: Date; user: AuthUser }> {
  const user = await s.db.prisma.user.findUnique({ where: { username } });
  await checkPasswordLogin(s, user, password);
  const now = s.now();
  const token = newSecret('ses');
  await s.db.prisma.session.create({
    data: {
      tokenHash: sha256(token),
      userId: user!.id,
      createdAt: now,
      expiresAt: sessionDeadline(now, now),
    },
  });
  // The cookie lives as long as the session may; the idle deadline is the server's to enforce.
  return { token, expiresAt: new Date(now.getTime() + SESSION_TTL_MS), user: toAuthUser(user!) };
}

let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hash(randomBytes(16).toString('hex'));
  return dummy;
}

export async function logout(s: Pick<Services, 'db'>, token: string): Promise<void> {
  await s.db.prisma.session.deleteMany({ where: { tokenHash: sha256(token) } });
}

/** Ends every session of a user but the one of `keepToken` (the caller's own, when given). */
export async function revokeSessions(
  s: Pick<Services, 'db'>,
  userId: string,
  keepToken?: string,
): Promise<number> {
  const { count } = await s.db.prisma.session.deleteMany({
    where: { userId, ...(keepToken ? { tokenHash: { not: sha256(keepToken) } } : {}) },
  });
  return count;
}

/** How a session is named to its owner: the start of its hash (the token itself is never kept). */
export function sessionId(tokenHash: string): string {
  return tokenHash.slice(0, 16);
}

export interface SessionView {
  id: string;
  createdAt: string;
  /** When it was last used, to the minute (its idle deadline less the idle time). */
  lastSeenAt: string;
  /** When it ends unless used again (and at the latest 7 days after login). */
  expiresAt: string;
  /** The session of the request that asked. */
  current: boolean;
}

export async function listSessions(
  s: Pick<Services, 'db' | 'now'>,
  userId: string,
  currentToken?: string,
): Promise<SessionView[]> {
  const rows = await s.db.prisma.session.findMany({
    where: { userId, expiresAt: { gt: s.now() } },
    orderBy: { createdAt: 'desc' },
  });
  const current = currentToken ? sha256(currentToken) : null;
  return rows.map((r) => ({
    id: sessionId(r.tokenHash),
    createdAt: r.createdAt.toISOString(),
    lastSeenAt: new Date(
      Math.max(r.createdAt.getTime(), r.expiresAt.getTime() - SESSION_IDLE_MS),
    ).toISOString(),
    expiresAt: r.expiresAt.toISOString(),
    current: r.tokenHash === current,
  }));
}

export async function revokeSession(s: Pick<Services, 'db'>, userId: string, id: string): Promise<void> {
  if (!/^[0-9a-f]{16}$/.test(id)) throw AppError.notFound(`session ${id}`);
  const { count } = await s.db.prisma.session.deleteMany({
    where: { userId, tokenHash: { startsWith: id } },
  });
  if (count === 0) throw AppError.notFound(`session ${id}`);
}

/**
 * A user changes their own password: the current one proves it is them, the new one follows the
 * rules. Their other sessions end; the one they are using stays.
 */
export async function changeOwnPassword(
  s: Pick<Services, 'db' | 'now'>,
  me: AuthUser,
  currentPassword: string,
  newPassword: string,
  currentSessionToken?: string,
): Promise<{ revokedSessions: number }> {
  const user = await s.db.prisma.user.findUnique({ where: { id: me.id } });
  if (!user) throw AppError.notFound(`user ${me.username}`);
  if (user.kind !== 'user')
    throw new AppError('CONFLICT', `${user.username} is a service account: it has no password`);
  if (!(await verifyPassword(user.passwordHash, currentPassword)))
    throw AppError.invalid([{ path: 'currentPassword', message: 'currentPassword is not your password' }]);
  assertPasswordRules(newPassword, user.username, 'newPassword');
  if (newPassword === currentPassword)
    throw AppError.invalid([
      { path: 'newPassword', message: 'newPassword must differ from the current one' },
    ]);
  await s.db.prisma.user.update({
    where: { id: user.id },
    data: { passwordHash: await hash(newPassword), passwordChangedAt: s.now() },
  });
  return { revokedSessions: await revokeSessions(s, user.id, currentSessionToken) };
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
 * session tokens in its place. A disabled user's credentials resolve to nobody.
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
    if (!session || session.expiresAt <= now || session.user.disabled) return null;
    const next = sessionTouch(session.createdAt, session.expiresAt, now);
    if (next) await s.db.prisma.session.updateMany({ where: { tokenHash }, data: { expiresAt: next } });
    return toAuthUser(session.user);
  }
  const apiToken = await s.db.prisma.apiToken.findUnique({ where: { tokenHash }, include: { user: true } });
  if (!apiToken || (apiToken.expiresAt && apiToken.expiresAt <= now) || apiToken.user.disabled) return null;
  // When it was last used, to the minute: at most one write a minute per token.
  if (!apiToken.lastUsedAt || now.getTime() - apiToken.lastUsedAt.getTime() >= SESSION_TOUCH_MS) {
    await s.db.prisma.apiToken.updateMany({ where: { id: apiToken.id }, data: { lastUsedAt: now } });
  }
  return toAuthUser(apiToken.user);
}

/**
 * Basic: a token of that user (a cheap lookup) or, failing that, the user's password (argon2),
 * under the same lockout as the login.
 */
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
  try {
    return toAuthUser(await checkPasswordLogin(s, user, secret));
  } catch (err) {
    if (err instanceof AppError) return null;
    throw err;
  }
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

export interface ApiTokenView {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
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

export async function listApiTokens(s: Pick<Services, 'db'>, userId: string): Promise<ApiTokenView[]> {
  const rows = await s.db.prisma.apiToken.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } });
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    createdAt: r.createdAt.toISOString(),
    expiresAt: r.expiresAt?.toISOString() ?? null,
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
  }));
}

export async function revokeApiToken(s: Pick<Services, 'db'>, userId: string, id: string): Promise<void> {
  const { count } = await s.db.prisma.apiToken.deleteMany({ where: { id, userId } });
  if (count === 0) throw AppError.notFound(`API token ${id}`);
}

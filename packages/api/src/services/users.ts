import type { Prisma } from '@atoll/db';
import { AppError } from '../errors';
import type { AuthUser, Services } from '../context';
import { assertAccess, type Role } from './access';
import {
  assertPasswordRules,
  createApiToken,
  generatePassword,
  hashPassword,
  isLocked,
  listApiTokens,
  NO_PASSWORD,
  revokeApiToken,
  revokeSessions,
  type ApiTokenView,
} from './auth';

/**
 * Users and service accounts, as DC/OS's Organization page and Nomad's ACL tokens manage them:
 * admins create, change, disable and delete accounts, reset passwords and hand service accounts
 * their API tokens. A user logs in with a password; a service account has none and works only
 * with tokens. The cluster always keeps one enabled admin who can log in.
 */

export const userKinds = ['user', 'service'] as const;
export type UserKind = (typeof userKinds)[number];
/** Lowercase letters, digits, dot, underscore and hyphen (what DC/OS's uids allow). */
export const USERNAME_PATTERN = /^[a-z0-9._-]{1,64}$/;
/** A group path: `/team-a`, `/team-a/web` (Marathon's id segments). */
export const SCOPE_PATTERN = /^(\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?)+$/;

export interface UserView {
  id: string;
  username: string;
  role: string;
  scope: string | null;
  kind: string;
  disabled: boolean;
  /** Until when logins are refused after repeated failures; null when not locked. */
  lockedUntil: string | null;
  createdAt: string;
  passwordChangedAt: string | null;
  /** API tokens the account holds. */
  tokens: number;
}

const viewSelect = {
  id: true,
  username: true,
  role: true,
  scope: true,
  kind: true,
  disabled: true,
  lockedUntil: true,
  createdAt: true,
  passwordChangedAt: true,
  _count: { select: { apiTokens: true } },
} satisfies Prisma.UserSelect;
type ViewRow = Prisma.UserGetPayload<{ select: typeof viewSelect }>;

function toView(u: ViewRow, now: Date): UserView {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    scope: u.role === 'admin' ? null : u.scope,
    kind: u.kind,
    disabled: u.disabled,
    lockedUntil: isLocked(u.lockedUntil, now) ? u.lockedUntil.toISOString() : null,
    createdAt: u.createdAt.toISOString(),
    passwordChangedAt: u.passwordChangedAt?.toISOString() ?? null,
    tokens: u._count.apiTokens,
  };
}

type S = Pick<Services, 'db' | 'now'>;

export async function listUsers(s: S, actor: AuthUser | null): Promise<UserView[]> {
  assertAccess(actor, 'admin');
  const rows = await s.db.prisma.user.findMany({ select: viewSelect, orderBy: { username: 'asc' } });
  const now = s.now();
  return rows.map((r) => toView(r, now));
}

export async function getUser(s: S, actor: AuthUser | null, id: string): Promise<UserView> {
  assertAccess(actor, 'admin');
  return toView(await findUser(s, id), s.now());
}

async function findUser(s: Pick<Services, 'db'>, id: string): Promise<ViewRow> {
  const row = await s.db.prisma.user.findUnique({ where: { id }, select: viewSelect });
  if (!row) throw AppError.notFound(`user ${id}`);
  return row;
}

export interface CreateUserInput {
  username: string;
  kind?: UserKind | undefined;
  role?: Role | undefined;
  scope?: string | null | undefined;
  password?: string | undefined;
}

/** Field checks the input schema cannot express (422 naming the field). */
function checkScope(role: string, scope: string | null | undefined): void {
  if (scope && role === 'admin')
    throw AppError.invalid([
      { path: 'scope', message: 'scope does not apply to admins: they see everything' },
    ]);
  if (scope && !SCOPE_PATTERN.test(scope))
    throw AppError.invalid([{ path: 'scope', message: 'scope must be a group path such as /team-a' }]);
}

export async function createUser(s: S, actor: AuthUser | null, input: CreateUserInput): Promise<UserView> {
  assertAccess(actor, 'admin');
  const kind = input.kind ?? 'user';
  const role = input.role ?? 'viewer';
  if (!USERNAME_PATTERN.test(input.username))
    throw AppError.invalid([
      {
        path: 'username',
        message: 'username must be 1 to 64 of a-z, 0-9, dot, underscore and hyphen',
      },
    ]);
  checkScope(role, input.scope);
  let passwordHash = NO_PASSWORD;
  if (kind === 'user') {
    if (!input.password)
      throw AppError.invalid([{ path: 'password', message: 'password is required for a user' }]);
    assertPasswordRules(input.password, input.username);
    passwordHash = await hashPassword(input.password);
  } else if (input.password) {
    throw AppError.invalid([
      { path: 'password', message: 'a service account has no password: give it API tokens' },
    ]);
  }
  const now = s.now();
  try {
    const row = await s.db.prisma.user.create({
      data: {
        username: input.username,
        kind,
        role,
        scope: input.scope || null,
        passwordHash,
        passwordChangedAt: kind === 'user' ? now : null,
        createdAt: now,
      },
      select: viewSelect,
    });
    return toView(row, now);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'P2002')
      throw new AppError('CONFLICT', `user ${input.username} already exists`);
    throw err;
  }
}

/**
 * Runs `change` after checking (under a lock on the admins' rows, so two admins cannot demote each
 * other at once) that some other enabled admin who can log in would remain.
 */
async function keepingAnAdmin<T>(
  s: S,
  target: ViewRow,
  losesAdmin: boolean,
  what: string,
  change: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  return s.db.prisma.$transaction(async (tx) => {
    if (losesAdmin && target.role === 'admin' && !target.disabled && target.kind === 'user') {
      const admins = await tx.$queryRaw<Array<{ id: string }>>`
        SELECT id::text FROM users
        WHERE role = 'admin' AND NOT disabled AND kind = 'user'
        FOR UPDATE`;
      if (admins.filter((a) => a.id !== target.id).length === 0) {
        throw new AppError(
          'CONFLICT',
          `${target.username} is the last enabled admin; ${what} would leave nobody to administer the cluster — make another user admin first`,
        );
      }
    }
    return change(tx);
  });
}

function refuseSelf(actor: AuthUser, target: ViewRow, what: string): void {
  if (actor.id === target.id)
    throw new AppError('CONFLICT', `you cannot ${what} your own account; ask another admin`);
}

export async function updateUser(
  s: S,
  actor: AuthUser | null,
  id: string,
  input: { role?: Role | undefined; scope?: string | null | undefined },
): Promise<UserView> {
  assertAccess(actor, 'admin');
  const target = await findUser(s, id);
  const role = input.role ?? target.role;
  checkScope(role, input.scope);
  // An admin carries no scope: one made admin loses it; otherwise it stays unless given.
  const scope = role === 'admin' ? null : input.scope !== undefined ? input.scope || null : target.scope;
  if (role !== 'admin' && target.role === 'admin') refuseSelf(actor, target, 'demote');
  const row = await keepingAnAdmin(s, target, role !== 'admin', `making it ${role}`, (tx) =>
    tx.user.update({ where: { id }, data: { role, scope }, select: viewSelect }),
  );
  return toView(row, s.now());
}

/** Disabling ends the account's sessions and makes its tokens fail (they stay, for enabling). */
export async function setDisabled(
  s: S,
  actor: AuthUser | null,
  id: string,
  disabled: boolean,
): Promise<UserView> {
  assertAccess(actor, 'admin');
  const target = await findUser(s, id);
  if (disabled) refuseSelf(actor, target, 'disable');
  const row = await keepingAnAdmin(s, target, disabled, 'disabling it', async (tx) => {
    const updated = await tx.user.update({
      where: { id },
      // Enabling also lifts a lockout: the admin has looked at the account.
      data: disabled ? { disabled } : { disabled, failedLogins: 0, lockedUntil: null },
      select: viewSelect,
    });
    if (disabled) await tx.session.deleteMany({ where: { userId: id } });
    return updated;
  });
  return toView(row, s.now());
}

/**
 * Sets a user's password (or generates one, returned only here), lifts a lockout and ends the
 * user's sessions.
 */
export async function resetPassword(
  s: S,
  actor: AuthUser | null,
  id: string,
  password?: string,
): Promise<{ user: UserView; generatedPassword: string | null; revokedSessions: number }> {
  assertAccess(actor, 'admin');
  const target = await findUser(s, id);
  if (target.kind !== 'user')
    throw new AppError(
      'CONFLICT',
      `${target.username} is a service account: it has no password, only tokens`,
    );
  if (password !== undefined) assertPasswordRules(password, target.username);
  const generated = password === undefined ? generatePassword() : null;
  const now = s.now();
  const row = await s.db.prisma.user.update({
    where: { id },
    data: {
      passwordHash: await hashPassword(password ?? generated!),
      passwordChangedAt: now,
      failedLogins: 0,
      lockedUntil: null,
    },
    select: viewSelect,
  });
  const revokedSessions = await revokeSessions(s, id);
  return { user: toView(row, now), generatedPassword: generated, revokedSessions };
}

export async function deleteUser(s: S, actor: AuthUser | null, id: string): Promise<{ id: string }> {
  assertAccess(actor, 'admin');
  const target = await findUser(s, id);
  refuseSelf(actor, target, 'delete');
  await keepingAnAdmin(s, target, true, 'deleting it', (tx) => tx.user.delete({ where: { id } }));
  return { id };
}

async function serviceAccount(s: S, id: string): Promise<ViewRow> {
  const target = await findUser(s, id);
  if (target.kind !== 'service')
    throw new AppError(
      'CONFLICT',
      `${target.username} is a user, not a service account: users create their own tokens`,
    );
  return target;
}

export async function listServiceTokens(s: S, actor: AuthUser | null, id: string): Promise<ApiTokenView[]> {
  assertAccess(actor, 'admin');
  await serviceAccount(s, id);
  return listApiTokens(s, id);
}

export async function createServiceToken(
  s: S,
  actor: AuthUser | null,
  id: string,
  name: string,
  expiresInDays?: number,
): Promise<{ id: string; token: string; name: string; expiresAt: string | null }> {
  assertAccess(actor, 'admin');
  await serviceAccount(s, id);
  const expiresAt =
    expiresInDays !== undefined ? new Date(s.now().getTime() + expiresInDays * 24 * 3600 * 1000) : undefined;
  const created = await createApiToken(s, id, name, expiresAt);
  return { ...created, name, expiresAt: expiresAt?.toISOString() ?? null };
}

export async function revokeServiceToken(
  s: S,
  actor: AuthUser | null,
  id: string,
  tokenId: string,
): Promise<void> {
  assertAccess(actor, 'admin');
  await serviceAccount(s, id);
  await revokeApiToken(s, id, tokenId);
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { FieldIssue, TaskSpec } from '@atoll/spec';
import type { AuthUser, Services } from '../context';
import { AppError } from '../errors';
import { assertAccess, inScope } from './access';

/**
 * The secret store (DC/OS's, by path: `/team-a/db-password`). Values are encrypted at rest with
 * AES-256-GCM under a key of the keyring, a fresh 12-byte IV per write and the secret's path as
 * additional authenticated data, so a ciphertext copied to another row does not decrypt. The row
 * names its key (`key_id`); `rotateSecrets` re-encrypts every row under the current key.
 *
 * Values leave this module only through `resolveTaskSecrets`, for the launch message of the task
 * that uses them. Every other answer carries paths and metadata. Changes to secrets are not
 * cluster events (viewers read the events, and may not even see secrets' paths); the audit log
 * (admins) records them.
 */

/** A key of the keyring: an id (kept with each row) and 32 bytes. */
export interface SecretKey {
  id: string;
  key: Buffer;
}

export const SECRET_PATH_MAX = 255;
export const SECRET_VALUE_MAX_BYTES = 64 * 1024;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export class SecretKeyError extends Error {}

/**
 * Parses `id:base64` entries separated by commas or newlines (`ATOLL_SECRET_KEYS`, or the lines of
 * `ATOLL_SECRET_KEY_FILE`); `#` starts a comment line. The first entry is the current key.
 */
export function parseSecretKeys(text: string): SecretKey[] {
  const entries = text
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  const keys: SecretKey[] = [];
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!KEY_ID.test(id))
      throw new SecretKeyError(
        `key ${i + 1}: expected id:base64 with an id of letters, digits, '.', '_' or '-'`,
      );
    const raw = entry.slice(colon + 1);
    const key = Buffer.from(raw, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/_-]+=*$/.test(raw))
      throw new SecretKeyError(`key ${id}: expected 32 bytes in base64 (openssl rand -base64 32)`);
    if (keys.some((k) => k.id === id)) throw new SecretKeyError(`key ${id} is given twice`);
    keys.push({ id, key });
  }
  if (keys.length === 0) throw new SecretKeyError('no key given');
  return keys;
}

/** A new key entry (`id:base64`) for a key file: the id says when it was made. */
export function newSecretKeyEntry(now: Date = new Date()): string {
  const id = `k${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/** The keys secrets are encrypted with: the first is current (new writes), the others only decrypt. */
export class SecretKeyring {
  private readonly byId: Map<string, Buffer>;
  readonly currentId: string;

  constructor(keys: SecretKey[]) {
    if (keys.length === 0) throw new SecretKeyError('no key given');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
    this.currentId = keys[0]!.id;
  }

  static fromText(text: string): SecretKeyring {
    return new SecretKeyring(parseSecretKeys(text));
  }

  /** A keyring of one random key (tests). */
  static random(id = 'test'): SecretKeyring {
    return new SecretKeyring([{ id, key: randomBytes(32) }]);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  encrypt(path: string, value: string): EncryptedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.byId.get(this.currentId)!, iv);
    cipher.setAAD(Buffer.from(path, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return { ciphertext, iv, tag: cipher.getAuthTag(), keyId: this.currentId };
  }

  /** The value, or an error when the key is unknown or the row was altered or moved. */
  decrypt(path: string, row: EncryptedSecret): string {
    const key = this.byId.get(row.keyId);
    if (!key)
      throw new SecretKeyError(`secret ${path} is encrypted with key ${row.keyId}, which is not configured`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, row.iv);
      decipher.setAAD(Buffer.from(path, 'utf8'));
      decipher.setAuthTag(row.tag);
      return Buffer.concat([decipher.update(row.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError(`secret ${path} does not decrypt with key ${row.keyId}`);
    }
  }
}

export interface EncryptedSecret {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
  keyId: string;
}

/** The issue with a secret path, or null: `/a/b`, segments of [A-Za-z0-9._-], at most 255 chars. */
export function secretPathIssue(path: string): string | null {
  if (!path.startsWith('/')) return 'a secret path starts with /';
  if (path.length > SECRET_PATH_MAX) return `a secret path has at most ${SECRET_PATH_MAX} characters`;
  const segments = path.slice(1).split('/');
  if (segments.some((s) => !SEGMENT.test(s)))
    return "a secret path is /-separated segments of letters, digits, '.', '_' and '-'";
  if (segments.some((s) => s === '.' || s === '..')) return 'a secret path has no . or .. segments';
  return null;
}

function checkPath(path: string, field = 'path'): string {
  const issue = secretPathIssue(path);
  if (issue) throw AppError.invalid([{ path: field, message: issue }]);
  return path;
}

function checkValue(value: string, field = 'value'): string {
  if (Buffer.byteLength(value, 'utf8') > SECRET_VALUE_MAX_BYTES)
    throw AppError.invalid([
      { path: field, message: `a secret value has at most ${SECRET_VALUE_MAX_BYTES} bytes` },
    ]);
  return value;
}

type S = Pick<Services, 'db' | 'bus' | 'secrets'>;

/** Who refers to a secret: apps and pods by id, jobs by id. */
export interface SecretReferences {
  apps: string[];
  jobs: string[];
}

export interface SecretView {
  path: string;
  description: string | null;
  keyId: string;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  usedBy: SecretReferences;
}

interface SecretRow {
  path: string;
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
  key_id: string;
  description: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The scope a user is limited to: admins never are. */
function scopeOfUser(user: AuthUser): string | null {
  return user.role === 'admin' ? null : user.scope;
}

function assertSecretAccess(user: AuthUser | null, path: string): asserts user is AuthUser {
  // Viewers never see secrets, not even their paths; a scoped operator only those under its scope.
  assertAccess(user, 'operate');
  if (!inScope(scopeOfUser(user), path))
    throw new AppError('FORBIDDEN', `secret ${path} is outside ${user.username}'s scope ${user.scope}`);
}

/** Secret sources named by an app (or pod) definition: `secrets: {name: {source}}`. */
function sourcesOf(def: unknown): string[] {
  const secrets = (def as { secrets?: unknown } | null)?.secrets;
  if (!secrets || typeof secrets !== 'object') return [];
  return Object.values(secrets as Record<string, { source?: unknown }>)
    .map((v) => v?.source)
    .filter((x): x is string => typeof x === 'string');
}

/** Every secret path and who refers to it (apps, pods and jobs). */
export async function secretReferences(s: Pick<Services, 'db'>): Promise<Map<string, SecretReferences>> {
  const [apps, jobs] = await Promise.all([
    s.db.pool.query<{ id: string; d: unknown }>(
      `SELECT id, definition AS d FROM apps WHERE definition ? 'secrets' OR definition->'pod' ? 'secrets'`,
    ),
    s.db.pool.query<{ id: string; d: unknown }>(`SELECT id, run AS d FROM jobs WHERE run ? 'secrets'`),
  ]);
  const out = new Map<string, SecretReferences>();
  const add = (path: string, kind: keyof SecretReferences, id: string) => {
    const refs = out.get(path) ?? { apps: [], jobs: [] };
    if (!refs[kind].includes(id)) refs[kind].push(id);
    out.set(path, refs);
  };
  for (const a of apps.rows) {
    for (const p of sourcesOf(a.d)) add(p, 'apps', a.id);
    for (const p of sourcesOf((a.d as { pod?: unknown }).pod)) add(p, 'apps', a.id);
  }
  for (const j of jobs.rows) for (const p of sourcesOf(j.d)) add(p, 'jobs', j.id);
  return out;
}

function toView(r: SecretRow, refs: Map<string, SecretReferences>): SecretView {
  return {
    path: r.path,
    description: r.description,
    keyId: r.key_id,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    usedBy: refs.get(r.path) ?? { apps: [], jobs: [] },
  };
}

const COLUMNS = 'path, key_id, description, created_by, created_at, updated_at';

/** The secrets the caller may handle (all for an unscoped operator or admin), without values. */
export async function listSecrets(s: S, user: AuthUser | null): Promise<SecretView[]> {
  assertAccess(user, 'operate');
  const [{ rows }, refs] = await Promise.all([
    s.db.pool.query<SecretRow>(`SELECT ${COLUMNS} FROM secrets ORDER BY path`),
    secretReferences(s),
  ]);
  return rows.filter((r) => inScope(scopeOfUser(user), r.path)).map((r) => toView(r, refs));
}

export async function getSecret(s: S, user: AuthUser | null, path: string): Promise<SecretView> {
  checkPath(path);
  assertSecretAccess(user, path);
  const { rows } = await s.db.pool.query<SecretRow>(`SELECT ${COLUMNS} FROM secrets WHERE path = $1`, [path]);
  if (!rows[0]) throw AppError.notFound(`Secret '${path}'`);
  return toView(rows[0], await secretReferences(s));
}

export async function createSecret(
  s: S,
  user: AuthUser | null,
  input: { path: string; value: string; description?: string | null | undefined },
): Promise<SecretView> {
  checkPath(input.path);
  checkValue(input.value);
  assertSecretAccess(user, input.path);
  const e = s.secrets.encrypt(input.path, input.value);
  const { rowCount } = await s.db.pool.query(
    `INSERT INTO secrets (path, ciphertext, iv, tag, key_id, description, created_by, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT (path) DO NOTHING`,
    [input.path, e.ciphertext, e.iv, e.tag, e.keyId, input.description ?? null, user.username],
  );
  if (rowCount === 0) throw new AppError('CONFLICT', `a secret ${input.path} already exists`);
  return getSecret(s, user, input.path);
}

/** Changes the value and/or the description (null clears it). */
export async function updateSecret(
  s: S,
  user: AuthUser | null,
  input: { path: string; value?: string | undefined; description?: string | null | undefined },
): Promise<SecretView> {
  checkPath(input.path);
  if (input.value !== undefined) checkValue(input.value);
  assertSecretAccess(user, input.path);
  if (input.value === undefined && input.description === undefined)
    throw AppError.invalid([{ path: 'value', message: 'give a value or a description to change' }]);
  const e = input.value !== undefined ? s.secrets.encrypt(input.path, input.value) : null;
  const { rowCount } = await s.db.pool.query(
    `UPDATE secrets SET
       ciphertext = COALESCE($2, ciphertext), iv = COALESCE($3, iv), tag = COALESCE($4, tag),
       key_id = COALESCE($5, key_id),
       description = CASE WHEN $6 THEN $7 ELSE description END,
       updated_at = now()
     WHERE path = $1`,
    [
      input.path,
      e?.ciphertext ?? null,
      e?.iv ?? null,
      e?.tag ?? null,
      e?.keyId ?? null,
      input.description !== undefined,
      input.description ?? null,
    ],
  );
  if (rowCount === 0) throw AppError.notFound(`Secret '${input.path}'`);
  return getSecret(s, user, input.path);
}

/**
 * Removes a secret. Apps and jobs that refer to it keep running; their next tasks cannot start
 * until it exists again (the answer names them, as the console's warning does).
 */
export async function deleteSecret(
  s: S,
  user: AuthUser | null,
  path: string,
): Promise<{ path: string; usedBy: SecretReferences }> {
  checkPath(path);
  assertSecretAccess(user, path);
  const { rowCount } = await s.db.pool.query('DELETE FROM secrets WHERE path = $1', [path]);
  if (rowCount === 0) throw AppError.notFound(`Secret '${path}'`);
  return { path, usedBy: (await secretReferences(s)).get(path) ?? { apps: [], jobs: [] } };
}

export interface RotationResult {
  currentKeyId: string;
  /** Rows re-encrypted under the current key. */
  rotated: number;
  /** Rows already under the current key (re-encrypted too, with a fresh IV). */
  total: number;
  /** Rows that could not be read: their key is not configured, or they do not decrypt. */
  failed: Array<{ path: string; keyId: string; error: string }>;
}

/**
 * Re-encrypts every secret under the current key (after adding a new first key), one row at a
 * time under a row lock so a concurrent update is never lost. A row under an unknown key is
 * reported and left as it is. Admins only.
 */
export async function rotateSecrets(s: S, user: AuthUser | null): Promise<RotationResult> {
  assertAccess(user, 'admin');
  const { rows } = await s.db.pool.query<{ path: string }>('SELECT path FROM secrets ORDER BY path');
  const result: RotationResult = { currentKeyId: s.secrets.currentId, rotated: 0, total: 0, failed: [] };
  for (const { path } of rows) {
    const client = await s.db.pool.connect();
    try {
      await client.query('BEGIN');
      const r = await client.query<SecretRow>('SELECT * FROM secrets WHERE path = $1 FOR UPDATE', [path]);
      const row = r.rows[0];
      if (!row) {
        await client.query('ROLLBACK');
        continue;
      }
      result.total++;
      let value: string;
      try {
        value = s.secrets.decrypt(path, { ...row, keyId: row.key_id });
      } catch (err) {
        result.failed.push({ path, keyId: row.key_id, error: (err as Error).message });
        await client.query('ROLLBACK');
        continue;
      }
      const e = s.secrets.encrypt(path, value);
      await client.query(
        'UPDATE secrets SET ciphertext = $2, iv = $3, tag = $4, key_id = $5 WHERE path = $1',
        [path, e.ciphertext, e.iv, e.tag, e.keyId],
      );
      await client.query('COMMIT');
      if (row.key_id !== e.keyId) result.rotated++;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
  return result;
}

/** Key ids in use by rows, and whether each is configured (for the console and `atoll secret list`). */
export async function keyStatus(
  s: S,
  user: AuthUser | null,
): Promise<{ currentKeyId: string; keys: Array<{ id: string; configured: boolean; secrets: number }> }> {
  assertAccess(user, 'operate');
  const { rows } = await s.db.pool.query<{ key_id: string; n: string }>(
    'SELECT key_id, count(*) AS n FROM secrets GROUP BY key_id',
  );
  const counts = new Map(rows.map((r) => [r.key_id, Number(r.n)]));
  const ids = [...new Set([...s.secrets.ids, ...counts.keys()])];
  return {
    currentKeyId: s.secrets.currentId,
    keys: ids.map((id) => ({ id, configured: s.secrets.has(id), secrets: counts.get(id) ?? 0 })),
  };
}

// ---- references from apps, pods and jobs ---------------------------------------------------------

/**
 * Checks the secrets a definition names (`secrets: {s1: {source}}`) before it is stored: each
 * source is a valid path, exists, and (when the request has a user) lies in the user's scope.
 * The issues name `<prefix>.<name>.source`.
 */
export async function checkSecretSources(
  s: Pick<Services, 'db'>,
  secrets: Record<string, { source: string }> | undefined,
  user: AuthUser | null | undefined,
  prefix = 'secrets',
): Promise<void> {
  const entries = Object.entries(secrets ?? {});
  if (entries.length === 0) return;
  const issues: FieldIssue[] = [];
  const sources = entries.map(([, v]) => v.source);
  const { rows } = await s.db.pool.query<{ path: string }>(
    'SELECT path FROM secrets WHERE path = ANY($1::text[])',
    [sources],
  );
  const existing = new Set(rows.map((r) => r.path));
  for (const [name, { source }] of entries) {
    const field = `${prefix}.${name}.source`;
    const bad = secretPathIssue(source);
    if (bad) issues.push({ path: field, message: bad });
    else if (user && !inScope(scopeOfUser(user), source))
      issues.push({
        path: field,
        message: `secret ${source} is outside ${user.username}'s scope ${user.scope}`,
      });
    else if (!existing.has(source)) issues.push({ path: field, message: `secret ${source} does not exist` });
  }
  if (issues.length > 0) throw AppError.invalid(issues);
}

/** The user of a request when the service was called with a request context (tRPC, REST). */
export function requestUser(s: object): AuthUser | null | undefined {
  return 'user' in s ? (s as { user: AuthUser | null }).user : undefined;
}

/** What a definition asks for: env variables from secrets and files from secrets. */
export interface SecretUse {
  /** name → path (`secrets: {s1: {source: "/a/b"}}`). */
  secrets: Record<string, { source: string }>;
  /** env name → secret name. */
  env: Record<string, string>;
  /** container path → secret name. */
  files: Record<string, string>;
}

function envRefs(env: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!env || typeof env !== 'object') return out;
  for (const [k, v] of Object.entries(env as Record<string, unknown>))
    if (v && typeof v === 'object' && typeof (v as { secret?: unknown }).secret === 'string')
      out[k] = (v as { secret: string }).secret;
  return out;
}

/** The secret use of an app (`env`, `container.volumes[].secret`) or a pod (`environment`). */
export function appSecretUse(def: unknown): SecretUse {
  const d = def as {
    secrets?: Record<string, { source: string }>;
    env?: unknown;
    container?: { volumes?: Array<{ containerPath?: unknown; secret?: unknown }> } | null;
    pod?: {
      secrets?: Record<string, { source: string }>;
      environment?: unknown;
      containers?: Array<{ environment?: unknown }>;
    };
  };
  if (d.pod) {
    const env = envRefs(d.pod.environment);
    for (const c of d.pod.containers ?? []) Object.assign(env, envRefs(c.environment));
    return { secrets: d.pod.secrets ?? {}, env, files: {} };
  }
  const files: Record<string, string> = {};
  for (const v of d.container?.volumes ?? [])
    if (typeof v.secret === 'string' && typeof v.containerPath === 'string')
      files[v.containerPath] = v.secret;
  return { secrets: d.secrets ?? {}, env: envRefs(d.env), files };
}

/** The secret use of a job's run spec (`run.env`, `run.volumes[].secret`). */
export function jobSecretUse(run: unknown): SecretUse {
  const r = run as {
    secrets?: Record<string, { source: string }>;
    env?: unknown;
    volumes?: Array<Record<string, unknown>>;
  };
  const files: Record<string, string> = {};
  for (const v of r.volumes ?? [])
    if (typeof v.secret === 'string' && typeof v.containerPath === 'string')
      files[v.containerPath] = v.secret;
  return { secrets: r.secrets ?? {}, env: envRefs(r.env), files };
}

/** Issues for references to secret names the definition does not declare (`env.X.secret`). */
export function undeclaredSecretIssues(
  use: SecretUse,
  envField = 'env',
  fileField = 'container.volumes',
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [k, name] of Object.entries(use.env))
    if (!(name in use.secrets))
      issues.push({
        path: `${envField}.${k}.secret`,
        message: `refers to secret '${name}', which secrets does not define`,
      });
  for (const [target, name] of Object.entries(use.files))
    if (!(name in use.secrets))
      issues.push({
        path: `${fileField}.secret`,
        message: `${target} refers to secret '${name}', which secrets does not define`,
      });
  return issues;
}

/** Values resolved for one task's launch message: env variables and files (base64). */
export interface ResolvedTaskSecrets {
  env: Record<string, string>;
  files: Array<{ target: string; data: string }>;
}

/**
 * Decrypts what a task uses. Called only while building the launch message of that task, which
 * goes only to the agent that runs it; the result is never stored, logged or answered. Throws a
 * message naming the secret path (never a value) when one is missing or unreadable.
 */
export async function resolveTaskSecrets(
  s: Pick<Services, 'db' | 'secrets'>,
  use: SecretUse,
  cache: Map<string, Promise<string>> = new Map(),
): Promise<ResolvedTaskSecrets> {
  const out: ResolvedTaskSecrets = { env: {}, files: [] };
  const names = new Set([...Object.values(use.env), ...Object.values(use.files)]);
  if (names.size === 0) return out;
  const values = new Map<string, string>();
  for (const name of names) {
    const path = use.secrets[name]?.source;
    if (!path) throw new SecretKeyError(`secret '${name}' is not declared in secrets`);
    let p = cache.get(path);
    if (!p) {
      p = readSecretValue(s, path);
      cache.set(path, p);
    }
    values.set(name, await p);
  }
  for (const [k, name] of Object.entries(use.env)) out.env[k] = values.get(name)!;
  for (const [target, name] of Object.entries(use.files))
    out.files.push({ target, data: Buffer.from(values.get(name)!, 'utf8').toString('base64') });
  return out;
}

async function readSecretValue(s: Pick<Services, 'db' | 'secrets'>, path: string): Promise<string> {
  const { rows } = await s.db.pool.query<SecretRow>('SELECT * FROM secrets WHERE path = $1', [path]);
  const row = rows[0];
  if (!row) throw new SecretKeyError(`secret ${path} does not exist`);
  return s.secrets.decrypt(path, { ...row, keyId: row.key_id });
}

/** True when a definition uses any secret (so launches take the slower, resolving path). */
export function usesSecrets(use: SecretUse): boolean {
  return Object.keys(use.env).length > 0 || Object.keys(use.files).length > 0;
}

/** Stores (or replaces) a secret on behalf of the system (catalog installs); no user check. */
export async function putSecret(
  s: S,
  input: { path: string; value: string; description?: string; createdBy?: string | null },
): Promise<void> {
  checkPath(input.path);
  checkValue(input.value);
  const e = s.secrets.encrypt(input.path, input.value);
  await s.db.pool.query(
    `INSERT INTO secrets (path, ciphertext, iv, tag, key_id, description, created_by, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now())
     ON CONFLICT (path) DO UPDATE SET ciphertext = $2, iv = $3, tag = $4, key_id = $5, updated_at = now()`,
    [input.path, e.ciphertext, e.iv, e.tag, e.keyId, input.description ?? null, input.createdBy ?? null],
  );
}

/**
 * Deploy-time check of an app's or pod's secrets (before it is stored): every env or file reference
 * names a declared secret, and every declared source exists and lies in the deployer's scope. With
 * `previous` (the stored definition), unchanged secrets are not checked again, so scaling an app
 * whose secret was since removed still works.
 */
export async function checkAppSecrets(
  s: Pick<Services, 'db'>,
  def: unknown,
  opts: { previous?: unknown; prefix?: string } = {},
): Promise<void> {
  const use = appSecretUse(def);
  const prefix = opts.prefix ?? '';
  const issues = undeclaredSecretIssues(use, `${prefix}env`, `${prefix}container.volumes`);
  const docker = (def as { container?: { docker?: { image?: unknown } } | null }).container?.docker;
  if (Object.keys(use.files).length > 0 && !docker?.image)
    issues.push({
      path: `${prefix}container.volumes`,
      message: 'file secrets need a Docker task (container.docker.image)',
    });
  if (issues.length > 0) throw AppError.invalid(issues);
  if (opts.previous !== undefined) {
    const before = appSecretUse(opts.previous).secrets;
    if (JSON.stringify(before) === JSON.stringify(use.secrets)) return;
  }
  await checkSecretSources(s, use.secrets, requestUser(s), `${prefix}secrets`);
}

/** The same check for a Metronome job's run spec (fields under `run.`). */
export async function checkJobSecrets(
  s: Pick<Services, 'db'>,
  run: unknown,
  opts: { previous?: unknown } = {},
): Promise<void> {
  const use = jobSecretUse(run);
  const issues = undeclaredSecretIssues(use, 'run.env', 'run.volumes');
  const r = run as { docker?: unknown; ucr?: unknown };
  if (Object.keys(use.files).length > 0 && !r.docker && !r.ucr)
    issues.push({ path: 'run.volumes', message: 'file secrets need a Docker task (run.docker.image)' });
  if (issues.length > 0) throw AppError.invalid(issues);
  if (opts.previous !== undefined) {
    const before = jobSecretUse(opts.previous).secrets;
    if (JSON.stringify(before) === JSON.stringify(use.secrets)) return;
  }
  await checkSecretSources(s, use.secrets, requestUser(s), 'run.secrets');
}

/** Puts resolved values into a launch message's task spec (and nowhere else). */
export function applyTaskSecrets(spec: TaskSpec, resolved: ResolvedTaskSecrets): void {
  Object.assign(spec.env, resolved.env);
  if (spec.containers) for (const c of spec.containers) Object.assign(c.env, resolved.env);
  if (resolved.files.length > 0) spec.secretFiles = resolved.files;
}

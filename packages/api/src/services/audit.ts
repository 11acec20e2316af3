import type { Db } from '@atoll/db';
import type { Logger } from 'pino';

/**
 * The audit log: one row per write request (who, what, when, from where, result), written by the
 * HTTP layer after the response went out. Rows wait in memory and are written in batches with raw
 * SQL over unnest (every ~250 ms or 200 rows, and on close), so a write request never waits on
 * its audit row. A failed batch is logged and tried once more; the server never stops for it.
 * Rows are kept: nothing deletes them unless a retention in days is set.
 */

export interface AuditEntry {
  at: Date;
  /** The user's id, null when nobody authenticated (a 401, a failed login). */
  actorId: string | null;
  /** The username; for a login, the username that was tried. */
  actor: string | null;
  method: string;
  /** The request path without its query string, tokens redacted. */
  path: string;
  /** The tRPC procedure (`apps.create`) or the route pattern (`DELETE /v2/apps/:id`). */
  action: string;
  /** What was written to: an app, group, job, node, task, user … */
  target: string | null;
  ip: string | null;
  status: number;
  requestId: string;
}

export interface AuditRecordView {
  id: string;
  at: string;
  actorId: string | null;
  actor: string | null;
  method: string;
  path: string;
  action: string;
  target: string | null;
  ip: string | null;
  status: number;
  requestId: string;
}

export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export interface AuditQuery {
  /** Exact username. */
  actor?: string | undefined;
  /** Prefix of the action (`apps.`, `DELETE /v2/`). */
  action?: string | undefined;
  /** Prefix of the path (`/v2/apps/team-a`). */
  path?: string | undefined;
  /** Prefix of the target (`/team-a`). */
  target?: string | undefined;
  status?: StatusClass | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Records older than this one (the previous page's `nextCursor`). */
  cursor?: string | undefined;
  limit: number;
}

export interface AuditPage {
  records: AuditRecordView[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export interface AuditLogOptions {
  flushEveryMs?: number;
  /** A batch this big is written at once instead of waiting for the timer. */
  batchSize?: number;
  /** Days to keep records; 0 (the default) keeps them forever. */
  retentionDays?: number;
  /** Rows held while PostgreSQL does not answer; beyond it the oldest are dropped (and logged). */
  maxBuffered?: number;
  now?: () => Date;
}

const RETRY_DELAY_MS = 500;
const PRUNE_EVERY_MS = 3600_000;

export class AuditLog {
  private buffer: AuditEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly flushEveryMs: number;
  private readonly batchSize: number;
  private readonly maxBuffered: number;
  readonly retentionDays: number;
  private readonly now: () => Date;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    opts: AuditLogOptions = {},
  ) {
    this.flushEveryMs = opts.flushEveryMs ?? 250;
    this.batchSize = opts.batchSize ?? 200;
    this.maxBuffered = opts.maxBuffered ?? 100_000;
    this.retentionDays = opts.retentionDays ?? 0;
    this.now = opts.now ?? (() => new Date());
  }

  start(): void {
    this.timer ??= setInterval(() => {
      if (this.buffer.length > 0) void this.flush();
    }, this.flushEveryMs);
    this.timer.unref();
    if (this.retentionDays > 0 && !this.pruneTimer) {
      const prune = () =>
        void this.prune().catch((err: unknown) => this.log.error({ err }, 'pruning audit records failed'));
      prune();
      this.pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
      this.pruneTimer.unref();
    }
  }

  /** Stops the timers and writes what is still buffered. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.timer = null;
    this.pruneTimer = null;
    await this.flush();
  }

  /** Queues a record; never throws and never waits on the database. */
  record(entry: AuditEntry): void {
    this.buffer.push(entry);
    if (this.buffer.length > this.maxBuffered) {
      const dropped = this.buffer.splice(0, this.buffer.length - this.maxBuffered);
      this.log.error(
        { dropped: dropped.length },
        'audit buffer full (is PostgreSQL down?): oldest records dropped',
      );
    }
    if (this.buffer.length >= this.batchSize) void this.flush();
  }

  /** Writes what is buffered (one INSERT per batch of at most batchSize rows); resolves when done. */
  flush(): Promise<void> {
    this.flushing = this.flushing
      .then(async () => {
        while (this.buffer.length > 0) {
          const rows = this.buffer.splice(0, this.batchSize);
          await this.writeWithRetry(rows);
        }
      })
      .catch((err: unknown) => this.log.error({ err }, 'writing audit records failed'));
    return this.flushing;
  }

  private async writeWithRetry(rows: AuditEntry[]): Promise<void> {
    try {
      await this.write(rows);
    } catch (err) {
      this.log.warn({ err, records: rows.length }, 'writing audit records failed; trying once more');
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      try {
        await this.write(rows);
      } catch (again) {
        this.log.error(
          { err: again, records: rows.length },
          'writing audit records failed twice: records lost',
        );
      }
    }
  }

  private async write(rows: AuditEntry[]): Promise<void> {
    await this.db.pool.query(
      `INSERT INTO audit_records (at, actor_id, actor, method, path, action, target, ip, status, request_id)
       SELECT * FROM unnest($1::timestamptz[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                            $7::text[], $8::text[], $9::int[], $10::text[])`,
      [
        rows.map((r) => r.at),
        rows.map((r) => r.actorId),
        // A refused request may name a NUL in its path or target (input-guard.ts answers it 400);
        // PostgreSQL's text cannot hold one, and one such row would fail the whole batch.
        rows.map((r) => storable(r.actor)),
        rows.map((r) => r.method),
        rows.map((r) => storable(r.path)),
        rows.map((r) => storable(r.action)),
        rows.map((r) => storable(r.target)),
        rows.map((r) => r.ip),
        rows.map((r) => r.status),
        rows.map((r) => r.requestId),
      ],
    );
  }

  /** Deletes records older than the retention (no-op when records are kept forever). */
  async prune(): Promise<number> {
    if (this.retentionDays <= 0) return 0;
    const r = await this.db.pool.query(
      `DELETE FROM audit_records WHERE at < $1::timestamptz - $2::interval`,
      [this.now(), `${this.retentionDays} days`],
    );
    if (r.rowCount) this.log.info({ deleted: r.rowCount, days: this.retentionDays }, 'audit records pruned');
    return r.rowCount ?? 0;
  }

  /** Newest first, by id; `cursor` continues below the previous page. */
  async list(q: AuditQuery): Promise<AuditPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.actor) add('actor = ?', q.actor);
    if (q.action) add(`action LIKE ? ESCAPE '\\'`, likePrefix(q.action));
    if (q.path) add(`path LIKE ? ESCAPE '\\'`, likePrefix(q.path));
    if (q.target) add(`target LIKE ? ESCAPE '\\'`, likePrefix(q.target));
    if (q.status) {
      const low = Number(q.status[0]) * 100;
      add('status >= ?', low);
      add('status < ?', low + 100);
    }
    if (q.since) add('at >= ?', q.since);
    if (q.until) add('at < ?', q.until);
    if (q.cursor) add('id < ?::bigint', q.cursor);
    params.push(q.limit + 1);
    const { rows } = await this.db.pool.query<{
      id: string;
      at: Date;
      actor_id: string | null;
      actor: string | null;
      method: string;
      path: string;
      action: string;
      target: string | null;
      ip: string | null;
      status: number;
      request_id: string;
    }>(
      `SELECT id::text AS id, at, actor_id, actor, method, path, action, target, ip, status, request_id
       FROM audit_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY audit_records.id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, q.limit);
    return {
      records: page.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        actorId: r.actor_id,
        actor: r.actor,
        method: r.method,
        path: r.path,
        action: r.action,
        target: r.target,
        ip: r.ip,
        status: r.status,
        requestId: r.request_id,
      })),
      nextCursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }
}

/** A LIKE pattern matching values that start with `prefix` (its % _ and \ taken literally). */
function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

/** Text PostgreSQL can store: a NUL becomes U+FFFD (the rest of the string is kept as it was). */
function storable<T extends string | null>(s: T): T {
  return (s === null ? s : s.replaceAll('\u0000', '\ufffd')) as T;
}

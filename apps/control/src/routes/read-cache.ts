import { tablesFingerprint, type FingerprintTable } from '@atoll/db';
import type pg from 'pg';

/** What a read renders: the response body, and until when it holds if time changes it. */
export interface Rendered {
  body: string;
  /** Epoch ms after which the body is stale even with no write (e.g. a backoff delay ends). */
  validUntil?: number;
}

interface Entry extends Rendered {
  fingerprint: string;
}

/**
 * Rendered answers of the big list reads (`GET /v2/apps` at 1,000 apps is a megabyte of JSON),
 * kept while the tables they read are unchanged. Every request still asks PostgreSQL for the
 * tables' fingerprint (one aggregate query), so a write by any replica, by an agent's status batch
 * or by hand is seen at once, with no invalidation to miss; a hit skips reading, rendering and
 * serialising the rows. Concurrent misses of one key at one fingerprint share one rendering.
 *
 * The key must hold everything else the answer depends on: the path and query, and the caller's
 * scope.
 */
export class ReadCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  /** Characters held by all entries' bodies. */
  private size = 0;

  /** `maxChars`: what the kept bodies may hold together (64 Mi characters by default). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly tables: readonly FingerprintTable[],
    private readonly maxChars = 64 * 1024 * 1024,
  ) {}

  /** The body for `key`, from the cache when nothing changed, else from `render`. */
  async read(
    key: string,
    now: () => number,
    render: () => Promise<Rendered>,
  ): Promise<{ body: string; hit: boolean }> {
    const fingerprint = await tablesFingerprint(this.pool, this.tables);
    const kept = this.entries.get(key);
    if (
      kept &&
      kept.fingerprint === fingerprint &&
      (kept.validUntil === undefined || now() < kept.validUntil)
    ) {
      return { body: kept.body, hit: true };
    }
    const flight = `${key}\n${fingerprint}`;
    let rendering = this.pending.get(flight);
    if (!rendering) {
      // Rendered after the fingerprint was taken: the body is at least as new as its fingerprint.
      rendering = render().then((r) => ({ ...r, fingerprint }));
      this.pending.set(flight, rendering);
      void rendering
        .then((entry) => {
          this.forget(key);
          if (entry.body.length > this.maxChars) return;
          this.entries.set(key, entry);
          this.size += entry.body.length;
          // Map order is insertion order: the first key is the least recently rendered.
          while (this.size > this.maxChars) this.forget(this.entries.keys().next().value!);
        })
        .catch(() => undefined)
        .finally(() => this.pending.delete(flight));
    }
    return { body: (await rendering).body, hit: false };
  }

  private forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.size -= entry.body.length;
    this.entries.delete(key);
  }
}

import type pg from 'pg';

/** The tables a cached read may depend on; the names go into SQL, so only these are accepted. */
export type FingerprintTable = 'apps' | 'tasks' | 'deployments' | 'nodes';

const TABLES: ReadonlySet<string> = new Set<FingerprintTable>(['apps', 'tasks', 'deployments', 'nodes']);

/**
 * A value that changes whenever a committed write changes one of `tables`, read in one query by
 * whichever replica asks (no notification to miss). Per table: the number of rows and the sum of
 * their `xmin`, the id of the transaction that wrote each row version. An insert or a delete
 * changes the count; an update gives the row a new version whose `xmin` is the writer's id, so the
 * sum moves. Two changes cancel only if a transaction's id is exactly the mean of the ids of rows
 * it replaced, which needs a writer that commits between them; a fingerprint, not a proof.
 *
 * A cache must take the fingerprint *before* it reads the data it keeps: then what it keeps is at
 * least as new as the fingerprint, and a write in between only costs one more miss.
 */
export async function tablesFingerprint(pool: pg.Pool, tables: readonly FingerprintTable[]): Promise<string> {
  for (const t of tables)
    if (!TABLES.has(t)) throw new Error(`tablesFingerprint: unknown table ${String(t)}`);
  const parts = tables.map(
    (t) => `(SELECT count(*) || '.' || coalesce(sum(xmin::text::bigint), 0) FROM ${t})`,
  );
  const { rows } = await pool.query<{ f: string }>(`SELECT concat_ws('/', ${parts.join(', ')}) AS f`);
  return rows[0]!.f;
}

/**
 * JSON with every object's keys sorted, for comparing values that went through PostgreSQL's jsonb:
 * jsonb does not keep key order (shorter keys first), so `JSON.stringify` of a stored value and of
 * the same value built in code can differ.
 */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );
}

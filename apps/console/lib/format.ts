/** Display helpers shared by the pages. Pure: easy to reason about and to test. */

export function fmtCpus(n: number): string {
  if (n === 0) return '0';
  return Number.isInteger(n) ? String(n) : n.toFixed(n < 1 ? 2 : 1).replace(/\.?0+$/, '');
}

/** Megabytes (Marathon's unit) as MiB or GiB. */
export function fmtMem(mb: number): string {
  if (mb >= 1024 * 1024) return `${trim(mb / (1024 * 1024))} TiB`;
  if (mb >= 1024) return `${trim(mb / 1024)} GiB`;
  return `${trim(mb)} MiB`;
}

function trim(n: number): string {
  return n.toFixed(1).replace(/\.0$/, '');
}

export function pct(used: number, total: number): number {
  if (total <= 0) return 0;
  return Math.max(0, Math.min(100, (used / total) * 100));
}

export function fmtAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 0) return `in ${fmtDuration(-s)}`;
  if (s < 5) return 'just now';
  return `${fmtDuration(s)} ago`;
}

export function fmtDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Case-insensitive "every word of the query appears somewhere in the haystack". */
export function matchesFilter(query: string, ...fields: Array<string | number | null | undefined>): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = fields
    .filter((f) => f !== null && f !== undefined)
    .join(' ')
    .toLowerCase();
  return words.every((w) => hay.includes(w));
}

export type SortDir = 'asc' | 'desc';

export function compareValues(
  a: string | number | null | undefined,
  b: string | number | null | undefined,
): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: 'base' });
}

export function sortBy<T>(
  rows: readonly T[],
  key: (r: T) => string | number | null | undefined,
  dir: SortDir,
): T[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...rows].sort((x, y) => {
    const c = compareValues(key(x), key(y));
    // Missing values stay last whatever the direction.
    const kx = key(x);
    const ky = key(y);
    if (kx === null || kx === undefined || ky === null || ky === undefined) return c;
    return c * sign;
  });
}

/**
 * A line-based diff for comparing two app versions: the longest common subsequence of lines
 * (dynamic programming after trimming the common prefix and suffix), walked into a list of
 * unchanged, removed and added lines. Pure, so it is tested without a browser.
 */

export type DiffOp = 'same' | 'added' | 'removed';

export interface DiffLine {
  op: DiffOp;
  text: string;
  /** 1-based line number in the old text (unchanged and removed lines). */
  a?: number;
  /** 1-based line number in the new text (unchanged and added lines). */
  b?: number;
}

/** A run of unchanged lines folded away by `foldContext`. */
export interface DiffSkip {
  op: 'skip';
  count: number;
  /** 1-based line number in the old text of the first folded line. */
  a: number;
  b: number;
}

/**
 * Above this many cells (changed lines of a × changed lines of b) the table would cost too much
 * memory; the diff then shows every changed line as removed and re-added, which is still correct.
 */
const MAX_CELLS = 25_000_000;

export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }

  const out: DiffLine[] = [];
  for (let i = 0; i < start; i++) out.push({ op: 'same', text: a[i]!, a: i + 1, b: i + 1 });

  const n = endA - start;
  const m = endB - start;
  if (n > 0 && m > 0 && (n + 1) * (m + 1) <= MAX_CELLS) {
    // lcs[i * (m + 1) + j]: length of the LCS of a[start + i ..endA) and b[start + j ..endB).
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] =
          a[start + i] === b[start + j]
            ? lcs[(i + 1) * w + j + 1]! + 1
            : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      const ai = start + i;
      const bj = start + j;
      if (a[ai] === b[bj]) {
        out.push({ op: 'same', text: a[ai]!, a: ai + 1, b: bj + 1 });
        i++;
        j++;
      } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) {
        // Removals first when both are as good: the usual reading order of a diff.
        out.push({ op: 'removed', text: a[ai]!, a: ai + 1 });
        i++;
      } else {
        out.push({ op: 'added', text: b[bj]!, b: bj + 1 });
        j++;
      }
    }
    for (; i < n; i++) out.push({ op: 'removed', text: a[start + i]!, a: start + i + 1 });
    for (; j < m; j++) out.push({ op: 'added', text: b[start + j]!, b: start + j + 1 });
  } else {
    for (let i = start; i < endA; i++) out.push({ op: 'removed', text: a[i]!, a: i + 1 });
    for (let j = start; j < endB; j++) out.push({ op: 'added', text: b[j]!, b: j + 1 });
  }

  for (let k = 0; k < a.length - endA; k++)
    out.push({ op: 'same', text: a[endA + k]!, a: endA + k + 1, b: endB + k + 1 });
  return out;
}

/** Lines of a text; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function diffText(a: string, b: string): DiffLine[] {
  return diffLines(splitLines(a), splitLines(b));
}

export function diffStats(lines: readonly DiffLine[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.op === 'added') added++;
    else if (l.op === 'removed') removed++;
  }
  return { added, removed };
}

/**
 * Keeps `context` unchanged lines around each change and folds longer unchanged runs into one
 * skip marker, as `diff -U` does. A fold never hides a single line (showing it costs the same).
 */
export function foldContext(lines: readonly DiffLine[], context = 3): Array<DiffLine | DiffSkip> {
  const out: Array<DiffLine | DiffSkip> = [];
  let k = 0;
  while (k < lines.length) {
    if (lines[k]!.op !== 'same') {
      out.push(lines[k]!);
      k++;
      continue;
    }
    let end = k;
    while (end < lines.length && lines[end]!.op === 'same') end++;
    const keepBefore = k === 0 ? 0 : context;
    const keepAfter = end === lines.length ? 0 : context;
    const hidden = end - k - keepBefore - keepAfter;
    if (hidden <= 1) {
      for (let x = k; x < end; x++) out.push(lines[x]!);
    } else {
      for (let x = k; x < k + keepBefore; x++) out.push(lines[x]!);
      const first = lines[k + keepBefore]!;
      out.push({ op: 'skip', count: hidden, a: first.a ?? 0, b: first.b ?? 0 });
      for (let x = end - keepAfter; x < end; x++) out.push(lines[x]!);
    }
    k = end;
  }
  return out;
}

function sortKeys(value: unknown, top: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, false));
  if (typeof value !== 'object' || value === null) return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  // The app id reads best on top, as in every Marathon definition.
  if (top && keys.includes('id')) {
    keys.splice(keys.indexOf('id'), 1);
    keys.unshift('id');
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = sortKeys(obj[k], false);
  return out;
}

/**
 * Pretty-printed JSON with object keys in a fixed order, so two versions differ only where their
 * content does (stored definitions need not list their fields in the same order).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, true), null, 2);
}

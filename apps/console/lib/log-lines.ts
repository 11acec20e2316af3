/** One line of a task's output, with the stream it came from. */
export interface LogLine {
  n: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * Turns streamed chunks into lines. Chunks may end mid-line; each stream keeps its unfinished line
 * until its newline arrives. At most `max` lines are kept (the oldest go first).
 */
export class LineBuffer {
  private readonly partial = { stdout: '', stderr: '' };
  private next = 1;
  lines: LogLine[] = [];

  constructor(private readonly max = 20_000) {}

  push(stream: 'stdout' | 'stderr', data: string): void {
    const parts = (this.partial[stream] + data).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const text of parts) this.lines.push({ n: this.next++, stream, text });
    if (this.lines.length > this.max) this.lines = this.lines.slice(this.lines.length - this.max);
  }

  /** The unfinished lines too (at the end of a stream). */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.lines.push({ n: this.next++, stream, text: this.partial[stream] });
      this.partial[stream] = '';
    }
  }
}

/** Splits `text` around case-insensitive matches of `query`, for highlighting. */
export function highlightParts(text: string, query: string): Array<{ text: string; match: boolean }> {
  if (!query) return [{ text, match: false }];
  const out: Array<{ text: string; match: boolean }> = [];
  const lower = text.toLowerCase();
  const q = query.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(q); i !== -1; i = lower.indexOf(q, i + q.length)) {
    if (i > at) out.push({ text: text.slice(at, i), match: false });
    out.push({ text: text.slice(i, i + q.length), match: true });
    at = i + q.length;
  }
  if (at < text.length) out.push({ text: text.slice(at), match: false });
  return out;
}

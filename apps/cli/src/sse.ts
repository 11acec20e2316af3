/**
 * A server-sent events parser (the WHATWG "event stream" format), pure and incremental: feed it
 * the text as it arrives, in chunks split anywhere, and it returns the messages completed so far.
 */

export interface SseMessage {
  /** The `event:` field; `message` when the stream did not name one. */
  event: string;
  /** The `data:` lines joined with newlines. */
  data: string;
  /** The last `id:` seen on the stream (it carries over to later messages, as in the spec). */
  id: string;
}

export class SseParser {
  private buffer = '';
  /** The previous chunk ended with CR: a LF at the start of the next one belongs to it. */
  private pendingCr = false;
  private started = false;
  private event = '';
  private data: string[] = [];
  private lastId = '';
  /** The `retry:` the server asked for, in milliseconds (null until it sends one). */
  retryMs: number | null = null;

  /** Adds text and returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (this.pendingCr && text.length > 0) {
      if (text.startsWith('\n')) text = text.slice(1);
      this.pendingCr = false;
    }
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    this.buffer += text;
    const out: SseMessage[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A CR at the very end may be the first half of CRLF: the line ends there, but remember it.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) this.pendingCr = true;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const message = this.line(line);
      if (message) out.push(message);
    }
    return out;
  }

  /**
   * The stream ended. Per the spec a message not terminated by a blank line is dropped, so this
   * only resets the parser for a new connection (keeping the last event id).
   */
  end(): void {
    this.buffer = '';
    this.pendingCr = false;
    this.started = false;
    this.event = '';
    this.data = [];
  }

  private line(line: string): SseMessage | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }

  private dispatch(): SseMessage | null {
    const event = this.event || 'message';
    const data = this.data;
    this.event = '';
    this.data = [];
    if (data.length === 0) return null;
    return { event, data: data.join('\n'), id: this.lastId };
  }
}

/** Decodes a byte stream (UTF-8, characters possibly split across chunks) into SSE messages. */
export async function* sseMessages(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  for await (const bytes of body) {
    yield* parser.push(decoder.decode(bytes, { stream: true }));
  }
  yield* parser.push(decoder.decode());
  parser.end();
}

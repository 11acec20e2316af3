import { describe, expect, it } from 'vitest';
import { SseParser, sseMessages, type SseMessage } from './sse';

function parse(...chunks: string[]): SseMessage[] {
  const p = new SseParser();
  return chunks.flatMap((c) => p.push(c));
}

/** Every way of cutting `text` in two, and in three. */
function* splits(text: string): Generator<string[]> {
  for (let i = 0; i <= text.length; i++) {
    yield [text.slice(0, i), text.slice(i)];
    for (let j = i; j <= text.length; j++) yield [text.slice(0, i), text.slice(i, j), text.slice(j)];
  }
}

const stream =
  ': welcome\n' +
  'event: deployment_info\n' +
  'data: {"eventType":"deployment_info","plan":{"id":"d-1"}}\n' +
  '\n' +
  'event: status_update_event\r\n' +
  'data: {"taskStatus":"TASK_RUNNING",\r\n' +
  'data:"appId":"/web"}\r\n' +
  '\r\n' +
  'id: 7\r' +
  'data: plain\r' +
  '\r' +
  ':\n\n' +
  'event: deployment_success\n' +
  'data: {"id":"d-1"}\n\n';

const expected: SseMessage[] = [
  { event: 'deployment_info', data: '{"eventType":"deployment_info","plan":{"id":"d-1"}}', id: '' },
  { event: 'status_update_event', data: '{"taskStatus":"TASK_RUNNING",\n"appId":"/web"}', id: '' },
  { event: 'message', data: 'plain', id: '7' },
  { event: 'deployment_success', data: '{"id":"d-1"}', id: '7' },
];

describe('SseParser', () => {
  it('parses events, multi-line data, comments and LF, CRLF and CR line ends', () => {
    expect(parse(stream)).toEqual(expected);
  });

  it('gives the same messages however the text is cut into chunks', () => {
    for (const chunks of splits(stream)) expect(parse(...chunks)).toEqual(expected);
  });

  it('gives the same messages one character at a time', () => {
    expect(parse(...stream)).toEqual(expected);
  });

  it('joins CR and LF of one line end split across chunks, also with empty chunks between', () => {
    expect(parse('data: a\r', '', '\n', '\r', '\ndata: b\n\n')).toEqual([
      { event: 'message', data: 'a', id: '' },
      { event: 'message', data: 'b', id: '' },
    ]);
  });

  it('takes CR then CR as two line ends (the blank line dispatches)', () => {
    expect(parse('data: a\r', '\r')).toEqual([{ event: 'message', data: 'a', id: '' }]);
  });

  it('strips one space after the colon, keeps the rest, allows no colon', () => {
    expect(parse('data:x\ndata:  y\ndata\n\n')).toEqual([{ event: 'message', data: 'x\n y\n', id: '' }]);
  });

  it('dispatches nothing for an event without data, and resets the event type', () => {
    expect(parse('event: ping\n\ndata: d\n\n')).toEqual([{ event: 'message', data: 'd', id: '' }]);
  });

  it('ignores a byte order mark at the start and unknown fields', () => {
    expect(parse('\uFEFFdata: a\nfoo: bar\n\n')).toEqual([{ event: 'message', data: 'a', id: '' }]);
  });

  it('remembers retry and drops a message the stream ended in the middle of', () => {
    const p = new SseParser();
    expect(p.push('retry: 3000\ndata: half')).toEqual([]);
    expect(p.retryMs).toBe(3000);
    p.end();
    expect(p.push('\n\ndata: new\n\n')).toEqual([{ event: 'message', data: 'new', id: '' }]);
  });
});

describe('sseMessages', () => {
  async function* bytes(...chunks: Uint8Array[]) {
    for (const c of chunks) yield c;
  }

  it('decodes UTF-8 characters split across byte chunks', async () => {
    const all = new TextEncoder().encode('event: x\ndata: {"msg":"déjà vu ✓"}\n\n');
    const cut = all.indexOf(0xc3) + 1; // inside the two bytes of 'é'
    const tick = all.indexOf(0xe2) + 2; // inside the three bytes of '✓'
    const out: SseMessage[] = [];
    for await (const m of sseMessages(bytes(all.slice(0, cut), all.slice(cut, tick), all.slice(tick)))) {
      out.push(m);
    }
    expect(out).toEqual([{ event: 'x', data: '{"msg":"déjà vu ✓"}', id: '' }]);
  });
});

import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CommandContext, type CliIO } from './context';
import { CliError, connectionError } from './errors';
import { eventsUrl, openEventStream } from './events';
import { FramePrinter, watchEvents } from './watch';

/** A fake /v2/events: each connection is a stream the test writes SSE text to, or ends. */
class FakeEvents {
  connections: Array<{ url: string; auth: string | null; send(text: string): void; end(): void }> = [];
  private waiters: Array<() => void> = [];
  refuse = false;

  fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (this.refuse) {
      return Promise.reject(
        new TypeError('fetch failed', {
          cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
        }),
      );
    }
    const encoder = new TextEncoder();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    init?.signal?.addEventListener('abort', () =>
      controller.error(new DOMException('aborted', 'AbortError')),
    );
    this.connections.push({
      url: String(input),
      auth: new Headers(init?.headers).get('authorization'),
      send: (text) => controller.enqueue(encoder.encode(text)),
      end: () => controller.close(),
    });
    for (const w of this.waiters.splice(0)) w();
    return Promise.resolve(new Response(body, { headers: { 'content-type': 'text/event-stream' } }));
  };

  /** Resolves once there are `n` connections. */
  async connected(n: number): Promise<void> {
    while (this.connections.length < n) await new Promise<void>((r) => this.waiters.push(r));
  }

  get last() {
    return this.connections[this.connections.length - 1]!;
  }
}

function context(events: FakeEvents, interrupt?: AbortSignal) {
  const err: string[] = [];
  const io: CliIO = {
    stdout: { write: () => true },
    stderr: { write: (s: string) => err.push(s) },
    env: { ATOLL_URL: 'http://control:7700', ATOLL_TOKEN: 'atl_t' },
    fetch: events.fetch,
    ...(interrupt ? { interrupt: () => interrupt } : {}),
  };
  return { ctx: new CommandContext(io, new Command()), stderr: () => err.join('') };
}

/** A promise and its resolver, to step the watch from the test. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

describe('eventsUrl', () => {
  it("filters with one event_type per type, and asks for Atoll's own events too without one", () => {
    expect(eventsUrl('http://c:7700/prefix', ['deployment_success', 'deployment_failed'])).toBe(
      'http://c:7700/prefix/v2/events?event_type=deployment_success&event_type=deployment_failed',
    );
    expect(eventsUrl('http://c')).toBe('http://c/v2/events?atoll_events=true');
  });
});

describe('openEventStream', () => {
  const connection = { url: 'http://c', token: 'atl_t' };
  const answering = (res: Response) => () => Promise.resolve(res);

  it('sends the token and yields parsed events', async () => {
    const fake = new FakeEvents();
    const ac = new AbortController();
    const stream = await openEventStream({ connection, signal: ac.signal, fetch: fake.fetch });
    expect(fake.last.auth).toBe('Bearer atl_t');
    fake.last.send('event: deployment_success\ndata: {"id":"d-1"}\n\nevent: odd\ndata: not json\n\n');
    fake.last.end();
    const got = [];
    for await (const e of stream.events) got.push(e);
    expect(got).toEqual([
      { eventType: 'deployment_success', data: { id: 'd-1' } },
      { eventType: 'odd', data: { text: 'not json' } },
    ]);
  });

  it('a rejected token is "not logged in" (exit 2)', async () => {
    const err = await openEventStream({
      connection,
      signal: new AbortController().signal,
      fetch: answering(new Response('{"message":"authentication required"}', { status: 401 })),
    }).catch((e: unknown) => e);
    expect((err as CliError).exitCode).toBe(2);
  });

  it('says when something else answers', async () => {
    const err = await openEventStream({
      connection,
      signal: new AbortController().signal,
      fetch: answering(new Response('<html>', { status: 200, headers: { 'content-type': 'text/html' } })),
    }).catch((e: unknown) => e);
    expect((err as CliError).message).toBe(
      'http://c did not answer like atoll-control on /v2/events (HTTP 200, text/html)',
    );
  });

  it('names the URL when it cannot connect', async () => {
    const fake = new FakeEvents();
    fake.refuse = true;
    const err = await openEventStream({
      connection,
      signal: new AbortController().signal,
      fetch: fake.fetch,
    }).catch((e: unknown) => e);
    expect((err as CliError).message).toBe(
      'cannot connect to http://c: connection refused (is atoll-control running there?)',
    );
  });
});

describe('FramePrinter', () => {
  it('prints changed frames one after the other when not on a terminal', () => {
    const out: string[] = [];
    const p = new FramePrinter({ write: (s: string) => out.push(s) });
    p.print('a');
    p.print('a\n');
    p.print('b\n');
    expect(out).toEqual(['a\n', '\nb\n']);
  });

  it('redraws the screen on a terminal', () => {
    const out: string[] = [];
    const p = new FramePrinter({ write: (s: string) => out.push(s), isTTY: true });
    p.print('a\n');
    p.print('b\n');
    expect(out).toEqual(['\u001b[H\u001b[2Ja\n', '\u001b[H\u001b[2Jb\n']);
  });
});

describe('watchEvents', () => {
  it('refreshes first, then after events, until refresh returns an exit code', async () => {
    const fake = new FakeEvents();
    const { ctx } = context(fake);
    const seen: string[] = [];
    let refreshes = 0;
    const step = gate();
    const done = watchEvents(ctx, {
      idleRefreshMs: 60_000,
      interruptedCode: 130,
      onEvent: (e) => seen.push(e.eventType),
      refresh: () => {
        refreshes++;
        if (refreshes === 1) step.open();
        return Promise.resolve(seen.includes('deployment_success') ? 0 : undefined);
      },
    });
    await step.opened;
    // The stream was open before the first refresh, with the token.
    expect(fake.connections).toHaveLength(1);
    expect(fake.last.auth).toBe('Bearer atl_t');
    // A burst split at an awkward place; the watch ends on the success.
    fake.last.send('event: status_update_event\ndata: {}\n\nevent: deployment_suc');
    fake.last.send('cess\ndata: {"id":"d"}\n\n');
    expect(await done).toBe(0);
    expect(seen).toEqual(['status_update_event', 'deployment_success']);
  });

  it('ends with the interrupted code on Ctrl-C', async () => {
    const fake = new FakeEvents();
    const ac = new AbortController();
    const { ctx } = context(fake, ac.signal);
    const step = gate();
    const done = watchEvents(ctx, {
      idleRefreshMs: 60_000,
      interruptedCode: 130,
      refresh: () => {
        step.open();
        return Promise.resolve(undefined);
      },
    });
    await step.opened;
    ac.abort();
    expect(await done).toBe(130);
  });

  it('reconnects when the stream ends, and refreshes for what it missed', async () => {
    const fake = new FakeEvents();
    const { ctx, stderr } = context(fake);
    let refreshes = 0;
    const step = gate();
    const done = watchEvents(ctx, {
      idleRefreshMs: 60_000,
      interruptedCode: 130,
      refresh: () => {
        refreshes++;
        if (refreshes === 1) step.open();
        return Promise.resolve(refreshes === 2 ? 0 : undefined);
      },
    });
    await step.opened;
    fake.last.end();
    await fake.connected(2);
    expect(await done).toBe(0);
    expect(stderr()).toBe('warning: lost the event stream of the cluster; reconnecting\n');
  });

  it('rides out a refresh that cannot connect, saying so once', async () => {
    const fake = new FakeEvents();
    const { ctx, stderr } = context(fake);
    let refreshes = 0;
    const step = gate();
    const done = watchEvents(ctx, {
      idleRefreshMs: 60_000,
      interruptedCode: 130,
      refresh: () => {
        refreshes++;
        if (refreshes === 1) step.open();
        if (refreshes === 2 || refreshes === 3)
          return Promise.reject(connectionError('http://control:7700', null));
        return Promise.resolve(refreshes === 4 ? 0 : undefined);
      },
    });
    await step.opened;
    for (let i = 0; i < 3; i++) fake.last.send('data: {}\n\n');
    // Each event may come alone or coalesced with the next; keep sending until the watch ends.
    const feeder = setInterval(() => fake.last.send('data: {}\n\n'), 20);
    try {
      expect(await done).toBe(0);
    } finally {
      clearInterval(feeder);
    }
    expect(stderr()).toBe('warning: cannot connect to http://control:7700: unknown error; retrying\n');
  });

  it('fails at once when the first connection fails', async () => {
    const fake = new FakeEvents();
    fake.refuse = true;
    const { ctx } = context(fake);
    let refreshed = false;
    const err = await watchEvents(ctx, {
      idleRefreshMs: 60_000,
      interruptedCode: 130,
      refresh: () => {
        refreshed = true;
        return Promise.resolve(0);
      },
    }).catch((e: unknown) => e);
    expect((err as CliError).message).toContain('cannot connect to http://control:7700');
    expect(refreshed).toBe(false);
  });
});

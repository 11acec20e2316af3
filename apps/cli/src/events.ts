import type { CliConfig } from './config';
import type { FetchFn } from './client';
import { CliError, connectionError, notLoggedIn } from './errors';
import { sseMessages } from './sse';

/** One event of control's `/v2/events` (Marathon's event bus): its type and JSON body. */
export interface ClusterEvent {
  eventType: string;
  data: Record<string, unknown>;
}

/** An open `/v2/events` stream: its events until the connection ends or `signal` aborts. */
export interface EventStream {
  events: AsyncGenerator<ClusterEvent>;
}

/**
 * The URL of the event stream, filtered to `eventTypes`; when empty, all events: Marathon's and
 * Atoll's own (node, package, placement changes), which control streams only when asked.
 */
export function eventsUrl(clusterUrl: string, eventTypes: string[] = []): string {
  const u = new URL(`${clusterUrl}/v2/events`);
  for (const t of eventTypes) u.searchParams.append('event_type', t);
  if (eventTypes.length === 0) u.searchParams.set('atoll_events', 'true');
  return u.toString();
}

/**
 * Connects to `/v2/events` with the API token and resolves once control has answered, so no event
 * sent after that is missed. Failures to connect are errors naming the URL, like the API's.
 */
export async function openEventStream(opts: {
  connection: CliConfig;
  signal: AbortSignal;
  eventTypes?: string[] | undefined;
  fetch?: FetchFn | undefined;
}): Promise<EventStream> {
  const { url, token } = opts.connection;
  const fetch = opts.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await fetch(eventsUrl(url, opts.eventTypes), {
      headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
      signal: opts.signal,
    });
  } catch (err) {
    if (opts.signal.aborted) throw err;
    throw connectionError(url, err);
  }
  const type = res.headers.get('content-type') ?? '';
  if (res.status === 401) {
    await res.body?.cancel();
    throw notLoggedIn(`${url} rejected the API token`);
  }
  if (!res.ok || !type.includes('text/event-stream') || !res.body) {
    await res.body?.cancel();
    throw new CliError(
      `${url} did not answer like atoll-control on /v2/events (HTTP ${res.status}${type ? `, ${type.split(';')[0]}` : ''})`,
      { hints: ['check the cluster URL'] },
    );
  }
  return { events: parseEvents(res.body) };
}

async function* parseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ClusterEvent> {
  for await (const m of sseMessages(chunks(body))) {
    yield { eventType: m.event, data: parseData(m.data) };
  }
}

/** The body's chunks; leaving the loop early cancels the body, which closes the connection. */
async function* chunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function parseData(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
    return { value };
  } catch {
    return { text };
  }
}

import type { CommandContext, Writer } from './context';
import { isConnectionFailure } from './errors';
import { openEventStream, type ClusterEvent, type EventStream } from './events';

/** Events arriving this close together cause one refresh, not one each. */
const COALESCE_MS = 100;
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 5_000;

/** Clears a terminal and moves the cursor home. */
const CLEAR_SCREEN = '\u001b[H\u001b[2J';

/**
 * Prints successive states of a watch. On a terminal each frame replaces the screen; elsewhere
 * (a pipe, a file) frames follow one another, separated by `separator`. A frame equal to the
 * previous one is not printed again.
 */
export class FramePrinter {
  private last: string | null = null;

  constructor(
    private readonly out: Writer,
    private readonly separator = '\n',
    private readonly redraw = out.isTTY === true,
  ) {}

  print(frame: string): void {
    const text = frame.endsWith('\n') ? frame : `${frame}\n`;
    if (text === this.last) return;
    const first = this.last === null;
    this.last = text;
    if (this.redraw) this.out.write(CLEAR_SCREEN + text);
    else this.out.write(first ? text : this.separator + text);
  }
}

export interface WatchOptions {
  /** Fetches and prints the current state; returns an exit code once there is nothing more to watch. */
  refresh(): Promise<number | undefined>;
  /** Sees every event before the refresh it causes. */
  onEvent?: ((event: ClusterEvent) => void) | undefined;
  /** Only these event types (`?event_type=`); all when absent. */
  eventTypes?: string[] | undefined;
  /** Refresh this often without events too (for changes no event announces). */
  idleRefreshMs: number;
  /** The exit code when the user interrupts the watch. */
  interruptedCode: number;
}

/**
 * Runs `refresh` now and again after each batch of events from control's `/v2/events`, until it
 * returns an exit code or the user interrupts. The stream is opened before the first refresh, so
 * a change right after it is not missed. A lost stream is reopened (with a refresh, for what was
 * missed meanwhile); a failed refresh for want of a connection is retried at the next one.
 */
export async function watchEvents(ctx: CommandContext, opts: WatchOptions): Promise<number> {
  const interrupt = ctx.interruptSignal();
  const stop = new AbortController();
  const signal = AbortSignal.any([interrupt, stop.signal]);
  const connection = await ctx.connection();
  const open = () =>
    openEventStream({ connection, signal, eventTypes: opts.eventTypes, fetch: ctx.io.fetch });

  const inbox: ClusterEvent[] = [];
  let reconnected = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };

  let first: EventStream;
  try {
    first = await open();
  } catch (err) {
    if (interrupt.aborted) return opts.interruptedCode;
    throw err;
  }
  const pump = (async () => {
    let stream: EventStream | null = first;
    let delay = RECONNECT_MIN_MS;
    while (!signal.aborted) {
      if (stream) {
        try {
          for await (const e of stream.events) {
            inbox.push(e);
            notify();
          }
        } catch {
          // the connection broke; reconnect below
        }
        stream = null;
        if (signal.aborted) break;
        ctx.warn('lost the event stream of the cluster; reconnecting');
      }
      await sleep(delay, signal);
      if (signal.aborted) break;
      try {
        stream = await open();
        delay = RECONNECT_MIN_MS;
        reconnected = true;
        notify();
      } catch {
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
      }
    }
  })();

  let connected = true;
  const refresh = async (): Promise<number | undefined> => {
    try {
      const code = await opts.refresh();
      connected = true;
      return code;
    } catch (err) {
      if (!isConnectionFailure(err)) throw err;
      if (connected) ctx.warn(`${err instanceof Error ? err.message : String(err)}; retrying`);
      connected = false;
      return undefined;
    }
  };

  try {
    let code = await opts.refresh();
    if (interrupt.aborted) return opts.interruptedCode;
    while (code === undefined) {
      if (inbox.length === 0 && !reconnected) {
        await new Promise<void>((resolve) => {
          if (signal.aborted) return resolve();
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            wake = null;
            resolve();
          };
          const timer = setTimeout(done, opts.idleRefreshMs);
          signal.addEventListener('abort', done, { once: true });
          wake = done;
        });
      }
      if (interrupt.aborted) return opts.interruptedCode;
      if (inbox.length > 0) await sleep(COALESCE_MS, signal);
      if (interrupt.aborted) return opts.interruptedCode;
      reconnected = false;
      for (const e of inbox.splice(0)) opts.onEvent?.(e);
      code = await refresh();
    }
    return code;
  } finally {
    stop.abort();
    await pump;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Frames of a watch: tables for people, one compact JSON document per line with `--json`. */
export function watchPrinter(ctx: CommandContext): (data: unknown, human: () => string) => void {
  // JSON goes to programs: one document per line, never a cleared screen.
  const frames = ctx.json ? new FramePrinter(ctx.io.stdout, '', false) : new FramePrinter(ctx.io.stdout);
  return (data, human) => frames.print(ctx.json ? JSON.stringify(data) : human());
}

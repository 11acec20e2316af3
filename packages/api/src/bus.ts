import { EventEmitter } from 'node:events';

/** A change worth telling live clients about: the console refetches what the kind names. */
export interface Change {
  kind: 'app' | 'task' | 'node' | 'deployment' | 'event' | 'catalog' | 'job';
  subject?: string;
  at: string;
}

/** A stored event as streamed by /v2/events: Marathon's `eventType` and `timestamp` plus its fields. */
export interface ClusterEvent {
  eventType: string;
  timestamp: string;
  [field: string]: unknown;
}

/**
 * In-process fan-out of changes to subscribers (console SSE, /v2/events). Control bridges it to
 * PostgreSQL LISTEN/NOTIFY so every replica's subscribers see every change.
 */
export class ChangeBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(change: Omit<Change, 'at'> & { at?: string }): void {
    this.emitter.emit('change', { ...change, at: change.at ?? new Date().toISOString() });
  }

  subscribe(listener: (c: Change) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  /** `subject` (the app, job or node the event is about) lets scoped readers filter the stream. */
  publishEvent(event: ClusterEvent, subject?: string): void {
    this.emitter.emit('event', event, subject);
  }

  subscribeEvents(listener: (e: ClusterEvent, subject?: string) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /** Async iteration for tRPC subscriptions; ends when `signal` aborts. */
  changes(signal?: AbortSignal): AsyncGenerator<Change> {
    return iterate<Change>((l) => this.subscribe(l), signal);
  }

  events(signal?: AbortSignal): AsyncGenerator<ClusterEvent> {
    return iterate<ClusterEvent>((l) => this.subscribeEvents(l), signal);
  }
}

async function* iterate<T>(
  subscribe: (listener: (v: T) => void) => () => void,
  signal?: AbortSignal,
): AsyncGenerator<T> {
  const queue: T[] = [];
  let wake: (() => void) | null = null;
  const off = subscribe((c) => {
    queue.push(c);
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  try {
    while (!signal?.aborted) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    off();
    signal?.removeEventListener('abort', onAbort);
  }
}

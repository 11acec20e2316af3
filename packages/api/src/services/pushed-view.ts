import type { ControlMessage } from '@atoll/spec';
import type { Services } from '../context';
import { stateFingerprint } from './state-fingerprint';

type S = Pick<Services, 'db' | 'bus' | 'agents' | 'log'>;

/** A view is computed from PostgreSQL at least this often, even when its inputs look unchanged. */
const FULL_REBUILD_MS = 30_000;

/**
 * How many bytes of pushed views a replica writes to its agents per second at most, on average:
 * after a push of V bytes to N agents the next rebuild waits V × N / this (at most
 * MAX_PUSH_SPACING_MS). A small cluster's view goes out at once; at 10,000 tasks a view is
 * megabytes and a thousand agents make each push gigabytes, so a deploy burst's changes are
 * gathered into one push every few seconds instead of one per debounce (Mesos-DNS itself
 * refreshes every 60 s by default).
 */
const PUSH_BYTES_PER_SECOND = 200 * 1024 * 1024;
const MAX_PUSH_SPACING_MS = 15_000;

/**
 * A view of the cluster that every agent holds a copy of (the DNS names, the VIPs): rebuilt from
 * PostgreSQL shortly after an app, task or node change on this replica (debounced), and checked
 * every second for changes made elsewhere (another replica's, the leader's: one fingerprint
 * query, state-fingerprint.ts); pushed to this replica's agents only when it changed, and to an
 * agent when it (re)connects. Every replica runs one for the agents it holds.
 */
export abstract class PushedView<V> {
  private current: V;
  private currentJson: string;
  private timer: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private building: Promise<void> | null = null;
  private again = false;
  /** The inputs of the last computation, and when it ran (see rebuild). */
  private computed: { key: string; at: number } | null = null;
  /** No scheduled rebuild before this time (set by the last push's size; see PUSH_BYTES_PER_SECOND). */
  private quietUntil = 0;

  constructor(
    protected readonly s: S,
    initial: V,
    private readonly pushed: { what: string; debounceMs: number; refreshMs?: number | undefined },
  ) {
    this.current = initial;
    this.currentJson = JSON.stringify(initial);
  }

  /** The view as the agents have it. */
  get view(): V {
    return this.current;
  }

  /** The view as it is in PostgreSQL now. */
  protected abstract compute(): Promise<V>;

  /** The message that carries the view to an agent. */
  protected abstract message(view: V): ControlMessage;

  /** Called after every rebuild, changed or not. */
  protected afterRebuild(): void {}

  /** What the view depends on besides the cluster state in PostgreSQL (in-memory inputs). */
  protected extraInputs(): string {
    return '';
  }

  async start(): Promise<void> {
    this.unsubscribe = this.s.bus.subscribe((c) => {
      if (c.kind === 'app' || c.kind === 'task' || c.kind === 'node') this.schedule();
    });
    this.interval = setInterval(() => this.schedule(), this.pushed.refreshMs ?? 1_000);
    this.interval.unref();
    await this.rebuild();
  }

  close(): void {
    this.unsubscribe?.();
    clearTimeout(this.timer);
    clearInterval(this.interval);
  }

  /** Debounced: a deployment's burst of task changes makes one rebuild. */
  schedule(): void {
    if (this.timer) return;
    const delay = Math.max(this.pushed.debounceMs, this.quietUntil - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.rebuild().catch((err: unknown) =>
        this.s.log.warn({ err }, `rebuilding the ${this.pushed.what} failed`),
      );
    }, delay);
    this.timer.unref();
  }

  /** Rebuilds now (one at a time; a request during a build runs once more after it). */
  async rebuild(): Promise<void> {
    if (this.building) {
      this.again = true;
      return this.building;
    }
    this.building = (async () => {
      do {
        this.again = false;
        // Unchanged inputs make the same view: skip reading every task again, but compute at
        // least every FULL_REBUILD_MS whatever the fingerprint says.
        const key = `${await stateFingerprint(this.s)}/${this.extraInputs()}`;
        const now = Date.now();
        if (this.computed?.key === key && now - this.computed.at < FULL_REBUILD_MS) {
          this.afterRebuild();
          continue;
        }
        this.computed = { key, at: now };
        const view = await this.compute();
        const json = JSON.stringify(view);
        if (json !== this.currentJson) {
          this.current = view;
          this.currentJson = json;
          await this.broadcast();
        }
        this.afterRebuild();
      } while (this.again);
    })().finally(() => {
      this.building = null;
    });
    return this.building;
  }

  /** To the agents this replica holds: every replica pushes its own view to its own agents. */
  private async broadcast(): Promise<void> {
    const local = this.s.agents.localNodes?.();
    const ids =
      local ??
      (await this.s.db.pool.query<{ id: string }>('SELECT id FROM nodes WHERE connected')).rows.map(
        (n) => n.id,
      );
    for (const id of ids) this.sendTo(id);
    const bytes = this.currentJson.length * ids.length;
    this.quietUntil = Date.now() + Math.min(MAX_PUSH_SPACING_MS, (bytes / PUSH_BYTES_PER_SECOND) * 1000);
  }

  /** Sends the current view to one agent (when it connects). */
  sendTo(nodeId: string): void {
    // One message object per view, so the gateway serialises it once for all agents.
    if (this.sent?.view !== this.current)
      this.sent = { view: this.current, message: this.message(this.current) };
    this.s.agents.send(nodeId, this.sent.message);
  }

  private sent: { view: V; message: ControlMessage } | null = null;
}

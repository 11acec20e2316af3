import type { AddressInfo } from 'node:net';
import { parseAgentMessage, type AgentMessage, type ControlMessage } from '@atoll/spec';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A minimal stand-in for atoll-control in tests: a real WebSocket server at /agent/v1 that records
 * what agents send and lets the test answer with real protocol messages.
 */
export class ControlPeer {
  private readonly server: WebSocketServer;
  readonly connections: AgentConnection[] = [];
  private waiters: Array<(c: AgentConnection) => void> = [];

  private constructor(server: WebSocketServer) {
    this.server = server;
    server.on('connection', (ws) => {
      const conn = new AgentConnection(ws);
      this.connections.push(conn);
      const waiters = this.waiters;
      this.waiters = [];
      waiters.forEach((w) => w(conn));
    });
  }

  static async start(): Promise<ControlPeer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/agent/v1' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new ControlPeer(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next connection after the `seen`-th one. */
  nextConnection(seen = this.connections.length, timeoutMs = 15_000): Promise<AgentConnection> {
    const existing = this.connections[seen];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no agent connected')), timeoutMs);
      const wait = (c: AgentConnection) => {
        if (this.connections.length > seen) {
          clearTimeout(timer);
          resolve(this.connections[seen] ?? c);
        } else {
          this.waiters.push(wait);
        }
      };
      this.waiters.push(wait);
    });
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

type Waiter = { match: (m: AgentMessage) => boolean; resolve: (m: AgentMessage) => void };

export class AgentConnection {
  /** Messages not yet taken by `next`. */
  private readonly inbox: AgentMessage[] = [];
  private waiters: Waiter[] = [];
  readonly all: AgentMessage[] = [];
  readonly invalid: string[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const parsed = parseAgentMessage(data);
      if (!parsed.ok) {
        this.invalid.push(parsed.error);
        return;
      }
      this.all.push(parsed.message);
      const i = this.waiters.findIndex((w) => w.match(parsed.message));
      const waiter = this.waiters[i];
      if (waiter) {
        this.waiters.splice(i, 1);
        waiter.resolve(parsed.message);
      } else {
        this.inbox.push(parsed.message);
      }
    });
  }

  send(msg: ControlMessage | string): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The first message not yet taken that is of `type` and matches `where`. */
  next<T extends AgentMessage['type']>(
    type: T,
    where: (m: Extract<AgentMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<Extract<AgentMessage, { type: T }>> {
    const match = (m: AgentMessage): boolean =>
      m.type === type && where(m as Extract<AgentMessage, { type: T }>);
    const i = this.inbox.findIndex(match);
    const found = this.inbox[i];
    if (found) {
      this.inbox.splice(i, 1);
      return Promise.resolve(found as Extract<AgentMessage, { type: T }>);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<AgentMessage, { type: T }>);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(`no ${type} message within ${timeoutMs} ms; got ${JSON.stringify(this.all.slice(-5))}`),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The next status report for `taskId` in `state`. */
  status(taskId: string, state: string, timeoutMs = 30_000) {
    return this.next(
      'taskStatus',
      (m) => m.report.taskId === taskId && m.report.state === state,
      timeoutMs,
    ).then((m) => m.report);
  }
}

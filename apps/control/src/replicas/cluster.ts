import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AgentDispatcher, Services } from '@atoll/api';
import type { AgentMessage, ControlMessage } from '@atoll/spec';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { WebSocket } from 'ws';

/** Replies of an agent to a stream (logs, exec) that some replica opened. */
export type StreamReply = Extract<
  AgentMessage,
  { type: 'logData' | 'logEnd' | 'execStarted' | 'execOutput' | 'execExit' }
>;

/** This replica's own agents: the WebSocket gateway (gateway.ts). */
export interface LocalAgents extends AgentDispatcher {
  disconnect(nodeId: string, reason: string): void;
  localNodes(): string[];
}

/** Frames on a link between two replicas (JSON text frames). */
type LinkFrame =
  /** Caller → holder: send this message to the agent (launches, kills, stream requests, …). */
  | { t: 'send'; nodeId: string; message: ControlMessage; hops?: number }
  /** Caller → holder: close the agent's connection (decommission). */
  | { t: 'disconnect'; nodeId: string; reason: string }
  /** Holder → caller: an agent's reply to a stream the caller opened. */
  | { t: 'reply'; nodeId: string; message: StreamReply };

/** The PostgreSQL session a live replica holds is named `atoll-replica <id>`. */
const PRESENCE_APPLICATION_NAME = 'atoll-replica';
/** Header carrying the holder's own token on a link request. */
export const REPLICA_TOKEN_HEADER = 'x-atoll-replica-token';
export const LINK_PATH = '/internal/v1/replicas/link';
/** How often a replica re-reads which replicas live and which agents each holds. */
const REFRESH_MS = 1000;

interface Peer {
  url: string;
  token: string;
}

/** An outgoing link to a peer: frames queue until the socket opens. */
interface Link {
  replicaId: string;
  socket: WebSocket;
  queue: string[];
  /** Nodes whose streams were opened through this link: they end when the link goes. */
  streamNodes: Set<string>;
}

/** A stream opened on this replica's agent for another replica (by stream or session id). */
interface ForeignStream {
  nodeId: string;
  socket: WebSocket;
  kind: 'log' | 'exec';
}

function streamIdOf(m: ControlMessage | StreamReply): string | null {
  if ('streamId' in m) return m.streamId;
  if ('sessionId' in m) return m.sessionId;
  return null;
}

/**
 * Several control replicas on one PostgreSQL. Every agent holds one WebSocket, to any replica;
 * this dispatcher makes every agent reachable from every replica:
 *
 * - each replica has a row in `control_replicas` (its internal URL and a random token) and keeps a
 *   PostgreSQL session named `atoll-replica <id>` for as long as it lives, so a replica that
 *   crashes is known to be gone the moment PostgreSQL drops its connection — no clocks involved;
 * - `nodes.replica_id` says which replica holds each agent (written when the agent says hello,
 *   cleared when it leaves; a dead replica's entries are ignored, then cleared);
 * - a message for an agent held elsewhere (the leader's launches and kills, a log or exec request
 *   made on this replica) goes over a WebSocket link to the holder, authenticated with the
 *   holder's token (read from PostgreSQL, never accepted from anyone else), and the agent's stream
 *   replies come back over the same link. Access checks stay on the replica the user talks to.
 */
export class ReplicaCluster implements AgentDispatcher {
  readonly id = randomUUID();
  private readonly token = randomBytes(32).toString('base64url');
  private presence: pg.PoolClient | null = null;
  private peers = new Map<string, Peer>();
  /** Agents held by live peers: node id → replica id. */
  private holders = new Map<string, string>();
  private readonly links = new Map<string, Link>();
  private readonly foreign = new Map<string, ForeignStream>();
  private readonly incoming = new Set<WebSocket>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly s: Services,
    /** This replica's own agents (the gateway). */
    readonly local: LocalAgents,
  ) {}

  /** Announces this replica at `url` (how peers reach it) and starts following the others. */
  async start(url: string): Promise<void> {
    await this.ensurePresence();
    await this.s.db.pool.query(
      `INSERT INTO control_replicas (id, url, token) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, token = EXCLUDED.token`,
      [this.id, url, this.token],
    );
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  // --- AgentDispatcher: what the reconciler, the stream relay and node operations call ---

  send(nodeId: string, message: ControlMessage): boolean {
    if (this.local.isConnected(nodeId)) return this.local.send(nodeId, message);
    const holder = this.holders.get(nodeId);
    if (!holder) return false;
    if (message.type === 'logOpen' || message.type === 'execOpen') this.link(holder)?.streamNodes.add(nodeId);
    return this.forward(holder, { t: 'send', nodeId, message });
  }

  isConnected(nodeId: string): boolean {
    return this.local.isConnected(nodeId) || this.holders.has(nodeId);
  }

  localNodes(): string[] {
    return this.local.localNodes();
  }

  disconnect(nodeId: string, reason: string): void {
    if (this.local.isConnected(nodeId)) return this.local.disconnect(nodeId, reason);
    const holder = this.holders.get(nodeId);
    if (holder) this.forward(holder, { t: 'disconnect', nodeId, reason });
  }

  /** The replica holding the node's agent: this one, another live one, or null. */
  holderOf(nodeId: string): string | null {
    if (this.local.isConnected(nodeId)) return this.id;
    return this.holders.get(nodeId) ?? null;
  }

  // --- The gateway's hooks: agents arriving and leaving this replica ---

  /** An agent said hello here: record that this replica holds it. */
  async agentConnected(nodeId: string): Promise<void> {
    this.holders.delete(nodeId);
    await this.s.db.pool.query('UPDATE nodes SET replica_id = $2 WHERE id = $1', [nodeId, this.id]);
  }

  /**
   * An agent's socket here closed: forget it, unless it has already said hello elsewhere. False
   * when another replica holds it now (then it is still connected, to that replica).
   */
  async agentDisconnected(nodeId: string): Promise<boolean> {
    for (const [id, f] of this.foreign) {
      if (f.nodeId !== nodeId) continue;
      this.foreign.delete(id);
      const end: StreamReply =
        f.kind === 'log'
          ? { type: 'logEnd', streamId: id, error: 'the node disconnected' }
          : { type: 'execExit', sessionId: id, exitCode: null, error: 'the node disconnected' };
      sendFrame(f.socket, { t: 'reply', nodeId, message: end });
    }
    const { rows } = await this.s.db.pool.query<{ replica_id: string | null }>(
      `WITH cleared AS (UPDATE nodes SET replica_id = NULL WHERE id = $1 AND replica_id = $2 RETURNING id)
       SELECT replica_id FROM nodes WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM cleared)`,
      [nodeId, this.id],
    );
    return !rows[0]?.replica_id;
  }

  /** A stream reply from an agent here: true when it belongs to a stream another replica opened. */
  streamReply(nodeId: string, message: StreamReply): boolean {
    const id = streamIdOf(message);
    const f = id ? this.foreign.get(id) : undefined;
    if (!f || f.nodeId !== nodeId) return false;
    if (message.type === 'logEnd' || message.type === 'execExit') this.foreign.delete(id!);
    sendFrame(f.socket, { t: 'reply', nodeId, message });
    return true;
  }

  // --- The link endpoint: peers sending to agents this replica holds ---

  register(app: FastifyInstance): void {
    app.get(
      LINK_PATH,
      {
        websocket: true,
        // Not a user's route: only a peer that read this replica's token from PostgreSQL gets in.
        config: { access: 'public' },
        preValidation: async (req, reply) => {
          const given = req.headers[REPLICA_TOKEN_HEADER];
          if (typeof given !== 'string' || !sameToken(given, this.token))
            return reply
              .code(401)
              .send({ message: 'not a control replica of this cluster', code: 'UNAUTHORIZED' });
        },
      },
      (socket) => this.acceptLink(socket),
    );
  }

  private acceptLink(socket: WebSocket): void {
    this.incoming.add(socket);
    socket.on('message', (raw: Buffer) => {
      const frame = parseFrame(raw);
      if (!frame) return;
      if (frame.t === 'disconnect') return this.local.disconnect(frame.nodeId, frame.reason);
      if (frame.t !== 'send') return;
      const { nodeId, message } = frame;
      const id = streamIdOf(message);
      if (id && (message.type === 'logOpen' || message.type === 'execOpen'))
        this.foreign.set(id, { nodeId, socket, kind: message.type === 'logOpen' ? 'log' : 'exec' });
      const sent = this.local.send(nodeId, message);
      if (id && (message.type === 'logClose' || (message.type === 'execClose' && !message.eofOnly)))
        this.foreign.delete(id);
      if (!sent && !id && (frame.hops ?? 0) < 2) {
        // The agent moved on since the caller looked (its view is up to a second old): pass the
        // message (a launch, a kill) to its new holder rather than lose it.
        void this.refresh().then(() => {
          const holder = this.holders.get(nodeId);
          if (this.local.isConnected(nodeId)) this.local.send(nodeId, message);
          else if (holder) this.forward(holder, { t: 'send', nodeId, message, hops: (frame.hops ?? 0) + 1 });
        });
      }
      if (!sent && id && this.foreign.has(id)) {
        // The agent left this replica between the caller's look-up and now: end the stream at once.
        const f = this.foreign.get(id)!;
        this.foreign.delete(id);
        sendFrame(socket, {
          t: 'reply',
          nodeId,
          message:
            f.kind === 'log'
              ? { type: 'logEnd', streamId: id, error: 'the node disconnected' }
              : { type: 'execExit', sessionId: id, exitCode: null, error: 'the node disconnected' },
        });
      }
    });
    socket.on('close', () => {
      this.incoming.delete(socket);
      // The caller went away: close what it had open on the agents here.
      for (const [id, f] of this.foreign) {
        if (f.socket !== socket) continue;
        this.foreign.delete(id);
        this.local.send(
          f.nodeId,
          f.kind === 'log'
            ? { type: 'logClose', streamId: id }
            : { type: 'execClose', sessionId: id, eofOnly: false },
        );
      }
    });
    socket.on('error', (err) => this.s.log.warn({ err }, 'replica link error'));
  }

  // --- Outgoing links ---

  private forward(replicaId: string, frame: LinkFrame): boolean {
    const link = this.link(replicaId);
    if (!link) return false;
    const text = JSON.stringify(frame);
    if (link.socket.readyState === WebSocket.OPEN) link.socket.send(text);
    else link.queue.push(text);
    return true;
  }

  private link(replicaId: string): Link | null {
    const existing = this.links.get(replicaId);
    if (existing) return existing;
    const peer = this.peers.get(replicaId);
    if (!peer || this.closed) return null;
    const url = new URL(LINK_PATH, peer.url.endsWith('/') ? peer.url : `${peer.url}/`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, { headers: { [REPLICA_TOKEN_HEADER]: peer.token } });
    const link: Link = { replicaId, socket, queue: [], streamNodes: new Set() };
    this.links.set(replicaId, link);
    socket.on('open', () => {
      for (const text of link.queue) socket.send(text);
      link.queue = [];
    });
    socket.on('message', (raw: Buffer) => {
      const frame = parseFrame(raw);
      if (frame?.t === 'reply') this.s.streams.handle(frame.nodeId, frame.message);
    });
    socket.on('error', (err) => this.s.log.warn({ err, replicaId }, 'replica link error'));
    socket.on('close', () => {
      if (this.links.get(replicaId) === link) this.links.delete(replicaId);
      // Streams through a lost link cannot go on: end them as if their node had disconnected.
      for (const nodeId of link.streamNodes)
        if (!this.local.isConnected(nodeId)) this.s.streams.nodeGone(nodeId);
    });
    return link;
  }

  // --- Who lives, who holds what ---

  private async ensurePresence(): Promise<void> {
    if (this.presence) return;
    const client = await this.s.db.pool.connect();
    client.on('error', (err) => {
      this.s.log.error({ err }, 'the replica presence connection failed; reconnecting');
      if (this.presence === client) this.presence = null;
      client.release(true);
    });
    await client.query(`SELECT set_config('application_name', $1, false)`, [
      `${PRESENCE_APPLICATION_NAME} ${this.id}`,
    ]);
    this.presence = client;
  }

  /** Re-reads the live replicas and the agents they hold (one pass at a time). */
  refresh(): Promise<void> {
    this.refreshing ??= this.load()
      .catch((err: unknown) => this.s.log.warn({ err }, 'reading the control replicas failed'))
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async load(): Promise<void> {
    if (this.closed) return;
    await this.ensurePresence();
    const live = `EXISTS (SELECT 1 FROM pg_stat_activity a
                          WHERE a.datname = current_database()
                            AND a.application_name = '${PRESENCE_APPLICATION_NAME} ' || r.id::text)`;
    const { rows } = await this.s.db.pool.query<{ id: string; url: string; token: string; live: boolean }>(
      `SELECT r.id, r.url, r.token, ${live} AS live FROM control_replicas r`,
    );
    const peers = new Map<string, Peer>();
    const dead: string[] = [];
    for (const r of rows) {
      if (r.id === this.id) continue;
      if (r.live) peers.set(r.id, { url: r.url, token: r.token });
      else dead.push(r.id);
    }
    if (dead.length > 0) {
      // A crashed replica: its agents are held by nobody until they say hello again elsewhere.
      await this.s.db.pool.query(`UPDATE nodes SET replica_id = NULL WHERE replica_id = ANY($1::uuid[])`, [
        dead,
      ]);
      await this.s.db.pool.query(`DELETE FROM control_replicas WHERE id = ANY($1::uuid[])`, [dead]);
    }
    const holders = new Map<string, string>();
    if (peers.size > 0) {
      const held = await this.s.db.pool.query<{ id: string; replica_id: string }>(
        `SELECT id, replica_id FROM nodes WHERE replica_id = ANY($1::uuid[])`,
        [[...peers.keys()]],
      );
      for (const n of held.rows) holders.set(n.id, n.replica_id);
    }
    this.peers = peers;
    this.holders = holders;
    for (const [id, link] of this.links) if (!peers.has(id)) link.socket.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.refreshing;
    for (const link of this.links.values()) link.socket.terminate();
    this.links.clear();
    for (const socket of this.incoming) socket.terminate();
    try {
      await this.s.db.pool.query('DELETE FROM control_replicas WHERE id = $1', [this.id]);
    } catch (err) {
      this.s.log.warn({ err }, 'removing this replica from control_replicas failed');
    }
    this.presence?.release(true);
    this.presence = null;
  }
}

function sendFrame(socket: WebSocket, frame: LinkFrame): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A frame of a replica link; null for one that is not JSON (dropped). */
function parseFrame(raw: Buffer): LinkFrame | null {
  try {
    return JSON.parse(raw.toString('utf8')) as LinkFrame;
  } catch {
    return null;
  }
}

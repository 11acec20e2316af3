import { agentsService, AgentWriteBatcher, AppError, type AgentDispatcher, type Services } from '@atoll/api';
import { parseAgentMessage, PROTOCOL_VERSION, type ControlMessage } from '@atoll/spec';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { StreamReply } from '../replicas/cluster';

/** How long an agent has to say hello after connecting. */
const HELLO_TIMEOUT_MS = 10_000;

/** What the gateway tells the replica cluster (replicas/cluster.ts). */
export interface AgentHolderHooks {
  agentConnected(nodeId: string): Promise<void>;
  /** False when another replica holds the agent by now (it reconnected there). */
  agentDisconnected(nodeId: string): Promise<boolean>;
  /** True when the reply belongs to a stream another replica opened (then it goes there). */
  streamReply(nodeId: string, msg: StreamReply): boolean;
}

/**
 * The agents' WebSocket endpoint (`/agent/v1`) and the dispatcher the reconciler sends through.
 * Transport only: every message that changes state goes to the service layer.
 */
export class AgentGateway implements AgentDispatcher {
  private readonly sockets = new Map<string, WebSocket>();
  /** Per-connection work still running; close() waits for it before the database goes away. */
  private readonly pending = new Set<Promise<void>>();
  readonly batcher: AgentWriteBatcher;
  /** Told when agents arrive and leave, and offered stream replies (replicas/cluster.ts). */
  holder?: AgentHolderHooks;

  constructor(private readonly s: Services) {
    this.batcher = new AgentWriteBatcher(s);
  }

  send(nodeId: string, message: ControlMessage): boolean {
    const socket = this.sockets.get(nodeId);
    if (!socket || socket.readyState !== socket.OPEN) return false;
    socket.send(this.wire(message), { binary: false });
    return true;
  }

  /**
   * A message's bytes. The DNS and VIP views go to every agent as one message object each
   * (pushed-view.ts): serialised once, not once per agent (at 10,000 tasks on 1,000 agents the
   * per-agent JSON.stringify was a third of control's CPU, bench:scale).
   */
  private wire(message: ControlMessage): Buffer {
    const shared = message.type === 'dnsView' || message.type === 'vipView';
    let bytes = shared ? this.views.get(message) : undefined;
    if (!bytes) {
      bytes = Buffer.from(JSON.stringify(message));
      if (shared) this.views.set(message, bytes);
    }
    return bytes;
  }

  private readonly views = new WeakMap<ControlMessage, Buffer>();

  localNodes(): string[] {
    return [...this.sockets.keys()];
  }

  isConnected(nodeId: string): boolean {
    return this.sockets.get(nodeId)?.readyState === 1;
  }

  disconnect(nodeId: string, reason: string): void {
    this.sockets.get(nodeId)?.close(4003, reason);
  }

  register(app: FastifyInstance): void {
    // Agents authenticate on the socket with their node credential, not as users.
    app.get('/agent/v1', { websocket: true, config: { access: 'public' } }, (socket) => this.accept(socket));
  }

  private accept(socket: WebSocket): void {
    const log = this.s.log.child({ component: 'gateway' });
    let nodeId: string | null = null;
    let watchdog: NodeJS.Timeout | null = null;
    const armWatchdog = (ms: number) => {
      if (watchdog) clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        log.warn({ nodeId }, 'agent silent for too long; closing its connection');
        socket.terminate();
      }, ms);
    };
    armWatchdog(HELLO_TIMEOUT_MS);
    const reply = (m: ControlMessage) => socket.send(JSON.stringify(m));

    // Messages are handled one at a time, in order, so a status never overtakes the hello. A
    // failing step is logged; it never breaks the chain or escapes as an unhandled rejection.
    let queue: Promise<void> = Promise.resolve();
    const enqueue = (step: () => Promise<void>) => {
      const next = queue
        .then(step)
        .catch((err: unknown) => log.error({ err, nodeId }, 'handling an agent message failed'));
      this.pending.add(next);
      void next.finally(() => this.pending.delete(next));
      queue = next;
    };
    socket.on('message', (raw: Buffer) => {
      enqueue(async () => {
        const parsed = parseAgentMessage(raw);
        if (!parsed.ok) {
          log.warn({ nodeId, error: parsed.error }, 'malformed agent message rejected');
          reply({ type: 'error', code: 'MALFORMED', message: parsed.error });
          return;
        }
        const msg = parsed.message;
        armWatchdog(this.s.config.heartbeatTimeoutMs);
        if (msg.type === 'hello') {
          // One connection is one node: a second hello may not switch to another node's identity
          // (nor join as a new node), whatever credential it carries.
          if (nodeId && msg.nodeId !== nodeId) {
            log.warn(
              { nodeId, claimed: msg.nodeId ?? '(join)' },
              'agent tried to change its node on one connection',
            );
            reply({ type: 'error', code: 'UNAUTHORIZED', message: `this connection is node ${nodeId}` });
            socket.close(4003, 'unauthorized');
            return;
          }
          if (msg.protocolVersion !== PROTOCOL_VERSION) {
            reply({
              type: 'error',
              code: 'PROTOCOL',
              message: `protocol version ${msg.protocolVersion} is not supported; control speaks ${PROTOCOL_VERSION}`,
            });
            socket.close(4000, 'protocol version');
            return;
          }
          try {
            const r = await agentsService.handleHello(this.s, msg);
            nodeId = r.nodeId;
            const previous = this.sockets.get(r.nodeId);
            if (previous && previous !== socket) previous.close(4001, 'replaced by a newer connection');
            this.sockets.set(r.nodeId, socket);
            await this.holder?.agentConnected(r.nodeId);
            reply({
              type: 'welcome',
              protocolVersion: PROTOCOL_VERSION,
              nodeId: r.nodeId,
              heartbeatIntervalMs: this.s.config.heartbeatIntervalMs,
              ...(r.credential ? { credential: r.credential } : {}),
            });
            for (const k of r.kills) reply(k);
            this.s.dns.sendTo(r.nodeId);
            this.s.vips.sendTo(r.nodeId);
            log.info({ nodeId, hostname: msg.hostname, tasks: msg.tasks.length }, 'agent connected');
            this.s.poke();
          } catch (err) {
            const message = err instanceof AppError ? err.message : 'hello failed';
            if (!(err instanceof AppError)) log.error({ err }, 'hello failed');
            reply({ type: 'error', code: err instanceof AppError ? err.code : 'INTERNAL', message });
            socket.close(4003, 'unauthorized');
          }
          return;
        }
        if (!nodeId) {
          reply({ type: 'error', code: 'UNAUTHORIZED', message: 'say hello first' });
          return;
        }
        switch (msg.type) {
          case 'heartbeat':
            this.batcher.heartbeat(nodeId, this.s.now());
            break;
          case 'taskStatus':
            this.batcher.status(nodeId, msg.report);
            break;
          case 'taskHealth':
            this.batcher.health(nodeId, msg);
            break;
          case 'taskReadiness':
            this.batcher.readiness(nodeId, msg);
            break;
          case 'metrics':
            this.s.metrics.ingest(nodeId, msg);
            break;
          case 'vipStats':
            this.s.vips.ingest(nodeId, msg);
            break;
          case 'logData':
          case 'logEnd':
          case 'execStarted':
          case 'execOutput':
          case 'execExit':
            if (!this.holder?.streamReply(nodeId, msg)) this.s.streams.handle(nodeId, msg);
            break;
        }
      });
    });

    socket.on('close', () => {
      if (watchdog) clearTimeout(watchdog);
      if (nodeId && this.sockets.get(nodeId) === socket) {
        this.sockets.delete(nodeId);
        this.s.streams.nodeGone(nodeId);
        this.s.metrics.nodeGone(nodeId);
        this.s.vips.nodeGone(nodeId);
        const id = nodeId;
        enqueue(async () => {
          await this.batcher.flush();
          // An agent that already said hello to another replica is not disconnected.
          if ((await this.holder?.agentDisconnected(id)) === false) return;
          await agentsService.markNodeDisconnected(this.s, id);
          this.s.poke();
        });
      }
    });
    socket.on('error', (err) => log.warn({ err, nodeId }, 'agent socket error'));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets.values()) socket.close(1001, 'control shutting down');
    this.sockets.clear();
    await Promise.all([...this.pending]);
    await this.batcher.close();
  }
}

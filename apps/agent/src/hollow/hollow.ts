import {
  isTerminal,
  parseControlMessage,
  PROTOCOL_VERSION,
  type AgentMessage,
  type ControlMessage,
  type Hello,
  type NodeResources,
  type TaskReport,
  type TaskSpec,
  type TaskState,
} from '@atoll/spec';
import WebSocket, { type RawData } from 'ws';
import { agentSocketUrl } from '../agent';
import { backoffDelay, reconnectBackoff } from '../backoff';
import { AGENT_VERSION } from '../version';

/**
 * Hollow agents (kubemark's hollow nodes for Atoll): N simulated agents in one process, each its
 * own WebSocket session to control's `/agent/v1` speaking protocol v1 exactly as the real agent
 * does (hello with a join token, then with the node credential on reconnect; heartbeat and ping at
 * the interval control's welcome gives; task status reports), but running nothing: a launch is
 * answered STARTING → RUNNING (or FAILED for a share `failLaunchRatio`), a kill KILLING → KILLED.
 * Control cannot tell them from real hosts, so they measure control and PostgreSQL at scale.
 */
export interface HollowAgentsOptions {
  /** Control's URL (`http://host:7700`). */
  url: string;
  /** A multi-use join token (every hollow agent joins with it). */
  joinToken: string;
  count: number;
  /** Hostnames are `<prefix>-<index>` (default `hollow`); several sets need distinct prefixes. */
  hostnamePrefix?: string;
  /** What agent `i` offers (default 8 CPUs, 32 GiB, 100 GiB disk, ports 10000-20000). */
  resources?: (index: number) => NodeResources;
  /** Attributes of agent `i` (default `rack=r<i mod 10>`, `zone=z<i mod 3>`, `hollow=true`). */
  attributes?: (index: number) => Record<string, string>;
  /** Share of launches answered TASK_FAILED instead of TASK_RUNNING (0..1, default 0). */
  failLaunchRatio?: number;
  /** Share of tasks with health checks reported unhealthy (0..1, default 0). */
  failHealthRatio?: number;
  /** Delay between STARTING and RUNNING (default 0: at once). */
  launchDelayMs?: number;
  /** How many handshakes may be in flight at once (default 64), so a big set does not stampede. */
  connectConcurrency?: number;
  /** Random source (failures, reconnect jitter, first heartbeat offset). */
  random?: () => number;
}

export interface HollowTaskCounts {
  /** Tasks in a non-terminal state on connected agents. */
  live: number;
  running: number;
  /** Launches answered TASK_FAILED (failLaunchRatio). */
  failedLaunches: number;
  killed: number;
  launches: number;
}

export interface HollowAgents {
  readonly agents: readonly HollowAgent[];
  /** How many agents hold a welcomed session. */
  connected(): number;
  /** Resolves once `n` agents (default all) are connected; rejects after `timeoutMs`. */
  waitConnected(n?: number, timeoutMs?: number): Promise<void>;
  tasks(): HollowTaskCounts;
  /**
   * Drops `n` agents abruptly (their sockets are destroyed without a close frame, as a host that
   * lost power) and never reconnects them; returns them. Picks connected agents with the most
   * tasks first unless `pick` chooses.
   */
  kill(n: number, pick?: (agents: readonly HollowAgent[]) => HollowAgent[]): HollowAgent[];
  /** Closes every session (a clean close: control marks them disconnected). */
  stop(): Promise<void>;
}

const DEFAULT_RESOURCES: NodeResources = {
  cpus: 8,
  memMb: 32_768,
  diskMb: 102_400,
  portRange: [10_000, 20_000],
};

/** The first 40 bytes of a frame as text (where a control message names its type). */
function rawHead(data: RawData): string {
  const first = Array.isArray(data) ? data[0] : data;
  if (!first) return '';
  return (Buffer.isBuffer(first) ? first : Buffer.from(first)).subarray(0, 40).toString('utf8');
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** A counting semaphore for handshakes. */
class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/** One simulated node. */
export class HollowAgent {
  nodeId: string | undefined;
  private credential: string | undefined;
  private ws: WebSocket | undefined;
  private welcomed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private heartbeatStart: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private attempt = 0;
  private holdsGate = false;
  private dead = false;
  readonly tasks = new Map<string, TaskReport>();
  launches = 0;
  failedLaunches = 0;
  killed = 0;

  constructor(
    readonly index: number,
    readonly hostname: string,
    private readonly resources: NodeResources,
    private readonly attributes: Record<string, string>,
    private readonly o: Required<
      Pick<HollowAgentsOptions, 'url' | 'joinToken' | 'failLaunchRatio' | 'failHealthRatio' | 'launchDelayMs'>
    > & { random: () => number; gate: Gate },
  ) {}

  get connected(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Tasks not in a terminal state. */
  liveTasks(): TaskReport[] {
    return [...this.tasks.values()].filter((t) => !isTerminal(t.state));
  }

  connect(): void {
    if (this.dead) return;
    void this.o.gate.acquire().then(() => {
      this.holdsGate = true;
      if (this.dead) return this.releaseGate();
      this.open();
    });
  }

  private releaseGate(): void {
    if (!this.holdsGate) return;
    this.holdsGate = false;
    this.o.gate.release();
  }

  private open(): void {
    const ws = new WebSocket(agentSocketUrl(this.o.url), {
      handshakeTimeout: 30_000,
      perMessageDeflate: false,
    });
    this.ws = ws;
    this.welcomed = false;
    ws.on('open', () => {
      const hello: Hello = {
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        agentVersion: `${AGENT_VERSION}-hollow`,
        ...(this.nodeId && this.credential
          ? { nodeId: this.nodeId, credential: this.credential }
          : { joinToken: this.o.joinToken }),
        hostname: this.hostname,
        address: hollowAddress(this.index),
        runtime: 'docker',
        resources: this.resources,
        attributes: this.attributes,
        tasks: [...this.tasks.values()],
      };
      ws.send(JSON.stringify(hello));
    });
    ws.on('message', (data) => {
      if (this.ws !== ws) return;
      // The DNS and VIP views are pushed to every node and grow with the tasks (megabytes at
      // 10,000): a hollow node has no use for them, so it looks at the first bytes only, without
      // decoding the rest (a thousand nodes in one process decoding each push would starve their
      // own heartbeats, and control would drop them as silent).
      const head = rawHead(data);
      if (head.includes('"dnsView"') || head.includes('"vipView"')) return;
      this.onMessage(ws, rawText(data));
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.releaseGate();
      this.ws = undefined;
      this.welcomed = false;
      clearInterval(this.heartbeat);
      clearTimeout(this.heartbeatStart);
      if (this.dead) return;
      this.reconnect = setTimeout(
        () => this.connect(),
        backoffDelay(this.attempt++, reconnectBackoff, this.o.random),
      );
    });
  }

  private onMessage(ws: WebSocket, text: string): void {
    const parsed = parseControlMessage(text);
    if (!parsed.ok) return;
    const msg = parsed.message;
    switch (msg.type) {
      case 'welcome':
        this.onWelcome(ws, msg);
        return;
      case 'launchTask':
        this.launch(msg.task);
        return;
      case 'killTask':
        this.kill(msg.taskId);
        return;
      case 'error':
        if (!this.welcomed) ws.close(1000, 'handshake refused');
        return;
      case 'forgetApp':
        for (const [id, t] of this.tasks)
          if (isTerminal(t.state) && id.startsWith(appPrefix(msg.appId))) this.tasks.delete(id);
        return;
      default:
        // logs and exec: a hollow node has no output; end what control opens at once.
        if (msg.type === 'logOpen')
          this.send({ type: 'logEnd', streamId: msg.streamId, error: 'hollow agent' });
        if (msg.type === 'execOpen')
          this.send({ type: 'execExit', sessionId: msg.sessionId, exitCode: null, error: 'hollow agent' });
        return;
    }
  }

  private onWelcome(ws: WebSocket, msg: Extract<ControlMessage, { type: 'welcome' }>): void {
    this.nodeId = msg.nodeId;
    if (msg.credential) this.credential = msg.credential;
    this.welcomed = true;
    this.attempt = 0;
    this.releaseGate();
    const beat = () => {
      if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
      this.send({ type: 'heartbeat', at: new Date().toISOString() });
      ws.ping();
    };
    clearInterval(this.heartbeat);
    clearTimeout(this.heartbeatStart);
    // Real agents start their heartbeat when they connect, i.e. at scattered moments; a set that
    // joined in one burst spreads its first beat over one interval instead of beating in lock-step.
    this.heartbeatStart = setTimeout(
      () => {
        beat();
        this.heartbeat = setInterval(beat, msg.heartbeatIntervalMs);
      },
      Math.floor(this.o.random() * msg.heartbeatIntervalMs),
    );
  }

  private send(msg: AgentMessage): void {
    if (!this.welcomed || this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(msg));
  }

  private report(taskId: string, state: TaskState, extra: Partial<TaskReport> = {}): void {
    const prev = this.tasks.get(taskId);
    if (prev && isTerminal(prev.state)) return;
    const report: TaskReport = {
      taskId,
      state,
      ...(prev?.runtimeId !== undefined ? { runtimeId: prev.runtimeId } : {}),
      ...(prev?.ports !== undefined ? { ports: prev.ports } : {}),
      ...extra,
      at: new Date().toISOString(),
    };
    this.tasks.set(taskId, report);
    this.send({ type: 'taskStatus', report });
  }

  private launch(spec: TaskSpec): void {
    const known = this.tasks.get(spec.taskId);
    if (known) {
      this.send({ type: 'taskStatus', report: known });
      return;
    }
    this.launches++;
    this.report(spec.taskId, 'TASK_STARTING', { runtimeId: `hollow-${spec.taskId}`, ports: spec.ports });
    const finish = () => {
      const now = this.tasks.get(spec.taskId);
      if (!now || now.state !== 'TASK_STARTING') return;
      if (this.o.random() < this.o.failLaunchRatio) {
        this.failedLaunches++;
        this.report(spec.taskId, 'TASK_FAILED', {
          message: 'hollow agent: launch failed (failLaunchRatio)',
          exitCode: 1,
        });
        return;
      }
      this.report(spec.taskId, 'TASK_RUNNING');
      const unhealthy = this.o.random() < this.o.failHealthRatio;
      spec.healthChecks.forEach((_, checkIndex) =>
        this.send({
          type: 'taskHealth',
          taskId: spec.taskId,
          checkIndex,
          healthy: !unhealthy,
          consecutiveFailures: unhealthy ? 1 : 0,
          ...(unhealthy ? { message: 'hollow agent: check failed (failHealthRatio)' } : {}),
          killing: false,
          at: new Date().toISOString(),
        }),
      );
    };
    if (this.o.launchDelayMs > 0) setTimeout(finish, this.o.launchDelayMs);
    else finish();
  }

  private kill(taskId: string): void {
    const known = this.tasks.get(taskId);
    if (!known) {
      this.send({
        type: 'taskStatus',
        report: {
          taskId,
          state: 'TASK_KILLED',
          message: 'no such task on this node',
          at: new Date().toISOString(),
        },
      });
      return;
    }
    if (isTerminal(known.state)) {
      this.send({ type: 'taskStatus', report: known });
      return;
    }
    this.killed++;
    this.report(taskId, 'TASK_KILLING');
    this.report(taskId, 'TASK_KILLED');
  }

  /** Destroys the socket without a close frame and never comes back (a lost host). */
  crash(): void {
    this.dead = true;
    this.shutdownTimers();
    this.ws?.terminate();
    this.releaseGate();
  }

  /** Closes the session cleanly and stays down. */
  async close(): Promise<void> {
    this.dead = true;
    this.shutdownTimers();
    const ws = this.ws;
    this.releaseGate();
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000, 'hollow agent stopping');
    const done = await Promise.race([closed.then(() => true), sleep(2_000).then(() => false)]);
    if (!done) ws.terminate();
  }

  private shutdownTimers(): void {
    clearInterval(this.heartbeat);
    clearTimeout(this.heartbeatStart);
    clearTimeout(this.reconnect);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Marathon task ids start with the app path, '/' → '_', then a dot. */
function appPrefix(appId: string): string {
  return `${appId.split('/').filter(Boolean).join('_')}.`;
}

/** A distinct, never-routed address per hollow node (TEST-NET-style 198.18.0.0/15, RFC 2544). */
export function hollowAddress(index: number): string {
  return `198.${18 + ((index >> 16) & 1)}.${(index >> 8) & 255}.${index & 255}`;
}

/** Starts `count` hollow agents; they join and reconnect on their own until `stop()` or `kill()`. */
export function startHollowAgents(opts: HollowAgentsOptions): HollowAgents {
  const random = opts.random ?? Math.random;
  const gate = new Gate(opts.connectConcurrency ?? 64);
  const prefix = opts.hostnamePrefix ?? 'hollow';
  const shared = {
    url: opts.url,
    joinToken: opts.joinToken,
    failLaunchRatio: opts.failLaunchRatio ?? 0,
    failHealthRatio: opts.failHealthRatio ?? 0,
    launchDelayMs: opts.launchDelayMs ?? 0,
    random,
    gate,
  };
  const agents: HollowAgent[] = [];
  for (let i = 0; i < opts.count; i++) {
    const agent = new HollowAgent(
      i,
      `${prefix}-${i}`,
      opts.resources?.(i) ?? DEFAULT_RESOURCES,
      opts.attributes?.(i) ?? { rack: `r${i % 10}`, zone: `z${i % 3}`, hollow: 'true' },
      shared,
    );
    agents.push(agent);
    agent.connect();
  }
  const connected = () => agents.reduce((n, a) => n + (a.connected ? 1 : 0), 0);
  return {
    agents,
    connected,
    async waitConnected(n = agents.length, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (connected() < n) {
        if (Date.now() > deadline) throw new Error(`only ${connected()} of ${n} hollow agents connected`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    tasks() {
      const out: HollowTaskCounts = { live: 0, running: 0, failedLaunches: 0, killed: 0, launches: 0 };
      for (const a of agents) {
        out.launches += a.launches;
        out.failedLaunches += a.failedLaunches;
        out.killed += a.killed;
        if (!a.connected) continue;
        for (const t of a.tasks.values()) {
          if (!isTerminal(t.state)) out.live++;
          if (t.state === 'TASK_RUNNING') out.running++;
        }
      }
      return out;
    },
    kill(n, pick) {
      const chosen = pick
        ? pick(agents)
        : agents
            .filter((a) => a.connected)
            .sort((a, b) => b.liveTasks().length - a.liveTasks().length)
            .slice(0, n);
      for (const a of chosen) a.crash();
      return chosen;
    },
    async stop() {
      await Promise.all(agents.map((a) => a.close()));
    },
  };
}

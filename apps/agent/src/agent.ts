import fs from 'node:fs/promises';
import path from 'node:path';
import {
  isTerminal,
  parseControlMessage,
  PROTOCOL_VERSION,
  type AgentMessage,
  type ControlMessage,
  type Hello,
  type TaskPort,
  type TaskReport,
  type TaskSpec,
  type TaskState,
} from '@atoll/spec';
import { hostResolvers, startDnsServer, type DnsServer, type DnsView } from '@atoll/dns';
import WebSocket, { type RawData } from 'ws';
import { backoffDelay, reconnectBackoff } from './backoff';
import type { AgentConfig } from './env';
import { taskChecksOf, type TaskChecks } from './health/checks';
import { HealthMonitor, type Timers } from './health/monitor';
import { createProbes } from './health/probes';
import { IDENTITY_FILE, readIdentity, writeIdentity, type NodeIdentity } from './identity';
import { createLogger, type Logger } from './logger';
import { readHostFacts } from './resources';
import { exitOutcome } from './runtime/exit';
import { selectRuntime } from './runtime/select';
import { materializeSecretFiles, removeSecretFiles } from './secret-files';
import type { ObservedTask, Runtime, TaskExit } from './runtime/types';
import { MetricsCollector } from './metrics/collector';
import { AgentStreams } from './streams';
import { VipManager } from './vip/manager';
import { AGENT_VERSION } from './version';

export interface AgentOptions {
  /** Defaults to a pino logger at `config.logLevel`. */
  logger?: Logger;
  /** Defaults to the one `selectRuntime` picks from `config.runtime`. */
  runtime?: Runtime;
  /** How often ended tasks are garbage-collected and the task list re-read from the runtime. */
  gcIntervalMs?: number;
  /** How long an ended task's container or sandbox (and so its logs) is kept. */
  taskRetentionMs?: number;
  /** Random source for reconnect jitter. */
  random?: () => number;
  /** Clock and timers of the health and readiness checks (tests). */
  healthTimers?: Timers;
}

interface TrackedTask {
  report: TaskReport;
  /** For garbage collection per app (unknown for tasks adopted from an older agent). */
  appId?: string;
  /** Change counter: which reports a `hello` did not yet carry. */
  seq: number;
  /** When the task ended, for garbage collection. */
  finishedAtMs?: number;
}

interface Session {
  ws: WebSocket;
  welcomed: boolean;
  /** `seq` when the hello's task list was taken; later changes are sent after `welcome`. */
  helloSeq: number;
}

/** `http://host:7700/prefix` → `ws://host:7700/prefix/agent/v1`. */
export function agentSocketUrl(controlUrl: string): string {
  const url = new URL(controlUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/agent/v1`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

function rawToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * One agent per host: holds one outbound WebSocket to control, runs what control asks through the
 * runtime, and reports what the runtime observes. Its task table is rebuilt from the runtime at
 * start (containers and processes outlive the agent), so a restarted agent re-adopts its tasks and
 * reports their current states in `hello`; status updates it could not send while disconnected are
 * covered by that list.
 */
export class Agent {
  private readonly log: Logger;
  private readonly gcIntervalMs: number;
  private readonly taskRetentionMs: number;
  private readonly random: () => number;
  private runtime: Runtime | undefined;
  private identity: NodeIdentity | undefined;
  private currentNodeId: string | undefined;
  private readonly tasks = new Map<string, TrackedTask>();
  private seq = 0;
  private readonly launching = new Set<string>();
  /** Exits seen while the launch was still in flight: applied after RUNNING is reported. */
  private readonly pendingExits = new Map<string, TaskExit>();
  /** Per-task operation chains: launch and kill of one task never overlap. */
  private readonly taskOps = new Map<string, Promise<void>>();
  /** Health and readiness checks of running tasks. */
  private readonly monitors = new Map<string, HealthMonitor>();
  /** Why the agent itself killed a task (failed health checks): the message of KILLING and KILLED. */
  private readonly killReasons = new Map<string, string>();
  /** Resolves once the runtime is attached to a node id (at start, or at the first welcome). */
  private ready: Promise<void>;
  private markReady: () => void = () => undefined;
  private session: Session | undefined;
  private attempt = 0;
  /** Which control URL the next connection tries (config.controlUrls). */
  private urlIndex = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private gcTimer: NodeJS.Timeout | undefined;
  /** The cluster's names as control last sent them; null until the first view arrives. */
  private dnsView: DnsView | null = null;
  private dns: DnsServer | null = null;
  private metricsTimer: NodeJS.Timeout | undefined;
  private metrics: MetricsCollector | undefined;
  private collecting = false;
  private lastHeardMs = 0;
  /** Log streams and exec sessions control opened on this node's tasks. */
  private readonly streams: AgentStreams;
  /** The node's VIP load balancer (control's `vipView`), and the timer of its `vipStats`. */
  private vips: VipManager | undefined;
  private vipStatsTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly options: AgentOptions = {},
  ) {
    this.log = options.logger ?? createLogger(config.logLevel);
    this.gcIntervalMs = options.gcIntervalMs ?? config.gc?.intervalMs ?? 60_000;
    this.taskRetentionMs = options.taskRetentionMs ?? config.gc?.retentionMs ?? 24 * 3600_000;
    this.random = options.random ?? Math.random;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.streams = new AgentStreams(
      () => this.requireRuntime(),
      (msg) => this.send(msg),
      this.log,
    );
  }

  /** The node id control gave this host, once known. */
  get nodeId(): string | undefined {
    return this.currentNodeId;
  }

  /** True while a welcomed connection to control is open. */
  get connected(): boolean {
    return this.session?.welcomed === true && this.session.ws.readyState === WebSocket.OPEN;
  }

  /** The latest report of every task this agent knows. */
  taskReports(): TaskReport[] {
    return [...this.tasks.values()].map((t) => ({ ...t.report }));
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('agent already started');
    this.started = true;
    await fs.mkdir(this.config.stateDir, { recursive: true, mode: 0o700 });
    this.identity = await readIdentity(this.config.stateDir);
    const runtime = this.options.runtime ?? (await selectRuntime(this.config, this.log));
    this.runtime = runtime;
    runtime.onExit((exit) => this.onExit(exit));
    if (this.identity) {
      this.currentNodeId = this.identity.nodeId;
      await runtime.attach(this.identity.nodeId);
      await this.resync(true);
      this.markReady();
      this.log.info(
        { nodeId: this.identity.nodeId, tasks: this.tasks.size },
        'node identity loaded; tasks re-adopted',
      );
    } else if (!this.config.joinToken) {
      this.log.warn(
        'no stored node identity and no ATOLL_JOIN_TOKEN: control must accept joins without a token',
      );
    }
    this.gcTimer = setInterval(() => void this.collectGarbage(), this.gcIntervalMs);
    this.gcTimer.unref();
    await this.startDns(runtime);
    await this.startVips();
    this.metrics = new MetricsCollector({ diskPath: this.config.stateDir });
    this.metricsTimer = setInterval(() => void this.sendMetrics(), this.config.metricsIntervalMs ?? 10_000);
    this.metricsTimer.unref();
    this.connect();
  }

  /** Closes the connection and stops watching. Tasks keep running; a new agent re-adopts them. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    clearInterval(this.gcTimer);
    clearInterval(this.metricsTimer);
    clearInterval(this.vipStatsTimer);
    this.streams.closeAll();
    // VIP addresses first: a slow shutdown must not leave them on the host.
    await this.vips?.stop();
    for (const m of this.monitors.values()) m.stop();
    this.monitors.clear();
    const session = this.session;
    this.session = undefined;
    if (session) {
      const closed = new Promise<void>((resolve) => session.ws.once('close', () => resolve()));
      if (session.ws.readyState === WebSocket.CONNECTING) session.ws.terminate();
      else session.ws.close(1000, 'agent stopping');
      await Promise.race([closed, sleep(2_000)]);
      if (session.ws.readyState !== WebSocket.CLOSED) session.ws.terminate();
    }
    await Promise.race([Promise.allSettled([...this.taskOps.values()]), sleep(5_000)]);
    await this.dns?.close();
    await this.runtime?.close();
    this.log.info('agent stopped; tasks left running');
  }

  // ---- connection -------------------------------------------------------------------------

  private connect(): void {
    if (this.stopped) return;
    // Several control replicas: each new attempt after a lost connection goes to the next one.
    const urls = [this.config.controlUrl, ...(this.config.controlUrls ?? [])];
    const url = agentSocketUrl(urls[this.urlIndex++ % urls.length]!);
    const ws = new WebSocket(url, { handshakeTimeout: 10_000 });
    const session: Session = { ws, welcomed: false, helloSeq: 0 };
    this.session = session;
    ws.on('open', () => {
      this.lastHeardMs = Date.now();
      this.log.debug({ url }, 'connected; sending hello');
      this.sendHello(session).catch((err: unknown) => {
        this.log.error({ err }, 'sending hello failed');
        ws.terminate();
      });
    });
    ws.on('message', (data) => this.onMessage(session, rawToBuffer(data)));
    ws.on('pong', () => (this.lastHeardMs = Date.now()));
    let lastError: string | undefined;
    ws.on('error', (err) => {
      lastError = err.message;
      this.log.debug({ url, err: err.message }, 'websocket error');
    });
    ws.on('close', (code, reason) => {
      if (this.session !== session) return;
      this.session = undefined;
      clearInterval(this.heartbeatTimer);
      this.streams.closeAll();
      if (this.stopped) return;
      const delay = backoffDelay(this.attempt++, reconnectBackoff, this.random);
      const details = {
        url,
        code,
        reason: reason.toString(),
        ...(lastError ? { err: lastError } : {}),
        retryInMs: delay,
      };
      if (session.welcomed) this.log.info(details, 'disconnected from control; reconnecting');
      else this.log.warn(details, 'no session with control; retrying');
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }

  private async sendHello(session: Session): Promise<void> {
    const runtime = this.requireRuntime();
    if (this.currentNodeId !== undefined) {
      // Without a fresh list the hello still carries the table as last known.
      await this.resync(false).catch((err: unknown) =>
        this.log.warn({ err }, 'listing tasks for hello failed'),
      );
    }
    const facts = await readHostFacts(this.config.stateDir, this.config.portRange, this.config.nodeHostname);
    const auth = this.identity
      ? { nodeId: this.identity.nodeId, credential: this.identity.credential }
      : this.config.joinToken
        ? { joinToken: this.config.joinToken }
        : {};
    const hello: Hello = {
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      agentVersion: AGENT_VERSION,
      ...auth,
      hostname: facts.hostname,
      address: this.config.nodeAddress,
      runtime: runtime.kind,
      resources: facts.resources,
      attributes: this.config.attributes,
      reserved: this.config.reserved,
      tasks: this.taskReports(),
    };
    session.helloSeq = this.seq;
    if (session.ws.readyState === WebSocket.OPEN) session.ws.send(JSON.stringify(hello));
  }

  private onMessage(session: Session, raw: Buffer): void {
    if (this.session !== session) return;
    this.lastHeardMs = Date.now();
    const parsed = parseControlMessage(raw);
    if (!parsed.ok) {
      this.log.warn({ error: parsed.error, bytes: raw.length }, 'ignoring malformed message from control');
      return;
    }
    try {
      this.dispatch(session, parsed.message);
    } catch (err) {
      this.log.error({ err, type: parsed.message.type }, 'handling a message from control failed');
    }
  }

  private dispatch(session: Session, msg: ControlMessage): void {
    switch (msg.type) {
      case 'welcome':
        this.onWelcome(session, msg).catch((err: unknown) => {
          this.log.error({ err }, 'handling welcome failed');
          session.ws.terminate();
        });
        return;
      case 'launchTask':
        this.enqueue(msg.task.taskId, () => this.launch(msg.task));
        return;
      case 'killTask':
        this.enqueue(msg.taskId, () => this.kill(msg.taskId, msg.gracePeriodSeconds));
        return;
      case 'forgetApp':
        this.forgetApp(msg.appId);
        return;
      case 'dnsView':
        this.dnsView = msg.view;
        return;
      case 'vipView':
        void this.vips?.apply(msg.vips);
        return;
      case 'logOpen':
      case 'logClose':
      case 'execOpen':
      case 'execInput':
      case 'execResize':
      case 'execClose':
        this.streams.handle(msg);
        return;
      case 'error':
        if (msg.code === 'UNAUTHORIZED') {
          const hint = this.identity
            ? `control rejected the credential of node ${this.identity.nodeId}. If this node was removed from the cluster, delete ${IDENTITY_FILE} in ${this.config.stateDir} and restart with a fresh ATOLL_JOIN_TOKEN`
            : 'control rejected the join token: check ATOLL_JOIN_TOKEN';
          this.log.error(
            { code: msg.code, message: msg.message },
            `unauthorized: ${hint}; retrying with backoff`,
          );
        } else {
          this.log.error({ code: msg.code, message: msg.message }, 'control reported an error');
        }
        // Before welcome an error ends the attempt (control closes too); retry with backoff.
        if (!session.welcomed) session.ws.close(1000, 'handshake refused');
        return;
    }
  }

  private async onWelcome(
    session: Session,
    msg: Extract<ControlMessage, { type: 'welcome' }>,
  ): Promise<void> {
    if (msg.protocolVersion !== PROTOCOL_VERSION) {
      this.log.warn(
        { ours: PROTOCOL_VERSION, theirs: msg.protocolVersion },
        'control speaks another protocol version',
      );
    }
    const previous = this.currentNodeId;
    this.currentNodeId = msg.nodeId;
    if (msg.credential) {
      this.identity = { nodeId: msg.nodeId, credential: msg.credential };
      await writeIdentity(this.config.stateDir, this.identity);
      this.log.info({ nodeId: msg.nodeId }, 'joined the cluster; credential stored');
    } else if (!this.identity) {
      this.log.warn(
        { nodeId: msg.nodeId },
        'welcome carried no credential; this node must join again after a restart',
      );
    } else if (this.identity.nodeId !== msg.nodeId) {
      this.log.warn(
        { stored: this.identity.nodeId, given: msg.nodeId },
        'control answered with another node id',
      );
    }
    if (previous !== msg.nodeId) await this.requireRuntime().attach(msg.nodeId);
    this.markReady();
    if (this.session !== session) return;
    session.welcomed = true;
    this.attempt = 0;
    this.log.info(
      { nodeId: msg.nodeId, heartbeatIntervalMs: msg.heartbeatIntervalMs },
      'connected to control',
    );
    // Changes after the hello's task list was taken.
    for (const t of this.tasks.values()) {
      if (t.seq > session.helloSeq) this.send({ type: 'taskStatus', report: t.report });
    }
    // Health and readiness as last known: changes while disconnected were not delivered.
    for (const m of this.monitors.values()) for (const msg of m.snapshot()) this.send(msg);
    if (this.vips) this.send(this.vips.stats());
    this.startHeartbeat(session, msg.heartbeatIntervalMs);
  }

  private startHeartbeat(session: Session, intervalMs: number): void {
    clearInterval(this.heartbeatTimer);
    // A peer that vanished without closing TCP shows as silence: no pong, no message.
    const silenceLimitMs = Math.max(3 * intervalMs, 5_000) + 5_000;
    this.heartbeatTimer = setInterval(() => {
      if (this.session !== session || session.ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - this.lastHeardMs > silenceLimitMs) {
        this.log.warn({ silentForMs: Date.now() - this.lastHeardMs }, 'control went silent; reconnecting');
        session.ws.terminate();
        return;
      }
      this.send({ type: 'heartbeat', at: new Date().toISOString() });
      session.ws.ping();
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  private send(msg: AgentMessage): void {
    const session = this.session;
    if (!session?.welcomed || session.ws.readyState !== WebSocket.OPEN) return;
    session.ws.send(JSON.stringify(msg));
  }

  // ---- tasks -------------------------------------------------------------------------------

  private enqueue(taskId: string, op: () => Promise<void>): void {
    const prev = this.taskOps.get(taskId) ?? Promise.resolve();
    const next: Promise<void> = prev
      .then(() => this.ready)
      .then(op)
      .catch((err: unknown) => this.log.error({ err, taskId }, 'task operation failed'))
      .finally(() => {
        if (this.taskOps.get(taskId) === next) this.taskOps.delete(taskId);
      });
    this.taskOps.set(taskId, next);
  }

  /**
   * Records a task's new state and sends it. A terminal state is final: later updates are dropped.
   * Message and exit code belong to one state and are not carried over; runtime id and ports are.
   */
  private update(
    taskId: string,
    next: {
      state: TaskState;
      message?: string;
      exitCode?: number;
      runtimeId?: string;
      ports?: TaskReport['ports'];
      at?: string;
    },
  ): void {
    const prev = this.tasks.get(taskId);
    if (prev && isTerminal(prev.report.state)) return;
    const runtimeId = next.runtimeId ?? prev?.report.runtimeId;
    const ports = next.ports ?? prev?.report.ports;
    const report: TaskReport = {
      taskId,
      state: next.state,
      ...(runtimeId !== undefined ? { runtimeId } : {}),
      ...(ports !== undefined ? { ports } : {}),
      ...(next.message !== undefined ? { message: next.message } : {}),
      ...(next.exitCode !== undefined ? { exitCode: next.exitCode } : {}),
      at: next.at ?? new Date().toISOString(),
    };
    const tracked: TrackedTask = {
      report,
      seq: ++this.seq,
      ...(prev?.appId !== undefined ? { appId: prev.appId } : {}),
    };
    if (isTerminal(next.state)) {
      tracked.finishedAtMs = Date.parse(report.at) || Date.now();
      // The task's secret files live only as long as the task.
      removeSecretFiles(this.config.stateDir, taskId).catch((err: unknown) =>
        this.log.warn({ err, taskId }, 'removing the secret files of an ended task failed'),
      );
    }
    this.tasks.set(taskId, tracked);
    if (next.state === 'TASK_KILLING' || isTerminal(next.state)) this.stopMonitor(taskId);
    this.log.info(
      { taskId, state: report.state, ...(report.message ? { message: report.message } : {}) },
      'task state',
    );
    this.send({ type: 'taskStatus', report });
  }

  private async launch(spec: TaskSpec): Promise<void> {
    const known = this.tasks.get(spec.taskId);
    if (known) {
      // Control re-sent a launch (e.g. after a reconnect): never start a task twice.
      this.log.info(
        { taskId: spec.taskId, state: known.report.state },
        'launch of a task this node already has; re-sending its state',
      );
      this.send({ type: 'taskStatus', report: known.report });
      return;
    }
    const nodeId = this.currentNodeId;
    this.launching.add(spec.taskId);
    this.tasks.set(spec.taskId, {
      report: { taskId: spec.taskId, state: 'TASK_STAGING', at: new Date().toISOString() },
      seq: this.seq,
      appId: spec.appId,
    });
    this.update(spec.taskId, { state: 'TASK_STARTING' });
    try {
      if (nodeId === undefined) throw new Error('this agent has no node id yet');
      const result = await this.requireRuntime().launch(
        await materializeSecretFiles(this.config.stateDir, spec),
        nodeId,
      );
      this.update(spec.taskId, { state: 'TASK_RUNNING', runtimeId: result.runtimeId, ports: result.ports });
      const checks = taskChecksOf(spec);
      if (checks) this.startMonitor(spec.taskId, checks, result.ports, Date.now());
    } catch (err) {
      this.update(spec.taskId, { state: 'TASK_FAILED', message: errorText(err) });
    } finally {
      this.launching.delete(spec.taskId);
      const exit = this.pendingExits.get(spec.taskId);
      this.pendingExits.delete(spec.taskId);
      if (exit) this.applyExit(exit);
    }
  }

  private async kill(taskId: string, gracePeriodSeconds: number, reason?: string): Promise<void> {
    const runtime = this.requireRuntime();
    const known = this.tasks.get(taskId);
    if (!known) {
      await runtime.kill(taskId, gracePeriodSeconds);
      // Not tracked: answer once so control can settle the task.
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
    if (isTerminal(known.report.state)) {
      this.send({ type: 'taskStatus', report: known.report });
      return;
    }
    if (known.report.state !== 'TASK_KILLING')
      this.update(taskId, { state: 'TASK_KILLING', ...(reason !== undefined ? { message: reason } : {}) });
    try {
      await runtime.kill(taskId, gracePeriodSeconds);
    } catch (err) {
      this.update(taskId, { state: 'TASK_KILLING', message: `kill failed: ${errorText(err)}` });
      return;
    }
    // The runtime normally reported the exit already; if not, the task is gone all the same.
    const why = this.killReasons.get(taskId);
    this.update(taskId, { state: 'TASK_KILLED', ...(why !== undefined ? { message: why } : {}) });
  }

  private onExit(exit: TaskExit): void {
    if (this.launching.has(exit.taskId)) {
      this.pendingExits.set(exit.taskId, exit);
      return;
    }
    this.applyExit(exit);
  }

  private applyExit(exit: TaskExit): void {
    const known = this.tasks.get(exit.taskId);
    if (known && isTerminal(known.report.state)) return;
    const outcome = exitOutcome({
      exitCode: exit.exitCode,
      killed: exit.killed || known?.report.state === 'TASK_KILLING',
      ...(exit.message ? { message: exit.message } : {}),
    });
    const message = this.killMessage(exit.taskId, outcome.state, outcome.message);
    this.update(exit.taskId, {
      state: outcome.state,
      ...(message ? { message } : {}),
      ...(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : {}),
      at: exit.at,
    });
  }

  /**
   * Reconciles the task table with what the runtime finds: adopts tasks the table lacks, applies
   * exits that were missed, and fails tasks whose container or process disappeared. At start,
   * containers created but never started (the agent died mid-launch) are failed, not started.
   */
  private async resync(atStart: boolean): Promise<void> {
    const observed = await this.requireRuntime().list();
    const seen = new Set<string>();
    for (const o of observed) {
      seen.add(o.taskId);
      if (this.launching.has(o.taskId) || this.taskOps.has(o.taskId)) continue;
      const known = this.tasks.get(o.taskId);
      if (!known) {
        this.adopt(o, atStart);
        continue;
      }
      if (isTerminal(known.report.state)) continue;
      if (isTerminal(o.state)) {
        // The exit happened while nobody watched (agent down, event missed).
        const killed = known.report.state === 'TASK_KILLING';
        const why = killed ? this.killReasons.get(o.taskId) : undefined;
        this.update(o.taskId, {
          state: killed ? 'TASK_KILLED' : o.state,
          ...(!killed && o.message !== undefined ? { message: o.message } : {}),
          ...(why !== undefined ? { message: why } : {}),
          ...(o.exitCode !== undefined ? { exitCode: o.exitCode } : {}),
          at: o.at,
        });
      }
    }
    for (const [taskId, t] of this.tasks) {
      if (
        seen.has(taskId) ||
        isTerminal(t.report.state) ||
        this.launching.has(taskId) ||
        this.taskOps.has(taskId)
      )
        continue;
      this.update(taskId, {
        state: 'TASK_FAILED',
        message: 'the task disappeared from this node (container or process removed)',
      });
    }
  }

  private adopt(o: ObservedTask, atStart: boolean): void {
    if (o.state === 'TASK_STARTING' && atStart) {
      this.update(o.taskId, {
        state: 'TASK_FAILED',
        message: 'the agent restarted while launching this task; it was never started',
        ...(o.runtimeId ? { runtimeId: o.runtimeId } : {}),
      });
      return;
    }
    const report: TaskReport = {
      taskId: o.taskId,
      state: o.state,
      at: o.at,
      ...(o.runtimeId !== undefined ? { runtimeId: o.runtimeId } : {}),
      ...(o.ports !== undefined ? { ports: o.ports } : {}),
      ...(o.message !== undefined ? { message: o.message } : {}),
      ...(o.exitCode !== undefined ? { exitCode: o.exitCode } : {}),
    };
    const tracked: TrackedTask = {
      report,
      seq: ++this.seq,
      ...(o.appId !== undefined ? { appId: o.appId } : {}),
    };
    if (isTerminal(o.state)) tracked.finishedAtMs = Date.parse(o.finishedAt ?? o.at) || Date.now();
    this.tasks.set(o.taskId, tracked);
    this.send({ type: 'taskStatus', report });
    // A re-adopted task is checked again; its start time decides whether it is still in its grace period.
    if (o.state === 'TASK_RUNNING' && o.checks)
      this.startMonitor(o.taskId, o.checks, o.ports ?? [], Date.parse(o.at) || Date.now());
  }

  // ---- health and readiness ------------------------------------------------------------------

  private startMonitor(taskId: string, checks: TaskChecks, ports: TaskPort[], startedAtMs: number): void {
    this.stopMonitor(taskId);
    const runtime = this.requireRuntime();
    const monitor = new HealthMonitor({
      taskId,
      checks,
      ports,
      startedAtMs,
      probes: createProbes((command, timeoutMs) => runtime.exec(taskId, command, { timeoutMs })),
      onHealth: (msg) => this.send(msg),
      onReadiness: (msg) => this.send(msg),
      onKill: (reason) => {
        this.monitors.delete(taskId);
        this.killReasons.set(taskId, reason);
        this.enqueue(taskId, () => this.kill(taskId, checks.killGracePeriodSeconds, reason));
      },
      log: this.log,
      ...(this.options.healthTimers ? { timers: this.options.healthTimers } : {}),
    });
    this.monitors.set(taskId, monitor);
    monitor.start();
  }

  private stopMonitor(taskId: string): void {
    const monitor = this.monitors.get(taskId);
    if (!monitor) return;
    monitor.stop();
    this.monitors.delete(taskId);
  }

  /** The message of a task's final state: the agent's own kill reason wins for KILLED. */
  private killMessage(taskId: string, state: TaskState, message: string | undefined): string | undefined {
    const why = state === 'TASK_KILLED' ? this.killReasons.get(taskId) : undefined;
    if (why === undefined) return message;
    return message ? `${why} (${message})` : why;
  }

  /** One `metrics` message: the host's usage and each running task's, read from /proc and cgroups. */
  private async sendMetrics(): Promise<void> {
    if (!this.connected || !this.metrics || this.collecting) return;
    this.collecting = true;
    try {
      const now = Date.now();
      const node = await this.metrics.nodeMetrics(now);
      const runtime = this.requireRuntime();
      const running = [...this.tasks.values()]
        .filter((t) => t.report.state === 'TASK_RUNNING')
        .map((t) => t.report.taskId);
      const pids = new Set<number>();
      const tasks = (
        await Promise.all(
          running.map(async (taskId) => {
            const target = await runtime.metricsTarget(taskId).catch(() => undefined);
            if (target) pids.add(target.pid);
            return target ? this.metrics!.taskMetrics(taskId, target, now, node.memTotalBytes) : undefined;
          }),
        )
      ).filter((m) => m !== undefined);
      this.metrics.retain(new Set(running), pids);
      this.send({
        type: 'metrics',
        at: new Date(now).toISOString(),
        intervalMs: this.config.metricsIntervalMs ?? 10_000,
        node,
        tasks,
      });
    } catch (err) {
      this.log.warn({ err }, 'collecting metrics failed');
    } finally {
      this.collecting = false;
    }
  }

  /**
   * Removes containers and sandboxes (and so the logs) of ended tasks: all but the last
   * `keepExitedPerApp` of each app, and any that ended longer ago than the retention.
   */
  private async collectGarbage(): Promise<void> {
    if (this.stopped || this.currentNodeId === undefined) return;
    try {
      await this.resync(false);
    } catch (err) {
      this.log.warn({ err }, 'listing tasks failed');
      return;
    }
    for (const taskId of garbage(
      this.tasks,
      Date.now() - this.taskRetentionMs,
      this.config.gc?.keepExitedPerApp ?? 5,
    )) {
      this.enqueue(taskId, async () => {
        await this.requireRuntime().remove(taskId);
        this.tasks.delete(taskId);
        this.killReasons.delete(taskId);
        this.log.info({ taskId }, 'removed ended task');
      });
    }
  }

  /**
   * The node's DNS server (DC/OS's DNS proxy): cluster names from control's view, the rest
   * forwarded to the host's resolvers. On the Docker bridge's gateway by default, where bridge and
   * host-network containers both reach it; containers started from then on use it as resolver
   * (only on port 53: Docker's `Dns` option takes addresses, not ports). A failure to bind (port 53
   * taken, no permission) leaves containers on Docker's default resolver and says so.
   */
  private async startDns(runtime: Runtime): Promise<void> {
    const cfg = this.config.dns;
    if (!cfg?.enabled) return;
    const address = cfg.address ?? (await runtime.bridgeGateway?.()) ?? null;
    if (!address) {
      this.log.info('no DNS address (no Docker bridge and no ATOLL_DNS_ADDRESS): the node DNS server is off');
      return;
    }
    try {
      this.dns = await startDnsServer({
        view: () => this.dnsView,
        upstreams: hostResolvers([address]),
        address,
        port: cfg.port,
      });
    } catch (err) {
      this.log.warn(
        { err, address, port: cfg.port },
        'the node DNS server could not start; containers use Docker’s resolver',
      );
      return;
    }
    if (this.dns.port === 53) runtime.setDnsServers?.([address]);
    this.log.info(
      { address, port: this.dns.port },
      'node DNS server answering; containers resolve cluster names through it',
    );
  }

  /**
   * The node's VIP load balancer: VIP addresses on `lo`, a userspace proxy per VIP, counters sent
   * to control every `vip.statsIntervalMs` (with the mode, so the console says how VIPs run here).
   */
  private async startVips(): Promise<void> {
    const cfg = this.config.vip ?? {
      enabled: true,
      balance: 'round-robin',
      statsIntervalMs: 5_000,
      connectTimeoutMs: 2_000,
    };
    this.vips = new VipManager({
      strategy: cfg.balance,
      log: this.log.child({ component: 'vip' }),
      connectTimeoutMs: cfg.connectTimeoutMs,
      disabled: !cfg.enabled,
      stateFile: path.join(this.config.stateDir, 'vip-addresses.json'),
    });
    await this.vips.start();
    this.vipStatsTimer = setInterval(() => {
      if (this.vips) this.send(this.vips.stats());
    }, cfg.statsIntervalMs);
    this.vipStatsTimer.unref();
  }

  /**
   * Removes every ended task of a deleted app (its containers and logs) at once, then the app's
   * persistent volumes on this node.
   */
  private forgetApp(appId: string): void {
    const removals: Array<Promise<void>> = [];
    for (const [taskId, t] of this.tasks) {
      if (t.appId !== appId || t.finishedAtMs === undefined) continue;
      this.enqueue(taskId, async () => {
        await this.requireRuntime().remove(taskId);
        this.tasks.delete(taskId);
        this.killReasons.delete(taskId);
        this.log.info({ taskId, appId }, 'removed task of a deleted app');
      });
      removals.push(this.taskOps.get(taskId) ?? Promise.resolve());
    }
    void Promise.all(removals)
      .then(() => this.requireRuntime().removeAppData?.(appId))
      .catch((err: unknown) => this.log.warn({ err, appId }, 'removing the data of a deleted app failed'));
  }

  private requireRuntime(): Runtime {
    if (!this.runtime) throw new Error('agent not started');
    return this.runtime;
  }
}

/** Ended tasks to remove: older than `cutoffMs`, or beyond the newest `keep` of their app. */
export function garbage(
  tasks: ReadonlyMap<string, { appId?: string; finishedAtMs?: number }>,
  cutoffMs: number,
  keep: number,
): string[] {
  const out = new Set<string>();
  const byApp = new Map<string, Array<[string, number]>>();
  for (const [taskId, t] of tasks) {
    if (t.finishedAtMs === undefined) continue;
    if (t.finishedAtMs <= cutoffMs) out.add(taskId);
    if (t.appId === undefined) continue;
    const list = byApp.get(t.appId) ?? [];
    list.push([taskId, t.finishedAtMs]);
    byApp.set(t.appId, list);
  }
  for (const list of byApp.values()) {
    list.sort((a, b) => b[1] - a[1]);
    for (const [taskId] of list.slice(keep)) out.add(taskId);
  }
  return [...out];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

import { StringDecoder } from 'node:string_decoder';
import type { AgentMessage, ControlMessage } from '@atoll/spec';
import type { Logger } from './logger';
import type { ExecSession, OutputStream, StreamHandle, TaskIo } from './runtime/types';

type StreamMessage = Extract<
  ControlMessage,
  { type: 'logOpen' | 'logClose' | 'execOpen' | 'execInput' | 'execResize' | 'execClose' }
>;

/** At most this much text per `logData` message, so one message never holds up the socket long. */
const LOG_CHUNK_CHARS = 64 * 1024;

/**
 * A log request that does not follow returns at most this many characters (32 Mi): the rest is
 * cut and the stream ends saying so. Following streams are paced by the task and end when the
 * subscriber goes away.
 */
export const MAX_LOG_CHARS = 32 * 1024 * 1024;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The agent's side of log streams and exec sessions that control opens on its tasks: each is a
 * runtime stream (`TaskIo`) whose output goes back as `logData`/`logEnd` or
 * `execOutput`/`execExit` messages. All of them end when the connection to control does.
 */
export class AgentStreams {
  private readonly logs = new Map<string, StreamHandle>();
  private readonly execs = new Map<string, ExecSession>();

  constructor(
    private readonly io: () => TaskIo,
    private readonly send: (msg: AgentMessage) => void,
    private readonly log: Logger,
    private readonly maxLogChars = MAX_LOG_CHARS,
  ) {}

  handle(msg: StreamMessage): void {
    switch (msg.type) {
      case 'logOpen':
        void this.openLog(msg);
        return;
      case 'logClose':
        this.logs.get(msg.streamId)?.close();
        this.logs.delete(msg.streamId);
        return;
      case 'execOpen':
        void this.openExec(msg);
        return;
      case 'execInput':
        this.execs.get(msg.sessionId)?.write(Buffer.from(msg.data, 'base64'));
        return;
      case 'execResize':
        this.execs.get(msg.sessionId)?.resize(msg.cols, msg.rows);
        return;
      case 'execClose': {
        const session = this.execs.get(msg.sessionId);
        if (msg.eofOnly) session?.endInput();
        else {
          session?.close();
          this.execs.delete(msg.sessionId);
        }
        return;
      }
    }
  }

  /** Ends every stream and session (the connection to control is gone). */
  closeAll(): void {
    for (const h of this.logs.values()) h.close();
    for (const s of this.execs.values()) s.close();
    this.logs.clear();
    this.execs.clear();
  }

  private async openLog(msg: Extract<StreamMessage, { type: 'logOpen' }>): Promise<void> {
    const { streamId } = msg;
    const decoders: Record<OutputStream, StringDecoder> = {
      stdout: new StringDecoder('utf8'),
      stderr: new StringDecoder('utf8'),
    };
    let ended = false;
    let sent = 0;
    let handle: StreamHandle | undefined;
    const end = (error?: string) => {
      if (ended) return;
      ended = true;
      this.logs.delete(streamId);
      this.send({ type: 'logEnd', streamId, ...(error ? { error } : {}) });
    };
    try {
      handle = await this.io().logs(
        msg.taskId,
        { tail: msg.tail, follow: msg.follow },
        {
          data: (stream, chunk) => {
            if (ended) return;
            let text = decoders[stream].write(chunk);
            const cut = !msg.follow && sent + text.length > this.maxLogChars;
            if (cut) text = text.slice(0, this.maxLogChars - sent);
            sent += text.length;
            for (let i = 0; i < text.length; i += LOG_CHUNK_CHARS)
              this.send({ type: 'logData', streamId, stream, data: text.slice(i, i + LOG_CHUNK_CHARS) });
            if (cut) {
              end(
                `log cut after ${this.maxLogChars} characters; ask for fewer lines (or follow) to see the rest`,
              );
              handle?.close();
            }
          },
          end: (error) => end(error),
        },
      );
      if (ended) handle.close();
      else this.logs.set(streamId, handle);
    } catch (err) {
      this.log.debug({ err, taskId: msg.taskId }, 'opening a log stream failed');
      end(errorText(err));
    }
  }

  private async openExec(msg: Extract<StreamMessage, { type: 'execOpen' }>): Promise<void> {
    const { sessionId } = msg;
    // Output can come before the runtime call returns: hold it so `execStarted` goes first.
    let early: AgentMessage[] | null = [];
    const emit = (m: AgentMessage) => (early ? early.push(m) : this.send(m));
    try {
      const session = await this.io().openExec(
        msg.taskId,
        {
          command: msg.command,
          tty: msg.tty,
          ...(msg.cols ? { cols: msg.cols } : {}),
          ...(msg.rows ? { rows: msg.rows } : {}),
        },
        {
          output: (stream, chunk) =>
            emit({ type: 'execOutput', sessionId, stream, data: chunk.toString('base64') }),
          exit: (exitCode, error) => {
            this.execs.delete(sessionId);
            emit({ type: 'execExit', sessionId, exitCode, ...(error ? { error } : {}) });
          },
        },
      );
      this.execs.set(sessionId, session);
      this.send({ type: 'execStarted', sessionId });
    } catch (err) {
      early = [];
      this.send({ type: 'execExit', sessionId, exitCode: null, error: errorText(err) });
    }
    const held = early;
    early = null;
    for (const m of held) this.send(m);
  }
}

import { Readable } from 'node:stream';
import { AppError, accessService, streamsService, type Services } from '@atoll/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { auditEntry } from '../audit-hook';

const { MAX_LOG_LINES, taskLocation, taskLogChunks } = streamsService;

const logQuery = z.object({
  lines: z
    .union([
      z.literal('all'),
      z.coerce
        .number()
        .int('lines must be a whole number')
        .min(0, 'lines must be ≥ 0')
        .max(MAX_LOG_LINES, `lines must be at most ${MAX_LOG_LINES} (or "all")`),
    ])
    .default(100),
  follow: z.enum(['true', 'false', '1', '0']).default('false'),
  stream: z.enum(['stdout', 'stderr', 'both']).default('both'),
});

const execQuery = z.object({
  command: z.union([z.string().min(1), z.array(z.string()).min(1)]).default('sh'),
  tty: z.enum(['true', 'false', '1', '0']).default('false'),
  cols: z.coerce.number().int().positive().max(1000).optional(),
  rows: z.coerce.number().int().positive().max(1000).optional(),
});

/** Client → server text frames of the exec socket; binary frames are stdin bytes. */
const execControl = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('resize'),
    cols: z.number().int().positive(),
    rows: z.number().int().positive(),
  }),
  z.object({ type: z.literal('eof') }),
]);

/** Output frame of the exec socket: one byte (1 stdout, 2 stderr), then the bytes. */
export function outputFrame(stream: 'stdout' | 'stderr', data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([stream === 'stderr' ? 2 : 1]), data]);
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof AppError)
    return reply.code(err.httpStatus).send({ message: err.message, code: err.code });
  throw err;
}

function badQuery(reply: FastifyReply, error: z.ZodError): FastifyReply {
  const first = error.issues[0];
  return reply.code(400).send({
    message: first ? `${first.path.join('.') || 'query'}: ${first.message}` : 'bad query',
    issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}

/**
 * Task output and a command inside a task, relayed through the agent that runs it:
 * - `GET /api/v1/tasks/{taskId}/logs?lines=100&follow=false&stream=both` → text/plain, streamed
 *   while following (until the task's output ends or the client goes away);
 * - `GET /api/v1/tasks/{taskId}/exec?command=sh&tty=true` → a WebSocket. Binary frames
 *   from the client are stdin; text frames are `{"type":"resize","cols","rows"}` or
 *   `{"type":"eof"}`. The server sends binary output frames (first byte 1 stdout, 2 stderr) and text
 *   frames `{"type":"started"}` and, last, `{"type":"exit","exitCode","error"?}`.
 * Both need the operator role; a scoped operator reaches only tasks in the scope (taskLocation).
 */
export function registerTaskIoRoutes(app: FastifyInstance, services: Services): void {
  const io = { config: { access: 'operate', scope: 'service' } } as const;
  app.get(
    '/api/v1/tasks/:taskId/logs',
    io,
    async (req: FastifyRequest<{ Params: { taskId: string } }>, reply) => {
      const s = accessService.withActor(services, req.user);
      const q = logQuery.safeParse(req.query);
      if (!q.success) return badQuery(reply, q.error);
      const taskId = req.params.taskId;
      try {
        const { nodeId } = await taskLocation(s, taskId);
        if (!s.agents.isConnected(nodeId))
          throw new AppError(
            'CONFLICT',
            `the task's node ${nodeId} is not connected to any control replica; try again later`,
          );
      } catch (err) {
        return sendError(reply, err);
      }
      const abort = new AbortController();
      req.raw.once('close', () => abort.abort());
      const follow = q.data.follow === 'true' || q.data.follow === '1';
      const wanted = q.data.stream;
      const chunks = taskLogChunks(
        s,
        { taskId, lines: q.data.lines === 'all' ? null : q.data.lines, follow },
        abort.signal,
      );
      async function* text(): AsyncGenerator<string> {
        for await (const c of chunks) {
          if ('end' in c) {
            if (c.error) yield `\n[atoll: the log ended: ${c.error}]\n`;
            return;
          }
          if (wanted === 'both' || wanted === c.stream) yield c.data;
        }
      }
      return reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .send(Readable.from(text()));
    },
  );

  app.get(
    '/api/v1/tasks/:taskId/exec',
    {
      websocket: true,
      ...io,
      preValidation: async (req, reply) => {
        const s = accessService.withActor(services, req.user);
        const q = execQuery.safeParse(req.query);
        if (!q.success) return badQuery(reply, q.error);
        const { taskId } = req.params as { taskId: string };
        try {
          const { nodeId, state } = await taskLocation(s, taskId);
          if (state !== 'TASK_RUNNING')
            throw new AppError('CONFLICT', `task ${taskId} is ${state}; exec needs a running task`);
          if (!s.agents.isConnected(nodeId))
            throw new AppError(
              'CONFLICT',
              `the task's node ${nodeId} is not connected to any control replica; try again later`,
            );
        } catch (err) {
          return sendError(reply, err);
        }
      },
    },
    async (socket: WebSocket, req: FastifyRequest<{ Params: { taskId: string } }>) => {
      const s = accessService.withActor(services, req.user);
      const q = execQuery.parse(req.query);
      const { nodeId } = await taskLocation(s, req.params.taskId);
      const command = Array.isArray(q.command) ? q.command : [q.command];
      const tty = q.tty === 'true' || q.tty === '1';
      let closed = false;
      const session = s.streams.openExec(
        nodeId,
        req.params.taskId,
        { command, tty, ...(q.cols ? { cols: q.cols } : {}), ...(q.rows ? { rows: q.rows } : {}) },
        {
          started: () => socket.send(JSON.stringify({ type: 'started' })),
          output: (stream, data) => socket.send(outputFrame(stream, data)),
          exit: (exitCode, error) => {
            if (closed) return;
            closed = true;
            socket.send(JSON.stringify({ type: 'exit', exitCode, ...(error ? { error } : {}) }));
            socket.close(1000, 'exited');
          },
        },
      );
      s.log.info({ user: req.user?.username, taskId: req.params.taskId, command, tty }, 'exec into a task');
      // An opened session (a refused one is recorded by the audit hook).
      s.audit.record(
        auditEntry(req, 101, { action: 'GET /api/v1/tasks/:taskId/exec', target: req.params.taskId }),
      );
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return session.write(data);
        const parsed = execControl.safeParse(JSON.parse(data.toString('utf8')));
        if (!parsed.success) return;
        if (parsed.data.type === 'resize') session.resize(parsed.data.cols, parsed.data.rows);
        else session.endInput();
      });
      socket.on('close', () => {
        if (closed) return;
        closed = true;
        session.close();
      });
    },
  );
}

import { AppError } from '@atoll/api';
import type { FastifyReply } from 'fastify';

/**
 * Marathon's error bodies: `{ message }`, and for validation 422 with
 * `{ message: "Object is not valid", details: [{ path, errors }] }`.
 */
export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof AppError) {
    if (err.code === 'INVALID_INPUT') {
      return reply.code(422).send({
        message: 'Object is not valid',
        details: (err.issues ?? []).map((i) => ({
          path: '/' + i.path.replace(/\./g, '/'),
          errors: [i.message],
        })),
      });
    }
    return reply.code(err.httpStatus).send({ message: err.message, ...err.data });
  }
  throw err;
}

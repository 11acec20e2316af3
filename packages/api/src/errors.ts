import { TRPCError } from '@trpc/server';
import type { FieldIssue } from '@atoll/spec';

/**
 * The one error type of the service layer. A string code maps to a tRPC code and an HTTP status;
 * `message` is safe to show to the caller, `detail` is for logs only.
 */
export const errorCodes = {
  INVALID_INPUT: { trpc: 'UNPROCESSABLE_CONTENT', http: 422 },
  BAD_REQUEST: { trpc: 'BAD_REQUEST', http: 400 },
  UNAUTHORIZED: { trpc: 'UNAUTHORIZED', http: 401 },
  FORBIDDEN: { trpc: 'FORBIDDEN', http: 403 },
  NOT_FOUND: { trpc: 'NOT_FOUND', http: 404 },
  CONFLICT: { trpc: 'CONFLICT', http: 409 },
  LOCKED: { trpc: 'CONFLICT', http: 409 },
  /** Too many login attempts, or an account locked after repeated failures. */
  TOO_MANY_REQUESTS: { trpc: 'TOO_MANY_REQUESTS', http: 429 },
  INTERNAL: { trpc: 'INTERNAL_SERVER_ERROR', http: 500 },
} as const;
export type AppErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly issues: FieldIssue[] | undefined;
  readonly detail: string | undefined;
  /** Extra fields for the response body (e.g. Marathon's `deployments` on a 409). */
  readonly data: Record<string, unknown> | undefined;

  constructor(
    code: AppErrorCode,
    message: string,
    opts: { issues?: FieldIssue[]; detail?: string; deployments?: Array<{ id: string }> } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.issues = opts.issues;
    this.detail = opts.detail;
    this.data = opts.deployments ? { deployments: opts.deployments } : undefined;
  }

  get httpStatus(): number {
    return errorCodes[this.code].http;
  }

  static invalid(issues: FieldIssue[]): AppError {
    const first = issues[0];
    const message = first ? `${first.path}: ${first.message}` : 'invalid input';
    return new AppError('INVALID_INPUT', message, { issues });
  }

  static notFound(what: string): AppError {
    return new AppError('NOT_FOUND', `${what} does not exist`);
  }
}

export function toTRPCError(err: AppError): TRPCError {
  return new TRPCError({ code: errorCodes[err.code].trpc, message: err.message, cause: err });
}

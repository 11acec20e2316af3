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

/** The answer to an internal error: no library or SQL text, only the id to find it in the log. */
export function internalErrorMessage(requestId?: string): string {
  return requestId ? `internal error (request ${requestId})` : 'internal error';
}

/** A database error's SQLSTATE, as Prisma's driver adapter passes it on (or its own Pxxxx code). */
function dbErrorCodes(err: unknown): { prisma: string | null; sqlState: string | null } | null {
  if (!(err instanceof Error) || !err.name.startsWith('PrismaClient')) return null;
  const e = err as Error & {
    code?: unknown;
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } };
  };
  const sqlState = e.meta?.driverAdapterError?.cause?.originalCode;
  return {
    prisma: typeof e.code === 'string' ? e.code : null,
    sqlState: typeof sqlState === 'string' ? sqlState : null,
  };
}

/**
 * The database errors that are the caller's doing, as the AppError to answer (null for any
 * other error, which stays a 500): a unique key taken (409), a value too long, out of range,
 * malformed for its column or not storable as text (400), a record gone meanwhile (404), a
 * concurrent change (409, retry). The database's own text is kept in `detail` for the log.
 */
export function callerDbError(err: unknown): AppError | null {
  const codes = dbErrorCodes(err);
  if (!codes) return null;
  const { prisma, sqlState } = codes;
  const detail = (err as Error).message;
  const bad = (message: string) => new AppError('BAD_REQUEST', message, { detail });
  if (sqlState === '23505' || prisma === 'P2002')
    return new AppError('CONFLICT', 'a record with this name or key already exists', { detail });
  if (sqlState === '23503' || prisma === 'P2003')
    return new AppError('CONFLICT', 'the request refers to a record that does not exist or is still in use', {
      detail,
    });
  if (sqlState === '40001' || sqlState === '40P01' || prisma === 'P2034')
    return new AppError('CONFLICT', 'a concurrent change conflicted with this request; retry it', { detail });
  if (sqlState === '22001' || prisma === 'P2000') return bad('a value is too long');
  if (sqlState === '22003' || prisma === 'P2020') return bad('a number is out of range');
  if (sqlState === '22021' || sqlState === '22P05')
    return bad('a string contains a NUL byte or is not valid UTF-8');
  if (sqlState === '22P02' || sqlState === '22007' || sqlState === '22008' || prisma === 'P2007')
    return bad('a value is not valid for its field');
  if (prisma === 'P2025') return new AppError('NOT_FOUND', 'the record does not exist', { detail });
  return null;
}

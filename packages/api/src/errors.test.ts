import { Prisma } from '@atoll/db';
import { describe, expect, it } from 'vitest';
import { AppError, callerDbError, internalErrorMessage } from './errors';

/** Prisma's own error, as its pg adapter raises it for a database error with this SQLSTATE. */
function dbError(code: string, sqlState?: string): Error {
  return new Prisma.PrismaClientKnownRequestError(
    `Invalid \`prisma.app.create()\` invocation: SELECT … ${code}`,
    {
      code,
      clientVersion: Prisma.prismaVersion.client,
      meta: sqlState
        ? {
            driverAdapterError: {
              name: 'DriverAdapterError',
              cause: { originalCode: sqlState, kind: 'postgres' },
            },
          }
        : {},
    },
  );
}

describe('callerDbError', () => {
  it.each([
    ['a unique key taken', dbError('P2002', '23505'), 409],
    ['a value too long', dbError('P2000', '22001'), 400],
    ['a number out of range', dbError('P2020', '22003'), 400],
    ['a NUL byte (Prisma has no code of its own for it)', dbError('P2039', '22021'), 400],
    ['a NUL escape in jsonb', dbError('P2039', '22P05'), 400],
    ['a malformed uuid', dbError('P2007', '22P02'), 400],
    ['a record gone meanwhile', dbError('P2025'), 404],
    ['a serialization failure', dbError('P2034', '40001'), 409],
  ])('%s → %i, without the database text', (_name, err, status) => {
    const known = callerDbError(err);
    expect(known).toBeInstanceOf(AppError);
    expect(known!.httpStatus).toBe(status);
    expect(known!.message).not.toMatch(/prisma|invocation|SELECT/i);
    expect(known!.detail).toBe(err.message);
  });

  it('leaves everything else a 500', () => {
    expect(callerDbError(dbError('P2010', '42P01'))).toBeNull(); // a table missing is our fault
    expect(callerDbError(new Error('boom'))).toBeNull();
    expect(callerDbError('P2002')).toBeNull();
  });
});

describe('internalErrorMessage', () => {
  it('names the request id, and nothing else', () => {
    expect(internalErrorMessage('abc-1')).toBe('internal error (request abc-1)');
    expect(internalErrorMessage()).toBe('internal error');
  });
});

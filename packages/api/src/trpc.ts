import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';
import { AppError, callerDbError, internalErrorMessage, toTRPCError } from './errors';
import type { Context } from './context';
import { assertAccess, type AccessLevel } from './services/access';

/**
 * What a procedure needs of its caller (docs/access.md): `read`, `operate` or `admin` (the roles in
 * services/access.ts), or `self` — any logged-in user acting on their own account (auth.me, logout,
 * their own tokens and password). Without it a query or subscription needs `read` and a mutation
 * `operate`; cluster administration must say `admin`.
 */
export type ProcedureAccess = AccessLevel | 'self';
export type AtollMeta = OpenApiMeta & { access?: ProcedureAccess };

/** The level a procedure of this type with this meta requires (the default by procedure type). */
export function procedureAccess(
  type: 'query' | 'mutation' | 'subscription',
  meta: AtollMeta | undefined,
): ProcedureAccess {
  return meta?.access ?? (type === 'mutation' ? 'operate' : 'read');
}

const t = initTRPC
  .meta<AtollMeta>()
  .context<Context>()
  .create({
    // Never send stack traces to clients, whatever NODE_ENV says.
    isDev: false,
    errorFormatter({ shape, error, ctx }) {
      const cause = error.cause;
      // An internal error that is no AppError carries a library's text (Prisma's invocation, SQL,
      // an output validation's issues): the caller gets the request id to quote, the log has the
      // rest (server.ts logProcedureError).
      const internal = error.code === 'INTERNAL_SERVER_ERROR' && !(cause instanceof AppError);
      return {
        ...shape,
        message: internal ? internalErrorMessage(ctx?.requestId) : shape.message,
        data: {
          ...shape.data,
          // The service error's own code (e.g. LOCKED) and extra fields (e.g. deployments).
          appCode: (cause instanceof AppError ? cause.code : internal ? 'INTERNAL' : null) as string | null,
          ...(cause instanceof AppError ? cause.data : {}),
          issues: internal
            ? null
            : cause instanceof AppError
              ? (cause.issues ?? null)
              : cause instanceof ZodError
                ? cause.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
                : null,
          requestId: ctx?.requestId ?? null,
        },
      };
    },
  });

/**
 * Turns service-layer AppErrors into tRPC errors with the matching code, and so the database
 * errors that are the caller's doing (a name taken, a value too long: errors.ts callerDbError).
 */
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof AppError) throw toTRPCError(cause);
    const known = callerDbError(cause);
    if (known) throw toTRPCError(known);
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(appErrors);

/**
 * The only place where authentication and the role are decided for tRPC and /api/v1: the level
 * comes from the procedure's meta `access`, else from its type (procedureAccess). Scopes are the
 * service layer's (services/access.ts `assertInScope`, `visibleTo`).
 */
export const protectedProcedure = publicProcedure.use(({ ctx, meta, type, next }) => {
  if (!ctx.user) throw toTRPCError(new AppError('UNAUTHORIZED', 'authentication required'));
  const level = procedureAccess(type, meta);
  if (level !== 'self') {
    try {
      assertAccess(ctx.user, level);
    } catch (err) {
      throw err instanceof AppError ? toTRPCError(err) : err;
    }
  }
  return next({ ctx: { ...ctx, user: ctx.user } });
});

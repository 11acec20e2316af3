import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';
import { AppError, toTRPCError } from './errors';
import type { Context } from './context';

const t = initTRPC
  .meta<OpenApiMeta>()
  .context<Context>()
  .create({
    // Never send stack traces to clients, whatever NODE_ENV says.
    isDev: false,
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      return {
        ...shape,
        data: {
          ...shape.data,
          // The service error's own code (e.g. LOCKED) and extra fields (e.g. deployments).
          appCode: cause instanceof AppError ? cause.code : null,
          ...(cause instanceof AppError ? cause.data : {}),
          issues:
            cause instanceof AppError
              ? (cause.issues ?? null)
              : cause instanceof ZodError
                ? cause.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
                : null,
        },
      };
    },
  });

/** Turns service-layer AppErrors into tRPC errors with the matching code. */
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) {
    throw toTRPCError(result.error.cause);
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(appErrors);

/** The only place where authentication is decided for tRPC and /api/v1. */
export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw toTRPCError(new AppError('UNAUTHORIZED', 'authentication required'));
  return next({ ctx: { ...ctx, user: ctx.user } });
});

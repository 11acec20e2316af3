import { z } from 'zod';
import { protectedProcedure, publicProcedure, router } from '../trpc';
import * as auth from '../services/auth';

const userView = z.object({ id: z.string(), username: z.string(), role: z.string() });

export const authRouter = router({
  login: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/auth/login',
        tags: ['auth'],
        summary: 'Log in; sets the session cookie',
      },
    })
    .input(
      z.object({
        username: z.string().min(1, 'username is required'),
        password: z.string().min(1, 'password is required'),
      }),
    )
    .output(z.object({ token: z.string(), expiresAt: z.string(), user: userView }))
    .mutation(async ({ ctx, input }) => {
      const r = await auth.login(ctx, input.username, input.password);
      ctx.setSessionCookie?.(r.token, r.expiresAt);
      return { token: r.token, expiresAt: r.expiresAt.toISOString(), user: r.user };
    }),
  logout: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/auth/logout', tags: ['auth'], protect: true } })
    .input(z.void())
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ ctx }) => {
      if (ctx.sessionToken) await auth.logout(ctx, ctx.sessionToken);
      ctx.setSessionCookie?.(null);
      return { ok: true };
    }),
  me: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/auth/me', tags: ['auth'], protect: true } })
    .input(z.void())
    .output(userView)
    .query(({ ctx }) => ctx.user),
  createApiToken: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/auth/tokens', tags: ['auth'], protect: true } })
    .input(z.object({ name: z.string().min(1, 'name is required').max(100) }))
    .output(z.object({ id: z.string(), token: z.string() }))
    .mutation(({ ctx, input }) => auth.createApiToken(ctx, ctx.user.id, input.name)),
  listApiTokens: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/auth/tokens', tags: ['auth'], protect: true } })
    .input(z.void())
    .output(
      z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          createdAt: z.string(),
          expiresAt: z.string().nullable(),
        }),
      ),
    )
    .query(({ ctx }) => auth.listApiTokens(ctx, ctx.user.id)),
  revokeApiToken: protectedProcedure
    .meta({ openapi: { method: 'DELETE', path: '/auth/tokens/{id}', tags: ['auth'], protect: true } })
    .input(z.object({ id: z.string().uuid('id must be a UUID') }))
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      await auth.revokeApiToken(ctx, ctx.user.id, input.id);
      return { ok: true };
    }),
});

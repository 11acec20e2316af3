import { z } from 'zod';
import { protectedProcedure, publicProcedure, router } from '../trpc';
import * as auth from '../services/auth';
import { tokenView } from './users';

const userView = z.object({
  id: z.string(),
  username: z.string(),
  role: z.string(),
  scope: z.string().nullable(),
  kind: z.string(),
});
const self = { access: 'self' } as const;

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
    .meta({ ...self, openapi: { method: 'POST', path: '/auth/logout', tags: ['auth'], protect: true } })
    .input(z.void())
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ ctx }) => {
      if (ctx.sessionToken) await auth.logout(ctx, ctx.sessionToken);
      ctx.setSessionCookie?.(null);
      return { ok: true };
    }),
  me: protectedProcedure
    .meta({ ...self, openapi: { method: 'GET', path: '/auth/me', tags: ['auth'], protect: true } })
    .input(z.void())
    .output(userView)
    .query(({ ctx }) => ctx.user),
  createApiToken: protectedProcedure
    .meta({ ...self, openapi: { method: 'POST', path: '/auth/tokens', tags: ['auth'], protect: true } })
    .input(z.object({ name: z.string().min(1, 'name is required').max(100) }))
    .output(z.object({ id: z.string(), token: z.string() }))
    .mutation(({ ctx, input }) => auth.createApiToken(ctx, ctx.user.id, input.name)),
  listApiTokens: protectedProcedure
    .meta({ ...self, openapi: { method: 'GET', path: '/auth/tokens', tags: ['auth'], protect: true } })
    .input(z.void())
    .output(z.array(tokenView))
    .query(({ ctx }) => auth.listApiTokens(ctx, ctx.user.id)),
  revokeApiToken: protectedProcedure
    .meta({
      ...self,
      openapi: { method: 'DELETE', path: '/auth/tokens/{id}', tags: ['auth'], protect: true },
    })
    .input(z.object({ id: z.string().uuid('id must be a UUID') }))
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      await auth.revokeApiToken(ctx, ctx.user.id, input.id);
      return { ok: true };
    }),
  changePassword: protectedProcedure
    .meta({
      ...self,
      openapi: {
        method: 'POST',
        path: '/auth/password',
        tags: ['auth'],
        protect: true,
        summary: 'Change your own password (your other sessions end)',
      },
    })
    .input(
      z.object({
        currentPassword: z.string().min(1, 'currentPassword is required').max(1024),
        newPassword: z.string().min(1, 'newPassword is required').max(1024),
      }),
    )
    .output(z.object({ revokedSessions: z.number() }))
    .mutation(({ ctx, input }) =>
      auth.changeOwnPassword(ctx, ctx.user, input.currentPassword, input.newPassword, ctx.sessionToken),
    ),
  sessions: protectedProcedure
    .meta({
      ...self,
      openapi: {
        method: 'GET',
        path: '/auth/sessions',
        tags: ['auth'],
        protect: true,
        summary: 'Your sessions',
      },
    })
    .input(z.void())
    .output(
      z.array(
        z.object({
          id: z.string(),
          createdAt: z.string(),
          lastSeenAt: z.string(),
          expiresAt: z.string(),
          current: z.boolean(),
        }),
      ),
    )
    .query(({ ctx }) => auth.listSessions(ctx, ctx.user.id, ctx.sessionToken)),
  revokeSession: protectedProcedure
    .meta({
      ...self,
      openapi: {
        method: 'DELETE',
        path: '/auth/sessions/{id}',
        tags: ['auth'],
        protect: true,
        summary: 'End one of your sessions',
      },
    })
    .input(z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'id must be a session id (16 hex digits)') }))
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      await auth.revokeSession(ctx, ctx.user.id, input.id);
      return { ok: true };
    }),
});

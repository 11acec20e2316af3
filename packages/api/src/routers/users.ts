import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import { roles } from '../services/access';
import * as users from '../services/users';

/**
 * Users and service accounts (admins only): DC/OS's Organization page. The service checks what a
 * schema cannot (password rules, scopes of admins, the last admin) and answers 422/409 naming it.
 */

const tags = ['users'];
const id = z.string().uuid('id must be a user UUID');
const role = z.enum(roles, { error: 'role must be viewer, operator or admin' });
const scope = z
  .string()
  .max(200, 'scope must be at most 200 characters')
  .nullable()
  .describe('a group path (/team-a) the user is limited to; null or "" for the whole cluster');
const password = z.string().max(1024, 'password must be at most 1024 characters');

const userView = z.object({
  id: z.string(),
  username: z.string(),
  role: z.string(),
  scope: z.string().nullable(),
  kind: z.string(),
  disabled: z.boolean(),
  lockedUntil: z.string().nullable(),
  createdAt: z.string(),
  passwordChangedAt: z.string().nullable(),
  tokens: z.number(),
});

export const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});

const admin = { access: 'admin' } as const;

export const usersRouter = router({
  list: protectedProcedure
    .meta({
      ...admin,
      openapi: { method: 'GET', path: '/users', tags, protect: true, summary: 'Users and service accounts' },
    })
    .input(z.void())
    .output(z.array(userView))
    .query(({ ctx }) => users.listUsers(ctx, ctx.user)),
  get: protectedProcedure
    .meta({
      ...admin,
      openapi: { method: 'GET', path: '/users/{id}', tags, protect: true, summary: 'One user' },
    })
    .input(z.object({ id }))
    .output(userView)
    .query(({ ctx, input }) => users.getUser(ctx, ctx.user, input.id)),
  create: protectedProcedure
    .meta({
      ...admin,
      openapi: {
        method: 'POST',
        path: '/users',
        tags,
        protect: true,
        summary: 'Create a user (with a password) or a service account (without)',
      },
    })
    .input(
      z.object({
        username: z
          .string()
          .regex(users.USERNAME_PATTERN, 'username must be 1 to 64 of a-z, 0-9, dot, underscore and hyphen'),
        kind: z.enum(users.userKinds, { error: 'kind must be user or service' }).default('user'),
        role: role.default('viewer'),
        scope: scope.optional(),
        password: password.optional().describe('required for a user, refused for a service account'),
      }),
    )
    .output(userView)
    .mutation(({ ctx, input }) => users.createUser(ctx, ctx.user, input)),
  update: protectedProcedure
    .meta({
      ...admin,
      openapi: {
        method: 'PATCH',
        path: '/users/{id}',
        tags,
        protect: true,
        summary: "Change a user's role or scope",
      },
    })
    .input(z.object({ id, role: role.optional(), scope: scope.optional() }))
    .output(userView)
    .mutation(({ ctx, input }) => users.updateUser(ctx, ctx.user, input.id, input)),
  disable: protectedProcedure
    .meta({
      ...admin,
      openapi: {
        method: 'POST',
        path: '/users/{id}/disable',
        tags,
        protect: true,
        summary: 'Disable an account: its sessions end, its tokens stop working',
      },
    })
    .input(z.object({ id }))
    .output(userView)
    .mutation(({ ctx, input }) => users.setDisabled(ctx, ctx.user, input.id, true)),
  enable: protectedProcedure
    .meta({
      ...admin,
      openapi: {
        method: 'POST',
        path: '/users/{id}/enable',
        tags,
        protect: true,
        summary: 'Enable an account',
      },
    })
    .input(z.object({ id }))
    .output(userView)
    .mutation(({ ctx, input }) => users.setDisabled(ctx, ctx.user, input.id, false)),
  resetPassword: protectedProcedure
    .meta({
      ...admin,
      openapi: {
        method: 'POST',
        path: '/users/{id}/password',
        tags,
        protect: true,
        summary: "Set a user's password, or generate one (shown once); ends the user's sessions",
      },
    })
    .input(z.object({ id, password: password.optional() }))
    .output(
      z.object({ user: userView, generatedPassword: z.string().nullable(), revokedSessions: z.number() }),
    )
    .mutation(({ ctx, input }) => users.resetPassword(ctx, ctx.user, input.id, input.password)),
  remove: protectedProcedure
    .meta({
      ...admin,
      openapi: { method: 'DELETE', path: '/users/{id}', tags, protect: true, summary: 'Delete an account' },
    })
    .input(z.object({ id }))
    .output(z.object({ id: z.string() }))
    .mutation(({ ctx, input }) => users.deleteUser(ctx, ctx.user, input.id)),
  tokens: protectedProcedure
    .meta({
      ...admin,
      openapi: {
        method: 'GET',
        path: '/users/{id}/tokens',
        tags,
        protect: true,
        summary: "A service account's API tokens (never the secrets)",
      },
    })
    .input(z.object({ id }))
    .output(z.array(tokenView))
    .query(({ ctx, input }) => users.listServiceTokens(ctx, ctx.user, input.id)),
  createToken: protectedProcedure
    .meta({
      ...admin,
      openapi: {
        method: 'POST',
        path: '/users/{id}/tokens',
        tags,
        protect: true,
        summary: 'Create an API token for a service account (the token is shown only here)',
      },
    })
    .input(
      z.object({
        id,
        name: z.string().min(1, 'name is required').max(100, 'name must be at most 100 characters'),
        expiresInDays: z
          .number()
          .int('expiresInDays must be a whole number')
          .min(1, 'expiresInDays must be at least 1')
          .max(3650, 'expiresInDays must be at most 3650')
          .optional(),
      }),
    )
    .output(
      z.object({ id: z.string(), token: z.string(), name: z.string(), expiresAt: z.string().nullable() }),
    )
    .mutation(({ ctx, input }) =>
      users.createServiceToken(ctx, ctx.user, input.id, input.name, input.expiresInDays),
    ),
  revokeToken: protectedProcedure
    .meta({
      ...admin,
      openapi: {
        method: 'DELETE',
        path: '/users/{id}/tokens/{tokenId}',
        tags,
        protect: true,
        summary: "Revoke a service account's API token",
      },
    })
    .input(z.object({ id, tokenId: z.string().uuid('tokenId must be a token UUID') }))
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      await users.revokeServiceToken(ctx, ctx.user, input.id, input.tokenId);
      return { ok: true };
    }),
});

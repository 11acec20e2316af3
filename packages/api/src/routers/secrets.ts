import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import * as secrets from '../services/secrets';

/**
 * The secret store (docs/secrets.md). Values go in (create, update) and never come out: every
 * answer holds paths, descriptions, key ids, times and who refers to each secret. Operators and
 * admins only (viewers do not see secrets at all); a scoped operator only under its scope (checked
 * in the service). In REST, a secret path in the URL is one encoded segment:
 * `/api/v1/secrets/%2Fteam-a%2Fdb-password` (the leading slash may be left out).
 */

const tags = ['secrets'];

function safeDecode(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}
const operate = { access: 'operate' } as const;

/** A path from the URL or a body: the leading slash is optional there. */
const secretPath = z
  .string()
  .min(1, 'path must not be empty')
  .max(secrets.SECRET_PATH_MAX + 1, `path must be at most ${secrets.SECRET_PATH_MAX} characters`)
  // In a REST URL the path is one encoded segment; a secret path never holds '%' itself.
  .transform((p) => (p.includes('%') ? safeDecode(p) : p))
  .transform((p) => (p.startsWith('/') ? p : `/${p}`))
  .describe('the secret path, e.g. /team-a/db-password');
const value = z
  .string()
  .max(secrets.SECRET_VALUE_MAX_BYTES, 'value must be at most 64 KiB')
  .describe('the secret value; written, never read back');
const description = z.string().max(500, 'description must be at most 500 characters');

const references = z.object({ apps: z.array(z.string()), jobs: z.array(z.string()) });
const secretView = z.object({
  path: z.string(),
  description: z.string().nullable(),
  keyId: z.string(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  usedBy: references,
});

export const secretsRouter = router({
  list: protectedProcedure
    .meta({
      ...operate,
      openapi: {
        method: 'GET',
        path: '/secrets',
        tags,
        protect: true,
        summary: 'Secrets (paths and metadata, never values)',
      },
    })
    .input(z.void())
    .output(z.array(secretView))
    .query(({ ctx }) => secrets.listSecrets(ctx, ctx.user)),
  get: protectedProcedure
    .meta({
      ...operate,
      openapi: {
        method: 'GET',
        path: '/secrets/{path}',
        tags,
        protect: true,
        summary: 'One secret (no value)',
      },
    })
    .input(z.object({ path: secretPath }))
    .output(secretView)
    .query(({ ctx, input }) => secrets.getSecret(ctx, ctx.user, input.path)),
  create: protectedProcedure
    .meta({
      ...operate,
      openapi: { method: 'POST', path: '/secrets', tags, protect: true, summary: 'Create a secret' },
    })
    .input(z.object({ path: secretPath, value, description: description.optional() }))
    .output(secretView)
    .mutation(({ ctx, input }) => secrets.createSecret(ctx, ctx.user, input)),
  update: protectedProcedure
    .meta({
      ...operate,
      openapi: {
        method: 'PATCH',
        path: '/secrets/{path}',
        tags,
        protect: true,
        summary: 'Change a secret’s value and/or description (null clears it)',
      },
    })
    .input(
      z.object({ path: secretPath, value: value.optional(), description: description.nullable().optional() }),
    )
    .output(secretView)
    .mutation(({ ctx, input }) => secrets.updateSecret(ctx, ctx.user, input)),
  remove: protectedProcedure
    .meta({
      ...operate,
      openapi: {
        method: 'DELETE',
        path: '/secrets/{path}',
        tags,
        protect: true,
        summary: 'Delete a secret; the answer names the apps and jobs that still refer to it',
      },
    })
    .input(z.object({ path: secretPath }))
    .output(z.object({ path: z.string(), usedBy: references }))
    .mutation(({ ctx, input }) => secrets.deleteSecret(ctx, ctx.user, input.path)),
  keys: protectedProcedure
    .meta({
      ...operate,
      openapi: {
        method: 'GET',
        path: '/secret-keys',
        tags,
        protect: true,
        summary: 'The keyring: the current key id, and each key with its number of secrets',
      },
    })
    .input(z.void())
    .output(
      z.object({
        currentKeyId: z.string(),
        keys: z.array(z.object({ id: z.string(), configured: z.boolean(), secrets: z.number() })),
      }),
    )
    .query(({ ctx }) => secrets.keyStatus(ctx, ctx.user)),
  rotate: protectedProcedure
    .meta({
      access: 'admin',
      openapi: {
        method: 'POST',
        path: '/secret-keys/rotate',
        tags,
        protect: true,
        summary: 'Re-encrypt every secret under the current key; rows under unknown keys are reported',
      },
    })
    .input(z.void())
    .output(
      z.object({
        currentKeyId: z.string(),
        rotated: z.number(),
        total: z.number(),
        failed: z.array(z.object({ path: z.string(), keyId: z.string(), error: z.string() })),
      }),
    )
    .mutation(({ ctx }) => secrets.rotateSecrets(ctx, ctx.user)),
});

import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import * as nodes from '../services/nodes';
import * as ops from '../services/node-ops';
import { nodeView } from '../schemas';

const nodeId = z.object({ id: z.string().uuid('id must be a node UUID') });
const attributeKey = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,62}$/,
    "an attribute key is 1–63 letters, digits, '_', '.', '-' or '/', starting with a letter or digit",
  );

export const nodesRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/nodes', tags: ['nodes'], protect: true } })
    .input(z.object({ includeDecommissioned: z.boolean().default(false) }).optional())
    .output(z.array(nodeView))
    .query(({ ctx, input }) => nodes.listNodes(ctx, input ?? {})),
  joinTokens: protectedProcedure
    .meta({
      access: 'admin',
      openapi: {
        method: 'GET',
        path: '/nodes/join-tokens',
        tags: ['nodes'],
        protect: true,
        summary: 'Join tokens with their use and status (never the secret)',
      },
    })
    .input(z.void())
    .output(
      z.array(
        z.object({
          id: z.string(),
          description: z.string().nullable(),
          singleUse: z.boolean(),
          usedCount: z.number(),
          attributes: z.record(z.string(), z.string()),
          createdAt: z.string(),
          expiresAt: z.string().nullable(),
          revokedAt: z.string().nullable(),
          status: z.enum(['usable', 'revoked', 'expired', 'used']),
          nodes: z.number(),
        }),
      ),
    )
    .query(({ ctx }) => nodes.listJoinTokens(ctx)),
  get: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/nodes/{id}', tags: ['nodes'], protect: true } })
    .input(z.object({ id: z.string().uuid('id must be a node UUID') }))
    .output(nodeView)
    .query(({ ctx, input }) => nodes.getNode(ctx, input.id)),
  createJoinToken: protectedProcedure
    .meta({
      access: 'admin',
      openapi: { method: 'POST', path: '/nodes/join-tokens', tags: ['nodes'], protect: true },
    })
    .input(
      z.object({
        singleUse: z.boolean().default(true),
        expiresInSeconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 24 * 3600)
          .default(3600),
        attributes: z.record(z.string(), z.string()).default({}),
        description: z.string().max(200, 'description must be at most 200 characters').optional(),
      }),
    )
    .output(z.object({ id: z.string(), token: z.string(), expiresAt: z.string(), installLine: z.string() }))
    .mutation(({ ctx, input }) => nodes.createJoinToken(ctx, input)),
  revokeJoinToken: protectedProcedure
    .meta({
      access: 'admin',
      openapi: { method: 'DELETE', path: '/nodes/join-tokens/{id}', tags: ['nodes'], protect: true },
    })
    .input(z.object({ id: z.string().uuid('id must be a UUID') }))
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      await nodes.revokeJoinToken(ctx, input.id);
      return { ok: true };
    }),
  drain: protectedProcedure
    .meta({
      access: 'admin',
      openapi: {
        method: 'POST',
        path: '/nodes/{id}/drain',
        tags: ['nodes'],
        protect: true,
        description: 'Stop placing tasks on the node and move its tasks elsewhere, one at a time.',
      },
    })
    .input(nodeId)
    .output(nodeView)
    .mutation(({ ctx, input }) => ops.drainNode(ctx, input.id)),
  undrain: protectedProcedure
    .meta({
      access: 'admin',
      openapi: { method: 'POST', path: '/nodes/{id}/undrain', tags: ['nodes'], protect: true },
    })
    .input(nodeId)
    .output(nodeView)
    .mutation(({ ctx, input }) => ops.undrainNode(ctx, input.id)),
  maintenance: protectedProcedure
    .meta({
      access: 'admin',
      openapi: {
        method: 'POST',
        path: '/nodes/{id}/maintenance',
        tags: ['nodes'],
        protect: true,
        description: 'on: offer nothing, keep the tasks running; off: back to ACTIVE.',
      },
    })
    .input(nodeId.extend({ on: z.boolean().default(true) }))
    .output(nodeView)
    .mutation(({ ctx, input }) => ops.setMaintenance(ctx, input.id, input.on)),
  decommission: protectedProcedure
    .meta({
      access: 'admin',
      openapi: {
        method: 'POST',
        path: '/nodes/{id}/decommission',
        tags: ['nodes'],
        protect: true,
        description: 'Remove the node for good; its tasks are replaced elsewhere.',
      },
    })
    .input(nodeId)
    .output(z.object({ id: z.string(), hostname: z.string(), tasksReplaced: z.number() }))
    .mutation(({ ctx, input }) => ops.decommissionNode(ctx, input.id)),
  setAttributes: protectedProcedure
    .meta({
      access: 'admin',
      openapi: { method: 'POST', path: '/nodes/{id}/attributes', tags: ['nodes'], protect: true },
    })
    .input(
      nodeId.extend({
        // The keys' rule is the service's (node-ops.ts), here too so the document says it.
        set: z.record(attributeKey, z.string().max(255, 'an attribute value has at most 255 characters')).default({}),
        remove: z.array(attributeKey).default([]),
      }),
    )
    .output(nodeView)
    .mutation(({ ctx, input }) => ops.setAttributes(ctx, input.id, input)),
  setReservation: protectedProcedure
    .meta({
      access: 'admin',
      openapi: {
        method: 'POST',
        path: '/nodes/{id}/reservation',
        tags: ['nodes'],
        protect: true,
        description: 'CPUs and memory kept for the host itself, never offered.',
      },
    })
    .input(
      nodeId.extend({
        cpus: z.number().min(0, 'cpus must be ≥ 0'),
        memMb: z.number().min(0, 'memMb must be ≥ 0'),
      }),
    )
    .output(nodeView)
    .mutation(({ ctx, input }) => ops.setReservation(ctx, input.id, input)),
});

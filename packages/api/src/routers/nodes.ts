import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import * as nodes from '../services/nodes';
import { nodeView } from '../schemas';

export const nodesRouter = router({
  list: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/nodes', tags: ['nodes'], protect: true } })
    .input(z.void())
    .output(z.array(nodeView))
    .query(({ ctx }) => nodes.listNodes(ctx)),
  get: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/nodes/{id}', tags: ['nodes'], protect: true } })
    .input(z.object({ id: z.string().uuid('id must be a node UUID') }))
    .output(nodeView)
    .query(({ ctx, input }) => nodes.getNode(ctx, input.id)),
  createJoinToken: protectedProcedure
    .meta({ openapi: { method: 'POST', path: '/nodes/join-tokens', tags: ['nodes'], protect: true } })
    .input(
      z.object({
        singleUse: z.boolean().default(true),
        expiresInSeconds: z.number().int().min(60).max(30 * 24 * 3600).default(3600),
        attributes: z.record(z.string(), z.string()).default({}),
      }),
    )
    .output(z.object({ id: z.string(), token: z.string(), expiresAt: z.string(), installLine: z.string() }))
    .mutation(({ ctx, input }) => nodes.createJoinToken(ctx, input)),
  revokeJoinToken: protectedProcedure
    .meta({ openapi: { method: 'DELETE', path: '/nodes/join-tokens/{id}', tags: ['nodes'], protect: true } })
    .input(z.object({ id: z.string().uuid('id must be a UUID') }))
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ ctx, input }) => {
      await nodes.revokeJoinToken(ctx, input.id);
      return { ok: true };
    }),
});

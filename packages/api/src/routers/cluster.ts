import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import { changeVisible, listEvents } from '../services/events';
import { eventView } from '../schemas';

export const clusterRouter = router({
  info: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/cluster', tags: ['cluster'], protect: true } })
    .input(z.void())
    .output(z.object({ name: z.string(), version: z.string(), publicUrl: z.string() }))
    .query(({ ctx }) => ({
      name: ctx.config.clusterName,
      version: ctx.config.version,
      publicUrl: ctx.config.publicUrl,
    })),
  events: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/events', tags: ['cluster'], protect: true } })
    .input(
      z
        .object({
          limit: z.number().int().min(1).max(1000).default(100),
          subject: z.string().optional(),
          type: z.string().optional(),
        })
        .default({ limit: 100 }),
    )
    .output(z.array(eventView))
    .query(({ ctx, input }) => listEvents(ctx, input)),
  /** Live changes for the console: each names what changed so the client refetches just that. */
  changes: protectedProcedure.subscription(async function* ({ ctx, signal }) {
    for await (const change of ctx.bus.changes(signal)) if (changeVisible(ctx, change)) yield change;
  }),
});

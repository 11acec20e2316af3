import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';

const tags = ['network'];

const answer = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('a'), name: z.string(), addresses: z.array(z.string()) }),
  z.object({
    kind: z.literal('srv'),
    name: z.string(),
    targets: z.array(z.object({ target: z.string(), port: z.number(), addresses: z.array(z.string()) })),
  }),
  z.object({ kind: z.literal('nodata'), name: z.string() }),
  z.object({ kind: z.literal('nxdomain'), name: z.string() }),
  z.object({ kind: z.literal('forward'), name: z.string() }),
]);

const vipSummary = z.object({
  name: z.string().nullable(),
  ip: z.string(),
  port: z.number(),
  protocol: z.enum(['tcp', 'udp']),
  appId: z.string(),
  appIds: z.array(z.string()),
  mode: z.string(),
  dnsNames: z.array(z.string()),
  backends: z.array(
    z.object({
      taskId: z.string(),
      host: z.string(),
      port: z.number(),
      healthy: z.boolean(),
      activeConnections: z.number(),
      totalConnections: z.number(),
      errors: z.number(),
    }),
  ),
  totalConnections: z.number(),
  activeConnections: z.number(),
  errors: z.number(),
  failedConnections: z.number(),
});

/**
 * Service discovery: what the cluster's DNS answers (the console's resolve box, `atoll dns`), and
 * the VIPs the agents balance (the console's Networking page, `atoll vip list`).
 */
export const networkRouter = router({
  resolve: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/network/resolve',
        tags,
        protect: true,
        summary: 'What the cluster DNS answers for a name',
      },
    })
    .input(
      z.object({
        name: z.string().trim().min(1, 'name is required').max(253, 'a DNS name has at most 253 characters'),
        type: z.enum(['A', 'SRV', 'ANY'], { error: 'type must be A, SRV or ANY' }).default('ANY'),
      }),
    )
    .output(answer)
    .query(({ ctx, input }) => {
      const type =
        input.type === 'ANY' && input.name.startsWith('_') ? 'SRV' : input.type === 'ANY' ? 'A' : input.type;
      return ctx.dns.resolve(input.name, type);
    }),
  records: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/network/records',
        tags,
        protect: true,
        summary: 'Every name the cluster DNS publishes',
      },
    })
    .input(z.void())
    .output(
      z.object({
        ttl: z.number(),
        suffix: z.string(),
        a: z.record(z.string(), z.array(z.string())),
        srv: z.record(z.string(), z.array(z.object({ target: z.string(), port: z.number() }))),
      }),
    )
    .query(({ ctx }) => ctx.dns.view),
  vips: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/network/vips',
        tags,
        protect: true,
        summary: 'Every VIP with its backends and their connection counters (summed over nodes)',
      },
    })
    .input(z.void())
    .output(z.array(vipSummary))
    .query(({ ctx }) => ctx.vips.list()),
});

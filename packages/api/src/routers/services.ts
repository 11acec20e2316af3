import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import { normalizeAppId } from '@atoll/spec';
import { assertInScope } from '../services/access';
import { serviceLink } from '../services/service-routes';

const serviceLinkView = z
  .object({ name: z.string(), path: z.string(), vhosts: z.array(z.string()) })
  .nullable();

/** What the console needs to link to a service's own UI (Admin Router's /service/<name>/). */
export const servicesRouter = router({
  link: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/services/link', tags: ['apps'], protect: true } })
    .input(z.object({ appId: z.string().min(1) }))
    .output(serviceLinkView)
    .query(({ ctx, input }) => {
      assertInScope(ctx, normalizeAppId(input.appId));
      return serviceLink(ctx, input.appId);
    }),
});

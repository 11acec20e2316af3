import { z } from 'zod';
import { protectedProcedure, router } from '../trpc';
import { STATUS_CLASSES } from '../services/audit';

/**
 * The audit trail (docs/audit.md): one record per write request, newest first, admins only.
 * Records are written by control's HTTP layer (apps/control/src/audit-hook.ts); nothing here
 * changes them.
 */

const when = (name: string) =>
  z.iso.datetime({ offset: true, error: `${name} must be an ISO 8601 time such as 2026-12-05T18:00:00Z` });

const auditRecordView = z.object({
  id: z.string(),
  at: z.string(),
  actorId: z.string().nullable(),
  actor: z.string().nullable(),
  method: z.string(),
  path: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  ip: z.string().nullable(),
  status: z.number(),
  requestId: z.string(),
});

export const auditListInput = z
  .object({
    actor: z.string().min(1).max(200).optional(),
    /** Prefix of the action: `apps.`, `DELETE /v2/apps`. */
    action: z.string().min(1).max(200).optional(),
    /** Prefix of the request path: `/v2/apps/team-a`. */
    path: z.string().min(1).max(1000).optional(),
    /** Prefix of the target: `/team-a`. */
    target: z.string().min(1).max(1000).optional(),
    status: z.enum(STATUS_CLASSES, { error: 'status must be 2xx, 3xx, 4xx or 5xx' }).optional(),
    since: when('since').optional(),
    until: when('until').optional(),
    cursor: z
      .string()
      .regex(/^\d{1,19}$/, 'cursor must be the nextCursor of a previous page')
      .optional(),
    limit: z
      .number()
      .int()
      .min(1, 'limit must be at least 1')
      .max(500, 'limit must be at most 500')
      .default(100),
  })
  .default({ limit: 100 });

export const auditRouter = router({
  list: protectedProcedure
    .meta({
      access: 'admin',
      openapi: {
        method: 'GET',
        path: '/audit',
        tags: ['audit'],
        protect: true,
        summary: 'Audit records of write requests, newest first (admins only)',
      },
    })
    .input(auditListInput)
    .output(z.object({ records: z.array(auditRecordView), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) =>
      ctx.audit.list({
        ...input,
        since: input.since ? new Date(input.since) : undefined,
        until: input.until ? new Date(input.until) : undefined,
      }),
    ),
});

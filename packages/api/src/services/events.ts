import type { Change } from '../bus';
import type { Services } from '../context';

export interface EventInput {
  type: string;
  subject?: string;
  payload?: Record<string, unknown>;
}

/**
 * Appends events (the audit trail and the source of /v2/events) in one INSERT and tells live
 * subscribers. Raw SQL through the pool: this sits on the task-status hot path.
 */
export async function recordEvents(
  s: Pick<Services, 'db' | 'bus'>,
  events: EventInput[],
  kind: Change['kind'] = 'event',
): Promise<void> {
  if (events.length === 0) return;
  await s.db.pool.query(
    `INSERT INTO events (type, subject, payload)
     SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])`,
    [
      events.map((e) => e.type),
      events.map((e) => e.subject ?? null),
      events.map((e) => JSON.stringify(e.payload ?? {})),
    ],
  );
  const timestamp = new Date().toISOString();
  for (const e of events) {
    s.bus.publish({ kind, ...(e.subject ? { subject: e.subject } : {}) });
    s.bus.publishEvent({ eventType: e.type, timestamp, ...(e.payload ?? {}) });
  }
  s.bus.publish({ kind: 'event' });
}

export async function listEvents(
  s: Pick<Services, 'db'>,
  opts: { limit: number; subject?: string | undefined; type?: string | undefined },
) {
  const rows = await s.db.prisma.event.findMany({
    where: { ...(opts.subject ? { subject: opts.subject } : {}), ...(opts.type ? { type: opts.type } : {}) },
    orderBy: { id: 'desc' },
    take: opts.limit,
  });
  return rows.map((r) => ({
    id: r.id.toString(),
    type: r.type,
    at: r.at.toISOString(),
    subject: r.subject,
    payload: r.payload as Record<string, unknown>,
  }));
}

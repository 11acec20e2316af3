import type { Change } from '../bus';
import type { Services } from '../context';
import { jobPath, scopeOf, visibleTo } from './access';

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
    s.bus.publishEvent({ eventType: e.type, timestamp, ...(e.payload ?? {}) }, e.subject);
  }
  s.bus.publish({ kind: 'event' });
}

export async function listEvents(
  s: Pick<Services, 'db'>,
  opts: { limit: number; subject?: string | undefined; type?: string | undefined },
) {
  const scope = scopeOf(s);
  const jobId = scope?.slice(1).split('/').join('.');
  const rows = await s.db.prisma.event.findMany({
    where: {
      ...(opts.subject ? { subject: opts.subject } : {}),
      ...(opts.type ? { type: opts.type } : {}),
      // A scoped reader sees the events of the apps and jobs in the scope (as eventVisible).
      ...(scope
        ? {
            OR: [
              { subject: scope },
              { subject: { startsWith: `${scope}/` } },
              { type: { startsWith: 'job' }, subject: jobId },
              { type: { startsWith: 'job' }, subject: { startsWith: `${jobId}.` } },
            ],
          }
        : {}),
    },
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

/**
 * Whether `s`'s actor may see an event of this type about `subject`: an app's or group's events by
 * the app's path, a job's (`job_*`) by the job's path; a scoped reader sees no others (nodes,
 * repositories), an unscoped one all.
 */
export function eventVisible(s: object, type: string, subject: string | null | undefined): boolean {
  if (!scopeOf(s)) return true;
  if (!subject) return false;
  if (subject.startsWith('/')) return visibleTo(s, subject);
  return type.startsWith('job') && visibleTo(s, jobPath(subject));
}

/** Whether a live change (the console's refetch hint) may reach `s`'s actor: by its subject's path. */
export function changeVisible(s: object, change: Change): boolean {
  if (!scopeOf(s)) return true;
  if (change.kind === 'job') return !change.subject || visibleTo(s, jobPath(change.subject));
  if (change.kind === 'app' || change.kind === 'task' || change.kind === 'deployment')
    return !change.subject || !change.subject.startsWith('/') || visibleTo(s, change.subject);
  return true;
}

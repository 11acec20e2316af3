import { normalizeAppId } from '@atoll/spec';
import { AppError } from '../errors';
import type { Services } from '../context';
import { assertInScope } from './access';
import { listApps, type AppView } from './apps';
import { recordEvents } from './events';

/** Marathon's names for why offers were declined, from the scheduler's filter reasons. */
export function marathonReason(reason: string): string {
  if (reason.startsWith('insufficient cpus')) return 'InsufficientCpus';
  if (reason.startsWith('insufficient mem')) return 'InsufficientMemory';
  if (reason.startsWith('insufficient disk')) return 'InsufficientDisk';
  if (reason.startsWith('insufficient ports')) return 'InsufficientPorts';
  if (reason.startsWith('constraint')) return 'UnfulfilledConstraint';
  if (reason.startsWith('node not active')) return 'AgentMaintenance';
  return reason;
}

export interface QueueItem {
  app: AppView;
  count: number;
  delay: { timeLeftSeconds: number; overdue: boolean };
  since: string;
  processedOffersSummary: {
    processedOffersCount: number;
    unusedOffersCount: number;
    rejectSummaryLastOffers: Array<{ reason: string; declined: number; processed: number }>;
  };
  lastUnusedOffers: unknown[];
  /** Atoll: the scheduler's own words, reasons (reason → nodes excluded) and each excluded node. */
  atoll: {
    placementIssue: string | null;
    reasons: Record<string, number>;
    excluded: Array<{ nodeId: string; hostname: string; reason: string }>;
  };
}

/** Marathon's GET /v2/queue: apps waiting for tasks, with their back-off and why they wait. */
export async function listQueue(
  s: Pick<Services, 'db' | 'bus' | 'now' | 'poke' | 'agents'>,
): Promise<QueueItem[]> {
  const [apps, rows, nodeCount] = await Promise.all([
    listApps(s),
    s.db.prisma.app.findMany({
      select: { id: true, placementIssue: true, updatedAt: true, delayUntil: true },
    }),
    s.db.prisma.node.count(),
  ]);
  const now = s.now();
  return apps
    .filter((a) => a.atoll.status !== 'Deleting' && a.instances > a.tasksRunning + a.tasksStaged)
    .map((a) => {
      const row = rows.find((r) => r.id === a.id)!;
      const issue = row.placementIssue as {
        reasons?: Record<string, number>;
        excluded?: Array<{ nodeId: string; hostname: string; reason: string }>;
      } | null;
      const reasons = issue?.reasons ?? {};
      const left = row.delayUntil
        ? Math.max(0, Math.ceil((row.delayUntil.getTime() - now.getTime()) / 1000))
        : 0;
      const { atoll: _atoll, ...app } = a;
      return {
        app: app as AppView,
        count: a.instances - a.tasksRunning - a.tasksStaged,
        delay: { timeLeftSeconds: left, overdue: left === 0 },
        since: row.updatedAt.toISOString(),
        processedOffersSummary: {
          processedOffersCount: nodeCount,
          unusedOffersCount: Object.values(reasons).reduce((x, y) => x + y, 0),
          rejectSummaryLastOffers: Object.entries(reasons).map(([reason, declined]) => ({
            reason: marathonReason(reason),
            declined,
            processed: nodeCount,
          })),
        },
        lastUnusedOffers: [],
        atoll: { placementIssue: a.atoll.placementIssue, reasons, excluded: issue?.excluded ?? [] },
      };
    });
}

/** Marathon's DELETE /v2/queue/{id}/delay: forget the launch back-off, launch at once. */
export async function resetDelay(s: Pick<Services, 'db' | 'bus' | 'poke'>, id: string): Promise<void> {
  const appId = normalizeAppId(id);
  assertInScope(s, appId);
  const { count } = await s.db.prisma.app.updateMany({
    where: { id: appId },
    data: { backoffFailures: 0, delayUntil: null },
  });
  if (count === 0) throw AppError.notFound(`App '${appId}'`);
  await recordEvents(s, [{ type: 'app_delay_reset', subject: appId }], 'app');
  s.poke();
}

import type { Services } from '../context';

/**
 * Orders one task killed: tells its agent (which answers TASK_KILLING, then TASK_KILLED) and marks
 * the kill as requested, so the task no longer counts toward its app's instances. With no agent to
 * tell, the task is KILLED for us at once; its agent kills it when it reconnects (hello adoption).
 */
export async function orderTaskKill(
  s: Pick<Services, 'db' | 'agents'>,
  task: { id: string; nodeId: string },
  gracePeriodSeconds: number,
  now: Date,
): Promise<void> {
  if (s.agents.send(task.nodeId, { type: 'killTask', taskId: task.id, gracePeriodSeconds })) {
    await s.db.prisma.task.update({ where: { id: task.id }, data: { killRequestedAt: now } });
  } else {
    await s.db.prisma.task.update({
      where: { id: task.id },
      data: {
        killRequestedAt: now,
        state: 'TASK_KILLED',
        message: 'killed while its node was disconnected',
        updatedAt: now,
      },
    });
  }
}

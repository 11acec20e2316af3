export type KillSelection = 'YOUNGEST_FIRST' | 'OLDEST_FIRST';

/**
 * Marathon's order of preference when scaling down: tasks that do no work yet go first
 * (unreachable, then staging, then starting), running ones after; within each, by age as the app's
 * killSelection says. Anything else (already killing, terminal) comes last: killing it again frees
 * nothing. Accepts states with or without Mesos's `TASK_` prefix.
 */
const CONDITION_ORDER = ['UNREACHABLE', 'LOST', 'STAGING', 'STARTING', 'RUNNING'];

function conditionRank(state: string): number {
  const condition = state.toUpperCase().replace(/^TASK_/, '');
  const i = CONDITION_ORDER.indexOf(condition === 'LOST' ? 'UNREACHABLE' : condition);
  return i === -1 ? CONDITION_ORDER.length : i;
}

/** The `count` tasks to kill, most preferred first. The input is not reordered. */
export function chooseTasksToKill<T extends { id: string; stagedAt: number; state: string }>(
  tasks: T[],
  count: number,
  killSelection: KillSelection,
): T[] {
  const n = Math.max(0, Math.min(tasks.length, Math.floor(count)));
  if (n === 0) return [];
  const byAge = killSelection === 'OLDEST_FIRST' ? 1 : -1;
  return [...tasks]
    .sort(
      (a, b) =>
        conditionRank(a.state) - conditionRank(b.state) ||
        byAge * (a.stagedAt - b.stagedAt) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )
    .slice(0, n);
}

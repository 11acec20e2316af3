import type { TaskState } from '@atoll/spec';

export interface ExitOutcome {
  state: Extract<TaskState, 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED'>;
  message?: string;
}

/**
 * The terminal state of a task whose process ended: killed on request → KILLED (whatever its
 * status, a task that handles SIGTERM and exits 0 was still killed); status 0 → FINISHED; any other
 * or unknown status → FAILED.
 */
export function exitOutcome(exit: {
  exitCode: number | undefined;
  killed: boolean;
  message?: string;
}): ExitOutcome {
  if (exit.killed) return { state: 'TASK_KILLED', ...(exit.message ? { message: exit.message } : {}) };
  if (exit.exitCode === 0)
    return { state: 'TASK_FINISHED', ...(exit.message ? { message: exit.message } : {}) };
  const status =
    exit.exitCode === undefined ? 'ended with an unknown exit status' : `exited with code ${exit.exitCode}`;
  return { state: 'TASK_FAILED', message: exit.message ? `${exit.message} (${status})` : status };
}

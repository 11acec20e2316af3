import { describe, expect, it } from 'vitest';
import { exitOutcome } from './exit';

describe('exitOutcome', () => {
  it.each([
    { name: 'status 0 finishes', exit: { exitCode: 0, killed: false }, want: { state: 'TASK_FINISHED' } },
    {
      name: 'non-zero fails with the code',
      exit: { exitCode: 3, killed: false },
      want: { state: 'TASK_FAILED', message: 'exited with code 3' },
    },
    {
      name: 'unknown status fails',
      exit: { exitCode: undefined, killed: false },
      want: { state: 'TASK_FAILED', message: 'ended with an unknown exit status' },
    },
    {
      name: 'killed wins over status 143',
      exit: { exitCode: 143, killed: true },
      want: { state: 'TASK_KILLED' },
    },
    {
      name: 'killed wins over status 0',
      exit: { exitCode: 0, killed: true },
      want: { state: 'TASK_KILLED' },
    },
    {
      name: 'a runtime message is kept',
      exit: { exitCode: 137, killed: false, message: 'OOM-killed' },
      want: { state: 'TASK_FAILED', message: 'OOM-killed (exited with code 137)' },
    },
  ])('$name', ({ exit, want }) => {
    expect(exitOutcome(exit)).toEqual(want);
  });
});

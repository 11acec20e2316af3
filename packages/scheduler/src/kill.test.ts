import { describe, expect, it } from 'vitest';
import { chooseTasksToKill, type KillSelection } from './kill';

const task = (id: string, state: string, stagedAt: number) => ({ id, state, stagedAt });

const tasks = [
  task('run-old', 'TASK_RUNNING', 100),
  task('run-new', 'TASK_RUNNING', 300),
  task('run-mid', 'TASK_RUNNING', 200),
  task('staging', 'TASK_STAGING', 50),
  task('starting', 'TASK_STARTING', 400),
  task('unreachable', 'TASK_UNREACHABLE', 10),
];

type Case = {
  name: string;
  input: typeof tasks;
  count: number;
  selection: KillSelection;
  expected: string[];
};

describe('chooseTasksToKill', () => {
  it.each<Case>([
    { name: 'nothing to kill', input: tasks, count: 0, selection: 'YOUNGEST_FIRST', expected: [] },
    { name: 'negative count', input: tasks, count: -2, selection: 'YOUNGEST_FIRST', expected: [] },
    {
      name: 'unreachable, then staging, then starting, then running',
      input: tasks,
      count: 4,
      selection: 'YOUNGEST_FIRST',
      expected: ['unreachable', 'staging', 'starting', 'run-new'],
    },
    {
      name: 'running ones youngest first',
      input: tasks,
      count: 6,
      selection: 'YOUNGEST_FIRST',
      expected: ['unreachable', 'staging', 'starting', 'run-new', 'run-mid', 'run-old'],
    },
    {
      name: 'running ones oldest first',
      input: tasks,
      count: 6,
      selection: 'OLDEST_FIRST',
      expected: ['unreachable', 'staging', 'starting', 'run-old', 'run-mid', 'run-new'],
    },
    {
      name: 'count above the number of tasks',
      input: tasks.slice(0, 2),
      count: 5,
      selection: 'OLDEST_FIRST',
      expected: ['run-old', 'run-new'],
    },
    {
      name: 'states without the TASK_ prefix, and LOST as unreachable',
      input: [task('r', 'RUNNING', 1), task('l', 'TASK_LOST', 2), task('s', 'staging', 3)],
      count: 2,
      selection: 'YOUNGEST_FIRST',
      expected: ['l', 's'],
    },
    {
      name: 'a task already being killed comes last',
      input: [task('k', 'TASK_KILLING', 5), task('r', 'TASK_RUNNING', 1)],
      count: 1,
      selection: 'OLDEST_FIRST',
      expected: ['r'],
    },
    {
      name: 'same age: by id, so the choice is stable',
      input: [task('b', 'TASK_RUNNING', 1), task('a', 'TASK_RUNNING', 1)],
      count: 1,
      selection: 'YOUNGEST_FIRST',
      expected: ['a'],
    },
  ])('$name', ({ input, count, selection, expected }) => {
    const before = input.map((t) => t.id);
    expect(chooseTasksToKill(input, count, selection).map((t) => t.id)).toEqual(expected);
    expect(input.map((t) => t.id)).toEqual(before);
  });

  it('returns the caller’s own objects', () => {
    const input = [{ ...task('x', 'TASK_RUNNING', 1), extra: true }];
    expect(chooseTasksToKill(input, 1, 'OLDEST_FIRST')[0]).toBe(input[0]);
  });
});

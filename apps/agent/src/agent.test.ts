import { describe, expect, it } from 'vitest';
import { agentSocketUrl, garbage } from './agent';

describe('agentSocketUrl', () => {
  it.each([
    { control: 'http://localhost:7700', want: 'ws://localhost:7700/agent/v1' },
    { control: 'https://atoll.example', want: 'wss://atoll.example/agent/v1' },
    { control: 'https://atoll.example/prefix/', want: 'wss://atoll.example/prefix/agent/v1' },
    { control: 'http://10.0.0.1:7700/?x=1', want: 'ws://10.0.0.1:7700/agent/v1' },
  ])('$control', ({ control, want }) => {
    expect(agentSocketUrl(control)).toBe(want);
  });
});

describe('garbage', () => {
  const t = (appId: string | undefined, finishedAtMs?: number) => ({
    ...(appId ? { appId } : {}),
    ...(finishedAtMs !== undefined ? { finishedAtMs } : {}),
  });

  it('keeps the newest N ended tasks of each app, and nothing running', () => {
    const tasks = new Map([
      ['a1', t('/a', 100)],
      ['a2', t('/a', 300)],
      ['a3', t('/a', 200)],
      ['a4', t('/a')],
      ['b1', t('/b', 50)],
    ]);
    expect(garbage(tasks, 0, 1).sort()).toEqual(['a1', 'a3']);
    expect(garbage(tasks, 0, 0).sort()).toEqual(['a1', 'a2', 'a3', 'b1']);
  });

  it('removes what ended before the cutoff, even within the newest N or without an app', () => {
    const tasks = new Map([
      ['old', t(undefined, 10)],
      ['a1', t('/a', 20)],
      ['a2', t('/a', 500)],
    ]);
    expect(garbage(tasks, 100, 5).sort()).toEqual(['a1', 'old']);
  });
});

import { describe, expect, it } from 'vitest';
import { agentSocketUrl } from './agent';

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

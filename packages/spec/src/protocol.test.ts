import { describe, expect, it } from 'vitest';
import { parseAgentMessage, parseControlMessage, PROTOCOL_VERSION } from './protocol';

describe('agent protocol', () => {
  it.each([
    ['not JSON', '{nope', /not valid JSON/],
    ['unknown type', JSON.stringify({ type: 'shout' }), /type/],
    [
      'hello without resources',
      JSON.stringify({
        type: 'hello',
        protocolVersion: 1,
        agentVersion: '1',
        hostname: 'h',
        address: 'a',
        runtime: 'docker',
        tasks: [],
      }),
      /resources/,
    ],
    [
      'status with a bad state',
      JSON.stringify({ type: 'taskStatus', report: { taskId: 't', state: 'TASK_DANCING', at: 'x' } }),
      /report\.state/,
    ],
  ])('rejects %s with a reason', (_name, raw, reason) => {
    const r = parseAgentMessage(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(reason);
  });

  it('accepts a full hello', () => {
    const r = parseAgentMessage(
      JSON.stringify({
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        agentVersion: '0.1.0',
        joinToken: 'join_x',
        hostname: 'h1',
        address: '10.0.0.1',
        runtime: 'docker',
        resources: { cpus: 2, memMb: 1024, diskMb: 10000, portRange: [10000, 20000] },
        tasks: [{ taskId: 't1', state: 'TASK_RUNNING', at: new Date(0).toISOString() }],
      }),
    );
    expect(r.ok && r.message.type).toBe('hello');
  });

  it('parses a kill order with the default grace period', () => {
    const r = parseControlMessage(JSON.stringify({ type: 'killTask', taskId: 't1' }));
    expect(r.ok && r.message).toEqual({ type: 'killTask', taskId: 't1', gracePeriodSeconds: 3 });
  });
});

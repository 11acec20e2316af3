import { describe, expect, it } from 'vitest';
import type { Services } from '../context';
import { taskLogChunks, type LogHandlers } from './agent-streams';

/** A task on node-1 whose agent stream is driven by the test through `agent`. */
function fakeServices() {
  const agent: { h?: LogHandlers; closed: number } = { closed: 0 };
  const s = {
    db: {
      prisma: {
        task: {
          findUnique: () => Promise.resolve({ nodeId: 'node-1', appId: '/web', state: 'TASK_RUNNING' }),
        },
      },
    },
    streams: {
      openLogs: (_node: string, _task: string, _opts: unknown, h: LogHandlers) => {
        agent.h = h;
        return { close: () => (agent.closed += 1) };
      },
    },
  } as unknown as Pick<Services, 'db' | 'streams'>;
  return { s, agent };
}

describe('taskLogChunks', () => {
  it('relays chunks in order and closes the agent stream when the reader stops', async () => {
    const { s, agent } = fakeServices();
    const it = taskLogChunks(s, { taskId: 't', lines: 10, follow: true });
    const first = it.next();
    await new Promise((r) => setTimeout(r, 0));
    agent.h!.data('stdout', 'a\n');
    agent.h!.data('stderr', 'b\n');
    expect((await first).value).toEqual({ stream: 'stdout', data: 'a\n' });
    expect((await it.next()).value).toEqual({ stream: 'stderr', data: 'b\n' });
    await it.return(undefined);
    expect(agent.closed).toBeGreaterThan(0);
  });

  it('ends with an error and closes the agent stream when the reader falls too far behind', async () => {
    const { s, agent } = fakeServices();
    const it = taskLogChunks(s, { taskId: 't', lines: null, follow: true }, undefined, 10);
    const first = it.next();
    await new Promise((r) => setTimeout(r, 0));
    agent.h!.data('stdout', '0123456');
    agent.h!.data('stdout', '789abcd');
    agent.h!.data('stdout', 'dropped');
    expect(agent.closed).toBe(1);
    expect((await first).value).toEqual({ stream: 'stdout', data: '0123456' });
    const end = await it.next();
    expect(end.value).toEqual({ end: true, error: 'the reader fell more than 10 characters behind' });
    expect((await it.next()).done).toBe(true);
  });
});

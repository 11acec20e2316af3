import type { AgentMessage } from '@atoll/spec';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { LogOptions, LogSink, TaskIo } from './runtime/types';
import { AgentStreams } from './streams';

/** A task whose log is `chunks`, delivered at once; remembers whether its stream was closed. */
function fixedLog(chunks: Array<['stdout' | 'stderr', string]>, follow: { open: boolean }): TaskIo {
  return {
    metricsTarget: () => Promise.resolve(undefined),
    logs: (_taskId: string, opts: LogOptions, sink: LogSink) => {
      for (const [stream, text] of chunks) sink.data(stream, Buffer.from(text));
      if (!opts.follow) sink.end();
      return Promise.resolve({ close: () => (follow.open = false) });
    },
    openExec: () => Promise.reject(new Error('no exec here')),
  };
}

function harness(io: TaskIo, maxChars?: number) {
  const sent: AgentMessage[] = [];
  const streams = new AgentStreams(
    () => io,
    (m) => sent.push(m),
    pino({ level: 'silent' }),
    maxChars,
  );
  const text = () => sent.flatMap((m) => (m.type === 'logData' ? [`${m.stream}:${m.data}`] : [])).join('');
  return { streams, sent, text };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('AgentStreams log limits', () => {
  it('passes a log under the cap through whole, tagged by stream, then ends it', async () => {
    const state = { open: true };
    const h = harness(
      fixedLog(
        [
          ['stdout', 'a\n'],
          ['stderr', 'b\n'],
        ],
        state,
      ),
      100,
    );
    h.streams.handle({ type: 'logOpen', streamId: 's1', taskId: 't', tail: null, follow: false });
    await tick();
    expect(h.text()).toBe('stdout:a\nstderr:b\n');
    expect(h.sent.at(-1)).toEqual({ type: 'logEnd', streamId: 's1' });
  });

  it('cuts a log that does not follow at the cap and says so', async () => {
    const state = { open: true };
    const h = harness(
      fixedLog(
        [
          ['stdout', '0123456789'],
          ['stdout', 'abcdefghij'],
          ['stderr', 'zz'],
        ],
        state,
      ),
      15,
    );
    h.streams.handle({ type: 'logOpen', streamId: 's2', taskId: 't', tail: null, follow: false });
    await tick();
    expect(h.text()).toBe('stdout:0123456789stdout:abcde');
    const ends = h.sent.filter((m) => m.type === 'logEnd');
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({
      streamId: 's2',
      error: expect.stringContaining('cut after 15 characters'),
    });
    expect(state.open).toBe(false);
  });

  it('never cuts a following stream; closing it closes the runtime stream', async () => {
    const state = { open: true };
    const h = harness(
      fixedLog(
        [
          ['stdout', '0123456789'],
          ['stdout', 'abcdefghij'],
        ],
        state,
      ),
      5,
    );
    h.streams.handle({ type: 'logOpen', streamId: 's3', taskId: 't', tail: 10, follow: true });
    await tick();
    expect(h.text()).toBe('stdout:0123456789stdout:abcdefghij');
    expect(h.sent.some((m) => m.type === 'logEnd')).toBe(false);
    h.streams.handle({ type: 'logClose', streamId: 's3' });
    expect(state.open).toBe(false);
  });
});

import type { ControlMessage } from '@atoll/spec';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChangeBus } from '../bus';
import type { Services } from '../context';
import { PushedView } from './pushed-view';

/** A view whose value the test sets; PostgreSQL is a stub whose fingerprint changes on demand. */
class TestView extends PushedView<{ body: string }> {
  value = { body: '' };
  computes = 0;
  protected compute(): Promise<{ body: string }> {
    this.computes++;
    return Promise.resolve(this.value);
  }
  protected message(view: { body: string }): ControlMessage {
    return { type: 'dnsView', view: view as never };
  }
}

describe('PushedView', () => {
  let fingerprint = 0;
  const sent: string[] = [];
  const s = {
    db: { pool: { query: () => Promise.resolve({ rows: [{ f: String(fingerprint) }] }) } },
    bus: new ChangeBus(),
    agents: {
      send: (nodeId: string) => sent.push(nodeId) > 0,
      isConnected: () => true,
      localNodes: () => ['a', 'b'],
    },
    log: { warn: () => undefined },
  } as unknown as Pick<Services, 'db' | 'bus' | 'agents' | 'log'>;

  beforeEach(() => {
    vi.useFakeTimers();
    sent.length = 0;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('pushes a changed view to the agents this replica holds, and skips unchanged inputs', async () => {
    const view = new TestView(s, { body: '' }, { what: 'test view', debounceMs: 10 });
    view.value = { body: 'v1' };
    await view.rebuild();
    expect(sent).toEqual(['a', 'b']);
    expect(view.computes).toBe(1);
    // Same fingerprint: not computed again.
    await view.rebuild();
    expect(view.computes).toBe(1);
    fingerprint++;
    view.value = { body: 'v2' };
    await view.rebuild();
    expect(view.computes).toBe(2);
    expect(sent).toEqual(['a', 'b', 'a', 'b']);
  });

  it('waits after a big push before the next scheduled rebuild, in proportion to its bytes', async () => {
    const view = new TestView(s, { body: '' }, { what: 'test view', debounceMs: 10 });
    // 10 Mi characters to 2 agents: 20 MiB at 200 MiB/s is 100 ms before the next rebuild.
    fingerprint++;
    view.value = { body: 'x'.repeat(10 * 1024 * 1024) };
    await view.rebuild();
    expect(view.computes).toBe(1);
    fingerprint++;
    view.value = { body: 'small' };
    view.schedule();
    await vi.advanceTimersByTimeAsync(50);
    expect(view.computes).toBe(1);
    await vi.advanceTimersByTimeAsync(60);
    expect(view.computes).toBe(2);
    // The small view leaves almost no spacing: the next change goes out after the debounce.
    fingerprint++;
    view.schedule();
    await vi.advanceTimersByTimeAsync(11);
    expect(view.computes).toBe(3);
  });
});

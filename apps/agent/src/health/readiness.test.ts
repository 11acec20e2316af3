import { describe, expect, it } from 'vitest';
import { readinessChanged, readyStatus, summarizeReadiness } from './readiness';

describe('readiness', () => {
  it('is ready iff the status is one of httpStatusCodesForReady', () => {
    expect(readyStatus(200, [200])).toBe(true);
    expect(readyStatus(204, [200])).toBe(false);
    expect(readyStatus(503, [200, 503])).toBe(true);
  });

  it('summarizes only once every check has a result, and keeps errors local', () => {
    expect(summarizeReadiness([])).toBeUndefined();
    expect(
      summarizeReadiness([{ name: 'a', ready: true, lastResponse: { status: 200 } }, undefined]),
    ).toBeUndefined();
    expect(
      summarizeReadiness([
        { name: 'a', ready: true, lastResponse: { status: 200 } },
        { name: 'b', ready: false, error: 'ECONNREFUSED' },
      ]),
    ).toEqual({
      ready: false,
      results: [
        { name: 'a', ready: true, lastResponse: { status: 200 } },
        { name: 'b', ready: false },
      ],
    });
  });

  it('reports the first summary and flips, not repeats', () => {
    const notReady = summarizeReadiness([{ name: 'a', ready: false, lastResponse: { status: 503 } }]);
    const stillNot = summarizeReadiness([{ name: 'a', ready: false, error: 'timeout' }]);
    const ready = summarizeReadiness([{ name: 'a', ready: true, lastResponse: { status: 200 } }]);
    if (!notReady || !stillNot || !ready) throw new Error('summaries expected');
    expect(readinessChanged(undefined, notReady)).toBe(true);
    expect(readinessChanged(notReady, stillNot)).toBe(false);
    expect(readinessChanged(stillNot, ready)).toBe(true);
    expect(readinessChanged(ready, ready)).toBe(false);
  });
});

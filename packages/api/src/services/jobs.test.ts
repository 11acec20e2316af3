import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSchedule, newRunId, nextRunTimes, restartDelaySeconds } from './jobs';

const local = (iso: string, timeZone: string) =>
  new Date(iso).toLocaleString('en-GB', { timeZone, hour12: false }).replace(',', '');

describe('job schedules (cron with croner)', () => {
  it('checks the expression and the time zone, naming the field', () => {
    expect(checkSchedule({ cron: '*/5 * * * *', timezone: 'UTC' })).toEqual([]);
    expect(checkSchedule({ cron: '@hourly', timezone: 'Europe/Berlin' })).toEqual([]);
    expect(checkSchedule({ cron: '0 * * * * *', timezone: 'UTC' })[0]?.path).toBe('cron');
    expect(checkSchedule({ cron: '61 * * * *', timezone: 'UTC' })[0]?.path).toBe('cron');
    expect(checkSchedule({ cron: 'every day', timezone: 'UTC' })[0]?.path).toBe('cron');
    expect(checkSchedule({ cron: '* * * * *', timezone: 'Mars/Olympus' })[0]?.path).toBe('timezone');
    expect(checkSchedule({ cron: '* * 31 2 *', timezone: 'UTC' }, 'schedules.0.')[0]?.path).toBe(
      'schedules.0.cron',
    );
  });

  it('counts in the schedule time zone', () => {
    const times = nextRunTimes(
      { cron: '0 9 * * 1-5', timezone: 'America/Chicago' },
      3,
      new Date('2026-12-04T12:00:00Z'),
    );
    // Friday 4 Dec 2026, 06:00 in Chicago: the next weekday 09:00 are Fri 4, Mon 7, Tue 8 (CST, UTC-6).
    expect(times).toEqual([
      '2026-12-04T15:00:00.000Z',
      '2026-12-07T15:00:00.000Z',
      '2026-12-08T15:00:00.000Z',
    ]);
  });

  it('spring forward: a local time that does not exist fires once, in the hour after', () => {
    const times = nextRunTimes(
      { cron: '30 2 * * *', timezone: 'America/New_York' },
      3,
      new Date('2026-03-07T12:00:00Z'),
    );
    expect(times.map((t) => local(t, 'America/New_York'))).toEqual([
      '08/03/2026 03:30:00',
      '09/03/2026 02:30:00',
      '10/03/2026 02:30:00',
    ]);
  });

  it('fall back: a local time that occurs twice fires once', () => {
    const times = nextRunTimes(
      { cron: '30 1 * * *', timezone: 'America/New_York' },
      3,
      new Date('2026-10-31T12:00:00Z'),
    );
    expect(times).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
      '2026-11-03T06:30:00.000Z',
    ]);
  });

  it('the next times always move forward and match the expression in its zone (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 23 }),
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'),
        fc.date({
          min: new Date('2026-01-01T00:00:00Z'),
          max: new Date('2027-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        (minute, hour, timezone, from) => {
          const times = nextRunTimes({ cron: `${minute} ${hour} * * *`, timezone }, 4, from).map(
            (t) => new Date(t),
          );
          let prev = from.getTime();
          for (const t of times) {
            expect(t.getTime()).toBeGreaterThan(prev);
            prev = t.getTime();
            const parts = new Intl.DateTimeFormat('en-GB', {
              timeZone: timezone,
              hour: '2-digit',
              minute: '2-digit',
              hourCycle: 'h23',
            }).formatToParts(t);
            const m = Number(parts.find((p) => p.type === 'minute')!.value);
            // Only a DST gap moves a time (by the gap); the minute of the hour stays unless the gap is 30 min.
            if (timezone !== 'Australia/Lord_Howe' && timezone !== 'Asia/Kolkata') expect(m).toBe(minute);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('runs', () => {
  it("ids are Metronome's: the UTC creation time and five random characters", () => {
    const id = newRunId(new Date('2026-12-05T14:03:09.123Z'));
    expect(id).toMatch(/^20261205140309[A-Za-z0-9]{5}$/);
    expect(newRunId(new Date())).not.toBe(newRunId(new Date()));
  });

  it('ON_FAILURE waits 1, 2, 4, … seconds between attempts, capped by maxLaunchDelay', () => {
    expect([1, 2, 3, 4, 5].map((n) => restartDelaySeconds(n, 3600))).toEqual([1, 2, 4, 8, 16]);
    expect(restartDelaySeconds(30, 60)).toBe(60);
    expect(restartDelaySeconds(0, 60)).toBe(1);
  });
});

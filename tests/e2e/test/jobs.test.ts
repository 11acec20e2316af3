import path from 'node:path';
import Docker from 'dockerode';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCluster } from '@atoll/control/testing';
import { consoleSession, e2eMissing, fillEditor, IMAGE, shots } from './support';

const missing = await e2eMissing();
const JOB = 'e2e.hello';
const SLEEPER = 'e2e.sleeper';

describe.skipIf(missing !== null)('jobs in the console, end to end', () => {
  let cluster: TestCluster;
  let page: Page;
  let close: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    ({ cluster, page, close } = await consoleSession());
  });
  afterAll(async () => {
    await close();
    // Nothing of the job's runs stays behind.
    const docker = new Docker();
    for (const id of [JOB, SLEEPER]) {
      const left = await docker.listContainers({ all: true, filters: { label: [`io.atoll.app-id=${id}`] } });
      for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
    }
  });

  it('creates a job in the form, with the cron helper showing the next runs', async () => {
    await page.getByTestId('nav-jobs').click();
    await page.waitForURL(/\/jobs$/);
    await page.getByText('No jobs yet.').waitFor();
    await page.getByTestId('new-job').click();
    await page.waitForURL(/\/jobs\/new/);

    await page.getByTestId('job-id').fill(JOB);
    await page.getByTestId('job-description').fill('Says hello from the e2e test');
    await page.getByTestId('job-cmd').fill('echo hello-e2e-job');
    await page.getByTestId('job-image').fill(IMAGE);
    await page.getByTestId('job-cpus').fill('0.05');
    await page.getByTestId('job-mem').fill('32');

    // The schedule: a wrong cron says why, a right one lists its next five times in its zone.
    await page.getByTestId('job-scheduled').click();
    await page.getByTestId('schedule-cron').fill('0 3 * *');
    await expect
      .poll(() => page.getByTestId('cron-error').textContent(), { timeout: 15_000 })
      .toMatch(/five fields/);
    await page.getByTestId('schedule-cron').fill('30 3 * * *');
    await page.getByTestId('schedule-timezone').fill('Europe/Berlin');
    await expect.poll(() => page.getByTestId('cron-helper').getAttribute('data-stale')).toBe('false');
    expect(await page.getByTestId('cron-next').count()).toBe(5);
    await expect
      .poll(async () => (await page.getByTestId('cron-next').allTextContents()).every((t) => /03:30/.test(t)))
      .toBe(true);
    expect(await page.getByTestId('cron-helper').textContent()).toContain('Europe/Berlin');
    await page.screenshot({ path: path.join(shots, 'job-new.png'), fullPage: true });

    // The JSON tab holds the same job, as Metronome's JSON with its schedule.
    await page.getByTestId('tab-json').click();
    const json = page.getByTestId('json-editor').locator('.cm-content');
    await expect.poll(async () => (await json.textContent()) ?? '').toContain('"cron": "30 3 * * *"');
    expect(await json.textContent()).toContain('"image": "atoll-test-busybox:latest"');

    await page.getByTestId('job-save').click();
    await page.waitForURL(/\/jobs\/detail\?id=e2e\.hello/);
    await expect.poll(() => page.getByTestId('job-status').getAttribute('data-status')).toBe('Scheduled');
  });

  it('runs it now, sees SUCCESS in the runs list and reads the task log', async () => {
    await page.getByTestId('job-run-now').click();
    const row = page.getByTestId('run-row').first();
    await expect
      .poll(() => row.getAttribute('data-status'), { timeout: 120_000, interval: 500 })
      .toBe('SUCCESS');
    await expect.poll(() => page.getByTestId('job-success-count').textContent()).toContain('1');

    // The run started from Run now is the open one: its task and the task's log.
    const task = page.getByTestId('run-task-row').first();
    await expect.poll(() => task.getAttribute('data-state')).toBe('TASK_FINISHED');
    await task.getByTestId('run-task-log').click();
    await expect
      .poll(async () => (await page.getByTestId('log-line').allTextContents()).join('\n'), {
        timeout: 30_000,
      })
      .toContain('hello-e2e-job');
    await page.screenshot({ path: path.join(shots, 'job-detail.png'), fullPage: true });
  });

  it('lists the job with its schedule, next and last run', async () => {
    await page.getByTestId('nav-jobs').click();
    await page.waitForURL(/\/jobs$/);
    const row = page.locator(`[data-testid="job-row"][data-id="${JOB}"]`);
    await row.waitFor();
    expect(await row.getByTestId('job-schedule').textContent()).toContain('30 3 * * *');
    expect(await row.getByTestId('job-next').textContent()).toMatch(/^in /);
    await expect.poll(() => row.getByTestId('job-last').textContent()).toContain('SUCCESS');
    expect(await row.getByTestId('job-status').getAttribute('data-status')).toBe('Scheduled');
    await page.screenshot({ path: path.join(shots, 'jobs.png'), fullPage: true });
  });

  it("shows the run's events in the Events page", async () => {
    await page.getByTestId('nav-events').click();
    await page.waitForURL(/\/events/);
    await page.getByTestId('events-filter').fill(JOB);
    await expect
      .poll(async () => page.locator('[data-testid="event-row"][data-type="job_run_finished"]').count())
      .toBeGreaterThan(0);
    expect(
      await page.locator('[data-testid="event-row"][data-type="job_run_started"]').count(),
    ).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="event-row"][data-type="job_created"]').count()).toBe(1);
  });

  it('edits it, disables its schedule, adds another, then deletes it after confirming', async () => {
    await page.goto(`${cluster.url}/jobs/detail?id=${JOB}`);
    await page.getByTestId('job-edit').click();
    await page.waitForURL(/\/jobs\/edit/);
    expect(await page.getByTestId('job-cmd').inputValue()).toBe('echo hello-e2e-job');
    await page.getByTestId('job-description').fill('Says hello, edited');
    await page.getByTestId('job-save').click();
    await page.waitForURL(/\/jobs\/detail/);
    await page.getByText('Says hello, edited').waitFor();

    await page.getByTestId('tab-schedules').click();
    const toggle = page.getByTestId('schedule-toggle').first();
    expect(await toggle.getAttribute('aria-checked')).toBe('true');
    await page.screenshot({ path: path.join(shots, 'job-schedules.png'), fullPage: true });
    await toggle.click();
    await expect.poll(() => toggle.getAttribute('aria-checked')).toBe('false');
    await expect.poll(() => page.getByTestId('job-status').getAttribute('data-status')).toBe('Idle');

    await page.getByTestId('schedule-add').click();
    const dialog = page.getByTestId('schedule-dialog');
    await dialog.getByTestId('schedule-id').fill('every-ten');
    await dialog.getByTestId('schedule-cron').fill('*/10 * * * *');
    await expect.poll(() => dialog.getByTestId('cron-helper').getAttribute('data-stale')).toBe('false');
    // Every ten minutes: five times ten minutes apart.
    const times = await dialog.getByTestId('cron-next').locator('span:first-child').allTextContents();
    const minutes = times.map((t) => Date.parse(t.replace(/^\w+, /, '')) / 60_000);
    expect(minutes).toHaveLength(5);
    expect(minutes.slice(1).map((m, i) => m - minutes[i]!)).toEqual([10, 10, 10, 10]);
    await page.screenshot({ path: path.join(shots, 'job-schedule-dialog.png') });
    await dialog.getByTestId('schedule-save').click();
    await expect.poll(() => page.getByTestId('schedule-row').count()).toBe(2);
    await expect.poll(() => page.getByTestId('job-status').getAttribute('data-status')).toBe('Scheduled');

    await page.getByTestId('job-delete').click();
    expect(await page.getByTestId('job-delete-message').textContent()).toContain(
      `Delete the job ${JOB}, its 2 schedules and its run history.`,
    );
    await page.getByTestId('job-delete-confirm').click();
    await page.waitForURL(/\/jobs$/);
    await page.getByText('No jobs yet.').waitFor();
  });

  it("creates a job from Metronome's JSON, stops its run, and deletes it while a run is active", async () => {
    await page.goto(`${cluster.url}/jobs/new`);
    await page.getByTestId('tab-json').click();
    await fillEditor(page, 'json-editor', {
      id: SLEEPER,
      run: { cmd: 'sleep 300', cpus: 0.05, mem: 32, disk: 0, docker: { image: IMAGE } },
    });
    // The form follows the JSON.
    await page.getByTestId('tab-form').click();
    expect(await page.getByTestId('job-id').inputValue()).toBe(SLEEPER);
    expect(await page.getByTestId('job-cmd').inputValue()).toBe('sleep 300');
    await page.getByTestId('job-save').click();
    await page.waitForURL(/\/jobs\/detail\?id=e2e\.sleeper/);
    expect(await page.getByTestId('job-status').getAttribute('data-status')).toBe('Idle');

    const run = page.getByTestId('run-row').first();
    const startRun = async () => {
      await page.getByTestId('job-run-now').click();
      await expect
        .poll(() => page.getByTestId('run-row').first().getAttribute('data-status'), { timeout: 60_000 })
        .toBe('ACTIVE');
      await expect.poll(() => page.getByTestId('job-status').getAttribute('data-status')).toBe('Running');
    };
    await startRun();
    await run.getByTestId('run-stop').click();
    await page.getByTestId('run-stop-confirm').click();
    await expect.poll(() => run.getAttribute('data-status'), { timeout: 60_000 }).toBe('FAILED');
    await expect.poll(() => page.getByTestId('job-failure-count').textContent()).toContain('1');

    await startRun();
    await page.getByTestId('job-delete').click();
    expect(await page.getByTestId('job-delete-message').textContent()).toContain(
      'and stop its 1 active run (their tasks are killed)',
    );
    await page.getByTestId('job-delete-confirm').click();
    await page.waitForURL(/\/jobs$/);
    await page.getByText('No jobs yet.').waitFor();
  });
});

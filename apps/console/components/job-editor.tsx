'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useState } from 'react';
import {
  constraintOperators,
  formToJob,
  initialJobForm,
  jobFieldForIssue,
  jobToForm,
  restartPolicies,
  type ConstraintRow,
  type JobField,
  type JobForm,
} from '../lib/job-form';
import { jobHref } from '../lib/links';
import { parseJsonText, toJsonText, type EnvRow, type Json } from '../lib/service-form';
import { errorCode, errorMessage, fieldIssues, useTRPC } from '../lib/trpc';
import type { Job } from '../lib/types';
import { Field, ScheduleFields, Toggle } from './jobs';
import { JsonEditor } from './json-editor';
import { Button, Card, FieldError, PageHeader, Tabs, cx, inputClass } from './ui';

type Issues = Partial<Record<JobField | 'general', string[]>>;
type Tab = 'form' | 'json';

function issuesOf(err: unknown, creating: boolean): Issues {
  const next: Issues = {};
  for (const issue of fieldIssues(err)) {
    const field = jobFieldForIssue(issue.path) ?? 'general';
    const msg = field === 'general' ? `${issue.path}: ${issue.message}` : issue.message;
    (next[field] ??= []).push(msg);
  }
  if (Object.keys(next).length === 0) {
    const onId = creating && errorCode(err) === 'CONFLICT';
    (next[onId ? 'id' : 'general'] ??= []).push(errorMessage(err));
  }
  return next;
}

/** The job as PUT takes it: its definition without what the API adds. */
export function jobDefinition(job: Job): Json {
  const { activeRuns: _a, schedules: _s, history: _h, historySummary: _hs, ...def } = job;
  return def;
}

/**
 * The new-job form (general, container, restart, schedule, environment, placement) and a JSON tab
 * with Metronome's job JSON, kept in sync. Creating sends `jobs.create` with the job and its one
 * schedule (as `dcos job add`); editing sends `jobs.update`, which replaces the run spec and leaves
 * the schedules to the job's page.
 */
export function JobEditor(
  props: ({ mode: 'create' } | { mode: 'edit'; job: Job }) & { initialTab?: 'form' | 'json' },
) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const editing = props.mode === 'edit' ? props.job : null;
  const [original] = useState<Json>(() =>
    editing ? jobDefinition(editing) : formToJob({ ...initialJobForm, scheduled: false }),
  );
  const [form, setForm] = useState<JobForm>(() => (editing ? jobToForm(original) : initialJobForm));
  const [def, setDef] = useState<Json>(original);
  const [text, setText] = useState(() => toJsonText(original));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [issues, setIssues] = useState<Issues>({});
  const [tab, setTab] = useState<Tab>(props.initialTab ?? 'form');

  const done = useCallback(
    async (id: string) => {
      await queryClient.invalidateQueries({ queryKey: trpc.jobs.pathKey() });
      router.push(jobHref(id));
    },
    [queryClient, router, trpc],
  );
  const create = useMutation(
    trpc.jobs.create.mutationOptions({
      onSuccess: (job) => done(job.id),
      onError: (err) => setIssues(issuesOf(err, true)),
    }),
  );
  const update = useMutation(
    trpc.jobs.update.mutationOptions({
      onSuccess: (job) => done(job.id),
      onError: (err) => setIssues(issuesOf(err, false)),
    }),
  );
  const pending = create.isPending || update.isPending;

  const change = useCallback(
    (patch: Partial<JobForm>, field?: JobField) => {
      const nextForm = { ...form, ...patch };
      const nextDef = formToJob(nextForm, def, !editing);
      setForm(nextForm);
      setDef(nextDef);
      setText(toJsonText(nextDef));
      setJsonError(null);
      if (field) setIssues(({ [field]: _dropped, ...rest }) => rest);
    },
    [form, def, editing],
  );

  const onJsonChange = useCallback((value: string) => {
    setText(value);
    const parsed = parseJsonText(value);
    if (!parsed.ok) {
      setJsonError(parsed.error);
      return;
    }
    setJsonError(null);
    setDef(parsed.value);
    setForm((f) => jobToForm(parsed.value, f));
  }, []);

  const save = useCallback(() => {
    if (jsonError || pending) return;
    setIssues({});
    if (editing) update.mutate({ id: editing.id, job: def });
    else create.mutate({ job: def });
  }, [jsonError, pending, editing, update, create, def]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) {
        e.preventDefault();
        save();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [save]);

  // Errors the form cannot place show above both tabs, so they are seen from either.
  const formErrors = Object.entries(issues).filter(([k]) => k !== 'general').length;

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
      noValidate
    >
      <PageHeader
        crumbs={[
          { href: '/jobs', label: 'Jobs' },
          ...(editing ? [{ href: jobHref(editing.id), label: editing.id }] : []),
        ]}
        title={editing ? `Edit ${editing.id}` : 'New job'}
        subtitle={
          editing
            ? 'Saving replaces the job’s run spec; its schedules and runs stay.'
            : 'Fill in the form or paste Metronome job JSON; both stay in sync.'
        }
        actions={
          <>
            <Button onClick={() => router.push(editing ? jobHref(editing.id) : '/jobs')}>Cancel</Button>
            <Button
              type="submit"
              variant="primary"
              disabled={!!jsonError || pending}
              data-testid="job-save"
              title="Save (Ctrl+Enter)"
            >
              {pending ? 'Saving…' : editing ? 'Save changes' : 'Create job'}
            </Button>
          </>
        }
      />
      <Tabs
        tabs={[
          { key: 'form', label: 'Form' },
          { key: 'json', label: 'JSON' },
        ]}
        active={tab}
        onChange={setTab}
      />
      {(issues.general || jsonError || (tab === 'json' && formErrors > 0)) && (
        <div
          className="mb-4 rounded-md border border-red-500/30 bg-red-500/8 px-4 py-2"
          data-testid="editor-errors"
        >
          {jsonError && <FieldError>Invalid JSON: {jsonError}</FieldError>}
          {issues.general?.map((m) => (
            <FieldError key={m}>{m}</FieldError>
          ))}
          {tab === 'json' &&
            Object.entries(issues)
              .filter(([k]) => k !== 'general')
              .flatMap(([k, ms]) => ms.map((m) => <FieldError key={`${k}${m}`}>{`${k}: ${m}`}</FieldError>))}
        </div>
      )}

      {tab === 'json' ? (
        <Card title="Metronome job JSON">
          <div className="h-[calc(100vh-16rem)] min-h-80 overflow-hidden" data-testid="json-editor">
            <JsonEditor value={text} onChange={onJsonChange} ariaLabel="Job definition (JSON)" />
          </div>
        </Card>
      ) : (
        <div className="grid gap-4 lg:grid-cols-2">
          <div className="space-y-4">
            <Card title="General">
              <div className="space-y-4 p-4">
                <Field
                  label="Job ID"
                  hint={
                    editing
                      ? 'The id of an existing job cannot change.'
                      : 'Lowercase letters, digits and dashes; dots make a path, e.g. prod.reports.nightly.'
                  }
                  errors={issues.id}
                >
                  {(p) => (
                    <input
                      {...p}
                      className={cx(inputClass, editing && 'text-muted')}
                      value={form.id}
                      onChange={(e) => change({ id: e.target.value }, 'id')}
                      placeholder="prod.reports.nightly"
                      readOnly={editing !== null}
                      autoFocus={editing === null}
                      spellCheck={false}
                      data-testid="job-id"
                    />
                  )}
                </Field>
                <Field label="Description" errors={issues.description}>
                  {(p) => (
                    <input
                      {...p}
                      className={inputClass}
                      value={form.description}
                      onChange={(e) => change({ description: e.target.value }, 'description')}
                      placeholder="What the job does"
                      data-testid="job-description"
                    />
                  )}
                </Field>
              </div>
            </Card>

            <Card title="Container">
              <div className="space-y-4 p-4">
                <Field
                  label="Command"
                  hint={
                    form.image.trim() ? 'Optional: overrides the image command (sh -c).' : 'Runs with sh -c.'
                  }
                  errors={issues.cmd}
                >
                  {(p) => (
                    <textarea
                      {...p}
                      className={cx(inputClass, 'h-16 resize-y py-1.5 font-mono text-xs')}
                      value={form.cmd}
                      onChange={(e) => change({ cmd: e.target.value }, 'cmd')}
                      placeholder="./backup.sh --to s3://bucket"
                      spellCheck={false}
                      data-testid="job-cmd"
                    />
                  )}
                </Field>
                <Field
                  label="Container image"
                  hint="Optional Docker image; without one the command runs on the host."
                  errors={issues.image}
                >
                  {(p) => (
                    <input
                      {...p}
                      className={inputClass}
                      value={form.image}
                      onChange={(e) => change({ image: e.target.value }, 'image')}
                      placeholder="busybox:1.36"
                      spellCheck={false}
                      data-testid="job-image"
                    />
                  )}
                </Field>
                <div className="grid grid-cols-3 gap-4">
                  <Field label="CPUs" errors={issues.cpus}>
                    {(p) => (
                      <input
                        {...p}
                        type="number"
                        min={0.01}
                        step={0.1}
                        className={inputClass}
                        value={form.cpus}
                        onChange={(e) => change({ cpus: e.target.value }, 'cpus')}
                        data-testid="job-cpus"
                      />
                    )}
                  </Field>
                  <Field label="Memory (MiB)" errors={issues.mem}>
                    {(p) => (
                      <input
                        {...p}
                        type="number"
                        min={32}
                        step={32}
                        className={inputClass}
                        value={form.mem}
                        onChange={(e) => change({ mem: e.target.value }, 'mem')}
                        data-testid="job-mem"
                      />
                    )}
                  </Field>
                  <Field label="Disk (MiB)" errors={issues.disk}>
                    {(p) => (
                      <input
                        {...p}
                        type="number"
                        min={0}
                        className={inputClass}
                        value={form.disk}
                        onChange={(e) => change({ disk: e.target.value }, 'disk')}
                        data-testid="job-disk"
                      />
                    )}
                  </Field>
                </div>
                <div className="grid grid-cols-2 gap-4">
                  <Field
                    label="Restart policy"
                    hint={
                      form.restartPolicy === 'ON_FAILURE'
                        ? 'A failed task is started again, with back-off.'
                        : 'A failed task fails the run.'
                    }
                    errors={issues.restart}
                  >
                    {(p) => (
                      <select
                        {...p}
                        className={inputClass}
                        value={form.restartPolicy}
                        onChange={(e) => change({ restartPolicy: e.target.value }, 'restart')}
                        data-testid="job-restart"
                      >
                        {restartPolicies.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    )}
                  </Field>
                  <Field
                    label="Active deadline (s)"
                    hint="Restarts stop after this long; empty: no deadline."
                  >
                    {(p) => (
                      <input
                        {...p}
                        type="number"
                        min={0}
                        className={inputClass}
                        value={form.activeDeadlineSeconds}
                        onChange={(e) => change({ activeDeadlineSeconds: e.target.value }, 'restart')}
                        placeholder="none"
                        data-testid="job-deadline"
                      />
                    )}
                  </Field>
                </div>
              </div>
            </Card>
          </div>

          <div className="space-y-4">
            {!editing && (
              <Card
                title="Schedule"
                actions={
                  <label className="flex items-center gap-2 text-xs text-muted">
                    <Toggle
                      on={form.scheduled}
                      onChange={(scheduled) => change({ scheduled })}
                      label={form.scheduled ? 'Runs on a schedule' : 'Runs only when started'}
                      testId="job-scheduled"
                    />
                    {form.scheduled ? 'On a schedule' : 'Run on demand only'}
                  </label>
                }
              >
                <div className="p-4">
                  {form.scheduled ? (
                    <ScheduleFields
                      value={form.schedule}
                      issues={issues}
                      onChange={(patch, field) => change({ schedule: { ...form.schedule, ...patch } }, field)}
                    />
                  ) : (
                    <p className="text-sm text-muted">
                      The job runs when started (Run now, the CLI or the API). Switch on to give it a cron
                      schedule; more schedules can be added on the job’s page.
                    </p>
                  )}
                </div>
              </Card>
            )}
            <Card title="Environment">
              <div className="p-4">
                <EnvRows rows={form.env} errors={issues.env} onChange={(env) => change({ env }, 'env')} />
              </div>
            </Card>
            <Card title="Placement">
              <div className="p-4">
                <ConstraintRows
                  rows={form.constraints}
                  errors={issues.constraints}
                  onChange={(constraints) => change({ constraints }, 'constraints')}
                />
              </div>
            </Card>
          </div>
        </div>
      )}
    </form>
  );
}

function EnvRows({
  rows,
  errors,
  onChange,
}: {
  rows: EnvRow[];
  errors?: string[] | undefined;
  onChange: (rows: EnvRow[]) => void;
}) {
  const set = (i: number, patch: Partial<EnvRow>) =>
    onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset>
      <legend className="sr-only">Environment variables</legend>
      {rows.length === 0 && <p className="mb-2 text-sm text-muted">No environment variables.</p>}
      {rows.length > 0 && (
        <div className="mb-2 space-y-2">
          {rows.map((r, i) => (
            <div key={i} className="flex gap-2" data-testid="env-row">
              <input
                className={cx(inputClass, 'font-mono text-xs')}
                value={r.key}
                onChange={(e) => set(i, { key: e.target.value })}
                placeholder="NAME"
                aria-label={`Variable ${i + 1} name`}
                spellCheck={false}
                data-testid="env-key"
              />
              <input
                className={cx(inputClass, 'font-mono text-xs')}
                value={r.value}
                onChange={(e) => set(i, { value: e.target.value })}
                placeholder="value"
                aria-label={`Variable ${i + 1} value`}
                spellCheck={false}
                data-testid="env-value"
              />
              <Button
                variant="ghost"
                onClick={() => onChange(rows.filter((_, j) => j !== i))}
                aria-label={`Remove variable ${r.key || i + 1}`}
              >
                ✕
              </Button>
            </div>
          ))}
        </div>
      )}
      <Button size="sm" onClick={() => onChange([...rows, { key: '', value: '' }])} data-testid="env-add">
        Add variable
      </Button>
      {errors?.map((m) => (
        <FieldError key={m}>{m}</FieldError>
      ))}
    </fieldset>
  );
}

function ConstraintRows({
  rows,
  errors,
  onChange,
}: {
  rows: ConstraintRow[];
  errors?: string[] | undefined;
  onChange: (rows: ConstraintRow[]) => void;
}) {
  const set = (i: number, patch: Partial<ConstraintRow>) =>
    onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset>
      <legend className="sr-only">Placement constraints</legend>
      {rows.length === 0 && (
        <p className="mb-2 text-sm text-muted">
          Any node with the resources free. Constraints narrow it down.
        </p>
      )}
      {rows.length > 0 && (
        <div className="mb-2 space-y-2">
          {rows.map((r, i) => (
            <div key={i} className="flex gap-2" data-testid="constraint-row">
              <input
                className={cx(inputClass, 'font-mono text-xs')}
                value={r.attribute}
                onChange={(e) => set(i, { attribute: e.target.value })}
                placeholder="hostname"
                aria-label={`Constraint ${i + 1} attribute`}
                spellCheck={false}
              />
              <select
                className={cx(inputClass, 'w-32 shrink-0')}
                value={r.operator}
                onChange={(e) => set(i, { operator: e.target.value })}
                aria-label={`Constraint ${i + 1} operator`}
              >
                {constraintOperators.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
              <input
                className={cx(inputClass, 'font-mono text-xs')}
                value={r.value}
                onChange={(e) => set(i, { value: e.target.value })}
                placeholder="value"
                aria-label={`Constraint ${i + 1} value`}
                spellCheck={false}
              />
              <Button
                variant="ghost"
                onClick={() => onChange(rows.filter((_, j) => j !== i))}
                aria-label={`Remove constraint ${i + 1}`}
              >
                ✕
              </Button>
            </div>
          ))}
        </div>
      )}
      <Button
        size="sm"
        onClick={() => onChange([...rows, { attribute: '', operator: 'IS', value: '' }])}
        data-testid="constraint-add"
      >
        Add constraint
      </Button>
      {errors?.map((m) => (
        <FieldError key={m}>{m}</FieldError>
      ))}
    </fieldset>
  );
}

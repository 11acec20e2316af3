'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useId, useMemo, useState, type ReactNode } from 'react';
import { canonicalJson, diffText } from '../lib/diff';
import { serviceHref } from '../lib/links';
import {
  definitionToForm,
  fieldForIssue,
  formToDefinition,
  initialForm,
  parseJsonText,
  toJsonText,
  type FormField,
  type Json,
  type ServiceForm,
} from '../lib/service-form';
import { errorCode, errorMessage, fieldIssues, isLocked, useTRPC } from '../lib/trpc';
import type { AppDetail } from '../lib/types';
import { DiffStats, DiffView } from './diff-view';
import { JsonEditor } from './json-editor';
import { SecretEnvEditor } from './secrets';
import { Button, Card, FieldError, MutationError, PageHeader, cx, inputClass } from './ui';

type Issues = Partial<Record<FormField | 'general', string[]>>;

/** Status fields Marathon adds to an app view; they are not part of its definition. */
export const readOnlyFields = [
  'version',
  'versionInfo',
  'tasksStaged',
  'tasksRunning',
  'tasksHealthy',
  'tasksUnhealthy',
  'deployments',
  'tasks',
  'lastTaskFailure',
  'atoll',
] as const;

/** The app definition inside an app view (what a PUT of the whole app would send). */
export function definitionOf(app: AppDetail | Record<string, unknown>): Json {
  const def: Json = { ...app };
  for (const k of readOnlyFields) delete def[k];
  return def;
}

function issuesOf(err: unknown, mode: 'create' | 'edit'): Issues {
  const next: Issues = {};
  if (isLocked(err)) return next; // shown with its Force button instead
  for (const issue of fieldIssues(err)) {
    const field = fieldForIssue(issue.path) ?? 'general';
    const msg = field === 'general' ? `${issue.path}: ${issue.message}` : issue.message;
    (next[field] ??= []).push(msg);
  }
  if (Object.keys(next).length === 0) {
    // No field named: an id clash names the id, anything else goes under the editor.
    const onId = mode === 'create' && errorCode(err) === 'CONFLICT';
    (next[onId ? 'id' : 'general'] ??= []).push(errorMessage(err));
  }
  return next;
}

/**
 * The "Run a service" form beside a JSON editor that stays in sync with it. Creating sends
 * `apps.create`; editing starts from the app's current definition and sends `apps.update` with
 * `partial: false` (the whole definition, as Marathon's PUT), which makes a new version and a
 * deployment. A write on an app under deployment is refused with the lock message and can be
 * forced from here.
 */
export function ServiceEditor(
  props: { mode: 'create'; switcher?: ReactNode } | { mode: 'edit'; app: AppDetail },
) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const editing = props.mode === 'edit' ? props.app : null;
  const [original] = useState<Json>(() => (editing ? definitionOf(editing) : formToDefinition(initialForm)));
  const [openedAt] = useState(() => editing?.versionInfo.lastConfigChangeAt ?? null);
  const [form, setForm] = useState<ServiceForm>(() => (editing ? definitionToForm(original) : initialForm));
  const [def, setDef] = useState<Json>(original);
  const [text, setText] = useState(() => toJsonText(original));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [issues, setIssues] = useState<Issues>({});

  const done = useCallback(
    async (id: string, tab?: string) => {
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() }),
        queryClient.invalidateQueries({ queryKey: trpc.deployments.pathKey() }),
      ]);
      router.push(serviceHref(id, tab));
    },
    [queryClient, router, trpc],
  );
  const create = useMutation(
    trpc.apps.create.mutationOptions({
      onSuccess: (res) => done(res.app.id),
      onError: (err) => setIssues(issuesOf(err, 'create')),
    }),
  );
  const update = useMutation(
    trpc.apps.update.mutationOptions({
      // The deployment this change started is what to watch next.
      onSuccess: (_res, vars) => done(vars.id, 'deployments'),
      onError: (err) => setIssues(issuesOf(err, 'edit')),
    }),
  );
  const pending = create.isPending || update.isPending;

  /** A form edit rewrites the JSON (from the last valid definition) and clears that field's error. */
  const change = useCallback(
    (patch: Partial<ServiceForm>, field: FormField) => {
      const nextForm = { ...form, ...patch };
      const nextDef = formToDefinition(nextForm, def);
      setForm(nextForm);
      setDef(nextDef);
      setText(toJsonText(nextDef));
      setJsonError(null);
      setIssues(({ [field]: _dropped, ...rest }) => rest);
    },
    [form, def],
  );

  /** A change made to the JSON by a part of the form that edits it directly (secret variables). */
  const changeJson = useCallback((nextDef: Json) => {
    setDef(nextDef);
    setText(toJsonText(nextDef));
    setJsonError(null);
    setForm((f) => definitionToForm(nextDef, f));
    setIssues(({ env: _dropped, ...rest }) => rest);
  }, []);

  /** A JSON edit updates the form when the text parses; otherwise it says why not. */
  const onJsonChange = useCallback((value: string) => {
    setText(value);
    const parsed = parseJsonText(value);
    if (!parsed.ok) {
      setJsonError(parsed.error);
      return;
    }
    setJsonError(null);
    setDef(parsed.value);
    setForm((f) => definitionToForm(parsed.value, f));
  }, []);

  const deploy = useCallback(
    (force = false) => {
      if (jsonError || pending) return;
      setIssues({});
      if (editing) update.mutate({ id: editing.id, definition: def, partial: false, force });
      else create.mutate({ definition: def });
    },
    [jsonError, pending, editing, update, create, def],
  );

  // Ctrl/Cmd+Enter deploys from anywhere on the page, the editor included.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) {
        e.preventDefault();
        deploy();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [deploy]);

  const changes = useMemo(
    () => (editing ? diffText(canonicalJson(original), canonicalJson({ ...def, id: editing.id })) : []),
    [editing, original, def],
  );
  const changed = changes.some((l) => l.op !== 'same');
  const mode = form.image.trim() ? 'docker' : 'command';
  const stale = editing !== null && openedAt !== null && editing.versionInfo.lastConfigChangeAt !== openedAt;

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        deploy();
      }}
      noValidate
    >
      <PageHeader
        crumbs={[
          { href: '/services', label: 'Services' },
          ...(editing ? [{ href: serviceHref(editing.id), label: editing.id.slice(1) }] : []),
        ]}
        title={editing ? `Edit ${editing.id}` : 'Run a service'}
        subtitle={
          editing
            ? 'Deploying a changed definition makes a new version and a deployment that replaces the tasks, rolling.'
            : 'Fill in the form or edit the Marathon app definition; both stay in sync.'
        }
        actions={
          <>
            <Button onClick={() => router.push(editing ? serviceHref(editing.id) : '/services')}>
              Cancel
            </Button>
            <Button
              type="submit"
              variant="primary"
              disabled={!!jsonError || pending}
              data-testid="deploy-button"
              title="Deploy (Ctrl+Enter)"
            >
              {pending ? 'Deploying…' : editing ? 'Deploy changes' : 'Deploy'}
            </Button>
          </>
        }
      />

      {props.mode === 'create' && props.switcher}
      {update.error && isLocked(update.error) && (
        <div className="mb-4">
          <MutationError error={update.error} onForce={() => deploy(true)} pending={update.isPending} />
        </div>
      )}
      {stale && (
        <div
          role="status"
          data-testid="edit-stale"
          className="mb-4 rounded-md border border-amber-500/40 bg-amber-500/10 px-4 py-3 text-sm text-amber-900 dark:text-amber-200"
        >
          {editing.id} changed since this page opened; deploying replaces that change with this definition.
        </div>
      )}

      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Service">
          <div className="space-y-5 p-4">
            <Field
              label="Service ID"
              hint={
                editing
                  ? 'The id of an existing service cannot change.'
                  : 'Lowercase letters, digits and hyphens; use / for groups, e.g. /prod/web.'
              }
              errors={issues.id}
            >
              {(p) => (
                <input
                  {...p}
                  className={cx(inputClass, editing && 'text-muted')}
                  value={form.id}
                  onChange={(e) => change({ id: e.target.value }, 'id')}
                  placeholder="/my-group/my-service"
                  readOnly={editing !== null}
                  autoFocus={editing === null}
                  data-testid="form-id"
                />
              )}
            </Field>

            <div className="grid gap-4 sm:grid-cols-2">
              <Field
                label="Container image"
                hint="Docker image; leave empty to run a command on the host."
                errors={issues.image}
              >
                {(p) => (
                  <input
                    {...p}
                    className={inputClass}
                    value={form.image}
                    onChange={(e) => change({ image: e.target.value }, 'image')}
                    placeholder="nginx:1.27"
                    spellCheck={false}
                    autoFocus={editing !== null}
                    data-testid="form-image"
                  />
                )}
              </Field>
              <Field
                label="Command"
                hint={
                  mode === 'docker' ? 'Optional: overrides the image command (sh -c).' : 'Runs with sh -c.'
                }
                errors={issues.cmd}
              >
                {(p) => (
                  <textarea
                    {...p}
                    className={cx(inputClass, 'h-16 resize-y py-1.5 font-mono text-xs')}
                    value={form.cmd}
                    onChange={(e) => change({ cmd: e.target.value }, 'cmd')}
                    placeholder="python3 -m http.server $PORT0"
                    spellCheck={false}
                    data-testid="form-cmd"
                  />
                )}
              </Field>
            </div>

            <div className="grid grid-cols-3 gap-4">
              <Field label="Instances" errors={issues.instances}>
                {(p) => (
                  <input
                    {...p}
                    type="number"
                    min={0}
                    step={1}
                    className={inputClass}
                    value={form.instances}
                    onChange={(e) => change({ instances: e.target.value }, 'instances')}
                    data-testid="form-instances"
                  />
                )}
              </Field>
              <Field label="CPUs" errors={issues.cpus}>
                {(p) => (
                  <input
                    {...p}
                    type="number"
                    min={0}
                    step={0.1}
                    className={inputClass}
                    value={form.cpus}
                    onChange={(e) => change({ cpus: e.target.value }, 'cpus')}
                    data-testid="form-cpus"
                  />
                )}
              </Field>
              <Field label="Memory (MiB)" errors={issues.mem}>
                {(p) => (
                  <input
                    {...p}
                    type="number"
                    min={0}
                    step={32}
                    className={inputClass}
                    value={form.mem}
                    onChange={(e) => change({ mem: e.target.value }, 'mem')}
                    data-testid="form-mem"
                  />
                )}
              </Field>
            </div>

            <Field
              label={mode === 'docker' ? 'Container port' : 'Port'}
              hint={
                mode === 'docker'
                  ? 'Bridge network: Atoll maps it to a free host port.'
                  : 'Any value asks for one host port, assigned at launch as $PORT0.'
              }
              errors={issues.port}
            >
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={0}
                  max={65535}
                  className={cx(inputClass, 'max-w-40')}
                  value={form.port}
                  onChange={(e) => change({ port: e.target.value }, 'port')}
                  placeholder="80"
                  data-testid="form-port"
                />
              )}
            </Field>

            <EnvEditor rows={form.env} errors={issues.env} onChange={(env) => change({ env }, 'env')} />
            <SecretEnvEditor def={def} onChange={changeJson} />
          </div>
        </Card>

        <Card title="JSON definition" className="flex flex-col lg:sticky lg:top-16 lg:h-[calc(100vh-7rem)]">
          <div className="min-h-80 flex-1 overflow-hidden" data-testid="json-editor">
            <JsonEditor value={text} onChange={onJsonChange} ariaLabel="App definition (JSON)" />
          </div>
          {(jsonError || issues.general) && (
            <div className="border-t border-line px-4 py-2" data-testid="editor-errors">
              {jsonError && <FieldError>Invalid JSON: {jsonError}</FieldError>}
              {issues.general?.map((m) => (
                <FieldError key={m}>{m}</FieldError>
              ))}
            </div>
          )}
        </Card>
      </div>

      {editing && (
        <Card
          title="Review changes"
          className="mt-4"
          actions={changed ? <DiffStats lines={changes} /> : undefined}
        >
          <DiffView
            lines={changes}
            testId="edit-diff"
            emptyText="No change yet: deploying the same definition restarts nothing."
          />
        </Card>
      )}
    </form>
  );
}

function Field({
  label,
  hint,
  errors,
  children,
}: {
  label: string;
  hint?: string;
  errors?: string[] | undefined;
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode;
}) {
  const id = useId();
  const errId = `${id}-err`;
  const hasErr = !!errors && errors.length > 0;
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-xs font-medium text-muted">
        {label}
      </label>
      {children({ id, 'aria-invalid': hasErr, ...(hasErr ? { 'aria-describedby': errId } : {}) })}
      {hasErr ? (
        errors.map((m, i) => (
          <FieldError key={m} id={i === 0 ? errId : undefined}>
            {m}
          </FieldError>
        ))
      ) : hint ? (
        <p className="mt-1 text-xs text-muted/80">{hint}</p>
      ) : null}
    </div>
  );
}

function EnvEditor({
  rows,
  errors,
  onChange,
}: {
  rows: ServiceForm['env'];
  errors?: string[] | undefined;
  onChange: (rows: ServiceForm['env']) => void;
}) {
  const set = (i: number, patch: Partial<ServiceForm['env'][number]>) =>
    onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <fieldset>
      <legend className="mb-1 text-xs font-medium text-muted">Environment variables</legend>
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

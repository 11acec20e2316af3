'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useId, useState, type ReactNode } from 'react';
import { JsonEditor } from '../../../../components/json-editor';
import { Button, Card, FieldError, PageHeader, cx, inputClass } from '../../../../components/ui';
import { serviceHref } from '../../../../lib/links';
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
} from '../../../../lib/service-form';
import { errorCode, errorMessage, fieldIssues, useTRPC } from '../../../../lib/trpc';

type Issues = Partial<Record<FormField | 'general', string[]>>;

export default function RunServicePage() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<ServiceForm>(initialForm);
  const [def, setDef] = useState<Json>(() => formToDefinition(initialForm));
  const [text, setText] = useState(() => toJsonText(def));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [issues, setIssues] = useState<Issues>({});

  const create = useMutation(
    trpc.apps.create.mutationOptions({
      onSuccess: async (res) => {
        await queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() });
        router.push(serviceHref(res.app.id));
      },
      onError: (err) => {
        const next: Issues = {};
        for (const issue of fieldIssues(err)) {
          const field = fieldForIssue(issue.path) ?? 'general';
          const msg = field === 'general' ? `${issue.path}: ${issue.message}` : issue.message;
          (next[field] ??= []).push(msg);
        }
        if (Object.keys(next).length === 0) {
          // No field named: an id clash names the id, anything else goes under the editor.
          (next[errorCode(err) === 'CONFLICT' ? 'id' : 'general'] ??= []).push(errorMessage(err));
        }
        setIssues(next);
      },
    }),
  );

  /** A form edit rewrites the JSON (from the last valid definition) and clears that field's error. */
  const update = useCallback(
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

  const deploy = useCallback(() => {
    if (jsonError || create.isPending) return;
    setIssues({});
    create.mutate({ definition: def });
  }, [jsonError, create, def]);

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

  const mode = form.image.trim() ? 'docker' : 'command';

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        deploy();
      }}
      noValidate
    >
      <PageHeader
        crumbs={[{ href: '/services', label: 'Services' }]}
        title="Run a service"
        subtitle="Fill in the form or edit the Marathon app definition; both stay in sync."
        actions={
          <>
            <Button onClick={() => router.push('/services')}>Cancel</Button>
            <Button
              type="submit"
              variant="primary"
              disabled={!!jsonError || create.isPending}
              data-testid="deploy-button"
              title="Deploy (Ctrl+Enter)"
            >
              {create.isPending ? 'Deploying…' : 'Deploy'}
            </Button>
          </>
        }
      />

      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Service">
          <div className="space-y-5 p-4">
            <Field
              label="Service ID"
              hint="Lowercase letters, digits and hyphens; use / for groups, e.g. /prod/web."
              errors={issues.id}
            >
              {(p) => (
                <input
                  {...p}
                  className={inputClass}
                  value={form.id}
                  onChange={(e) => update({ id: e.target.value }, 'id')}
                  placeholder="/my-group/my-service"
                  autoFocus
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
                    onChange={(e) => update({ image: e.target.value }, 'image')}
                    placeholder="nginx:1.27"
                    spellCheck={false}
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
                    onChange={(e) => update({ cmd: e.target.value }, 'cmd')}
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
                    onChange={(e) => update({ instances: e.target.value }, 'instances')}
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
                    onChange={(e) => update({ cpus: e.target.value }, 'cpus')}
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
                    onChange={(e) => update({ mem: e.target.value }, 'mem')}
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
                  onChange={(e) => update({ port: e.target.value }, 'port')}
                  placeholder="80"
                  data-testid="form-port"
                />
              )}
            </Field>

            <EnvEditor rows={form.env} errors={issues.env} onChange={(env) => update({ env }, 'env')} />
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

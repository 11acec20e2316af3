'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent, type ReactNode } from 'react';
import { fmtAgo } from '../lib/format';
import { jobHref, serviceHref } from '../lib/links';
import { secretEnvRows, withoutSecretEnv, withSecretEnv } from '../lib/secret-env';
import { fieldIssues, useNow, useTRPC } from '../lib/trpc';
import type { RouterOutputs } from '../lib/types';
import {
  Button,
  ConfirmDialog,
  Dialog,
  FieldError,
  Input,
  MutationError,
  Table,
  cx,
  inputClass,
  rowClass,
  tdClass,
  thClass,
} from './ui';

export type Secret = RouterOutputs['secrets']['list'][number];

function issueOf(error: unknown, field: string): string | undefined {
  return fieldIssues(error).find((i) => i.path === field)?.message;
}

function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  children: ReactNode;
}) {
  return (
    <label className="grid gap-1 text-sm">
      <span className="font-medium">{label}</span>
      {children}
      {hint && !error && <span className="text-xs text-muted">{hint}</span>}
      {error && <FieldError>{error}</FieldError>}
    </label>
  );
}

export function useRefreshSecrets() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: trpc.secrets.pathKey() });
}

/** Who uses a secret, as links to the apps and jobs. */
function UsedBy({ usedBy }: { usedBy: Secret['usedBy'] }) {
  if (usedBy.apps.length === 0 && usedBy.jobs.length === 0) return <span className="text-muted">-</span>;
  return (
    <span className="flex flex-wrap gap-x-2 gap-y-0.5">
      {usedBy.apps.map((a) => (
        <Link key={a} href={serviceHref(a)} className="font-mono text-xs hover:underline">
          {a}
        </Link>
      ))}
      {usedBy.jobs.map((j) => (
        <Link key={j} href={jobHref(j)} className="font-mono text-xs hover:underline">
          job {j}
        </Link>
      ))}
    </span>
  );
}

export function SecretsTable({
  secrets,
  onEdit,
  onDelete,
}: {
  secrets: Secret[];
  onEdit: (s: Secret) => void;
  onDelete: (s: Secret) => void;
}) {
  const now = useNow();
  return (
    <Table>
      <thead>
        <tr>
          <th className={thClass}>Path</th>
          <th className={thClass}>Description</th>
          <th className={thClass}>Used by</th>
          <th className={thClass}>Key</th>
          <th className={thClass}>Updated</th>
          <th className={thClass}>
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {secrets.map((s) => (
          <tr key={s.path} className={rowClass} data-testid="secret-row" data-path={s.path}>
            <td className={cx(tdClass, 'font-mono text-xs')}>{s.path}</td>
            <td className={tdClass}>{s.description ?? <span className="text-muted">-</span>}</td>
            <td className={tdClass}>
              <UsedBy usedBy={s.usedBy} />
            </td>
            <td className={cx(tdClass, 'font-mono text-xs')}>{s.keyId}</td>
            <td className={cx(tdClass, 'text-xs text-muted')} title={s.updatedAt}>
              {fmtAgo(s.updatedAt, Math.max(now, Date.parse(s.updatedAt)))}
            </td>
            <td className={cx(tdClass, 'text-right whitespace-nowrap')}>
              <Button size="sm" onClick={() => onEdit(s)} data-testid="secret-edit">
                Edit
              </Button>{' '}
              <Button size="sm" variant="danger" onClick={() => onDelete(s)} data-testid="secret-delete">
                Delete
              </Button>
            </td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

/**
 * Creating a secret, or changing one (`existing`): the value field is write-only — it starts empty
 * and is never filled from the server (which never sends a value); left empty on edit, the value
 * stays as it is.
 */
export function SecretDialog({ existing, onClose }: { existing?: Secret | undefined; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshSecrets();
  const [path, setPath] = useState(existing?.path ?? '');
  const [value, setValue] = useState('');
  const [description, setDescription] = useState(existing?.description ?? '');
  const done = {
    onSuccess: async () => {
      await refresh();
      onClose();
    },
  };
  const create = useMutation(trpc.secrets.create.mutationOptions(done));
  const update = useMutation(trpc.secrets.update.mutationOptions(done));
  const m = existing ? update : create;
  const err = m.error;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (existing)
      update.mutate({
        path: existing.path,
        ...(value !== '' ? { value } : {}),
        description: description.trim() === '' ? null : description.trim(),
      });
    else
      create.mutate({
        path: path.trim(),
        value,
        ...(description.trim() ? { description: description.trim() } : {}),
      });
  };
  const other = err && !fieldIssues(err).some((i) => ['path', 'value', 'description'].includes(i.path));
  return (
    <Dialog
      open
      onClose={onClose}
      title={existing ? `Secret ${existing.path}` : 'New secret'}
      testId="secret-dialog"
    >
      <form onSubmit={submit} className="grid gap-3" noValidate>
        {!existing && (
          <Field
            label="Path"
            error={issueOf(err, 'path')}
            hint="/-separated segments of letters, digits, '.', '_' and '-', e.g. /team-a/db-password"
          >
            <Input
              value={path}
              onChange={(e) => setPath(e.target.value)}
              placeholder="/team-a/db-password"
              autoComplete="off"
              spellCheck={false}
              data-autofocus
              aria-invalid={issueOf(err, 'path') !== undefined}
              data-testid="secret-path"
            />
          </Field>
        )}
        <Field
          label={existing ? 'New value' : 'Value'}
          error={issueOf(err, 'value')}
          hint={
            existing
              ? 'Write-only: the current value is never shown. Leave empty to keep it.'
              : 'Write-only: stored encrypted, given only to the tasks that refer to it, never shown again.'
          }
        >
          <textarea
            className={cx(inputClass, 'min-h-20 font-mono text-xs')}
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            {...(existing ? { 'data-autofocus': true } : {})}
            aria-invalid={issueOf(err, 'value') !== undefined}
            data-testid="secret-value"
          />
        </Field>
        <Field label="Description (optional)" error={issueOf(err, 'description')}>
          <Input
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            data-testid="secret-description"
          />
        </Field>
        {other ? (
          <MutationError error={err} title={existing ? 'Could not change' : 'Could not create'} />
        ) : null}
        <div className="mt-2 flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={m.isPending} data-testid="secret-save">
            {m.isPending ? 'Saving…' : existing ? 'Save' : 'Create'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** Deleting, with the apps and jobs that still refer to the secret named. */
export function DeleteSecretDialog({ secret, onClose }: { secret: Secret; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshSecrets();
  const remove = useMutation(
    trpc.secrets.remove.mutationOptions({
      onSuccess: async () => {
        await refresh();
        onClose();
      },
    }),
  );
  const users = [...secret.usedBy.apps, ...secret.usedBy.jobs.map((j) => `job ${j}`)];
  return (
    <ConfirmDialog
      open
      onClose={onClose}
      onConfirm={() => remove.mutate({ path: secret.path })}
      title={`Delete ${secret.path}?`}
      message={
        users.length > 0 ? (
          <div data-testid="secret-delete-warning">
            <p>
              <strong>Still in use.</strong> These refer to it; their running tasks keep their value, but new
              tasks will fail to start until a secret of this path exists again:
            </p>
            <ul className="mt-2 list-disc pl-5 font-mono text-xs">
              {users.map((u) => (
                <li key={u}>{u}</li>
              ))}
            </ul>
          </div>
        ) : (
          <p>Nothing refers to it. The value cannot be recovered.</p>
        )
      }
      confirmLabel="Delete"
      pending={remove.isPending}
      error={remove.error}
      testId="secret-delete-dialog"
      confirmTestId="secret-delete-confirm"
    />
  );
}

/** Admins: re-encrypt every secret under the current key (after a new first key was configured). */
export function RotateKeysDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshSecrets();
  const keys = useQuery(trpc.secrets.keys.queryOptions());
  const rotate = useMutation(trpc.secrets.rotate.mutationOptions({ onSuccess: () => refresh() }));
  const r = rotate.data;
  return (
    <Dialog open onClose={onClose} title="Rotate secret keys" testId="rotate-dialog">
      <div className="grid gap-3 text-sm">
        <p>
          Re-encrypts every secret under the current key
          {keys.data ? (
            <>
              {' '}
              <code className="font-mono">{keys.data.currentKeyId}</code>
            </>
          ) : null}
          . Add the new key first in <code className="font-mono">ATOLL_SECRET_KEYS</code> or the key file,
          then restart control; keep the old key listed until this has run.
        </p>
        {keys.data && (
          <ul className="grid gap-1 text-xs" data-testid="rotate-keys">
            {keys.data.keys.map((k) => (
              <li key={k.id} className="flex gap-2">
                <code className="font-mono">{k.id}</code>
                <span className="text-muted">
                  {k.secrets} secret{k.secrets === 1 ? '' : 's'}
                  {k.id === keys.data.currentKeyId ? ' · current' : ''}
                  {!k.configured ? ' · NOT CONFIGURED: these cannot be read' : ''}
                </span>
              </li>
            ))}
          </ul>
        )}
        {r && (
          <div
            role="status"
            data-testid="rotate-result"
            className="rounded-md border border-line bg-surface-2 p-3"
          >
            Re-encrypted {r.total - r.failed.length} of {r.total} under {r.currentKeyId} ({r.rotated} from an
            older key).
            {r.failed.length > 0 && (
              <ul className="mt-2 list-disc pl-5 text-red-700 dark:text-red-300">
                {r.failed.map((f) => (
                  <li key={f.path}>
                    {f.path}: {f.error}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        {rotate.error ? <MutationError error={rotate.error} title="Could not rotate" /> : null}
        <div className="mt-2 flex justify-end gap-2">
          <Button onClick={onClose}>{r ? 'Close' : 'Cancel'}</Button>
          {!r && (
            <Button
              variant="primary"
              onClick={() => rotate.mutate()}
              disabled={rotate.isPending}
              data-testid="rotate-confirm"
            >
              {rotate.isPending ? 'Rotating…' : 'Rotate'}
            </Button>
          )}
        </div>
      </div>
    </Dialog>
  );
}

/**
 * The service form's secret variables: those of the definition (`env: {X: {secret}}`), each with
 * the path it comes from, and a row to add one from the secrets the user may use.
 */
export function SecretEnvEditor({
  def,
  onChange,
}: {
  def: Record<string, unknown>;
  onChange: (def: Record<string, unknown>) => void;
}) {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: Infinity, refetchInterval: false }));
  const canOperate = me.data?.role === 'operator' || me.data?.role === 'admin';
  const secrets = useQuery(trpc.secrets.list.queryOptions(undefined, { enabled: canOperate }));
  const [key, setKey] = useState('');
  const [path, setPath] = useState('');
  const rows = secretEnvRows(def);
  if (!canOperate && rows.length === 0) return null;
  return (
    <fieldset data-testid="secret-env">
      <legend className="mb-1 text-xs font-medium text-muted">Environment variables from secrets</legend>
      {rows.length > 0 && (
        <ul className="mb-2 space-y-1 text-xs">
          {rows.map((r) => (
            <li key={r.key} className="flex items-center gap-2" data-testid="secret-env-row">
              <code className="font-mono">{r.key}</code>
              <span className="text-muted">←</span>
              <code className="font-mono">{r.source ?? `${r.name} (not declared in secrets)`}</code>
              <Button
                variant="ghost"
                size="sm"
                onClick={() => onChange(withoutSecretEnv(def, r.key))}
                aria-label={`Remove variable ${r.key}`}
              >
                ✕
              </Button>
            </li>
          ))}
        </ul>
      )}
      {canOperate && (
        <div className="flex gap-2">
          <input
            className={cx(inputClass, 'font-mono text-xs')}
            value={key}
            onChange={(e) => setKey(e.target.value)}
            placeholder="NAME"
            aria-label="Secret variable name"
            spellCheck={false}
            data-testid="secret-env-key"
          />
          <select
            className={cx(inputClass, 'font-mono text-xs')}
            value={path}
            onChange={(e) => setPath(e.target.value)}
            aria-label="Secret"
            data-testid="secret-env-source"
          >
            <option value="">{secrets.data?.length === 0 ? 'no secrets yet' : 'choose a secret'}</option>
            {secrets.data?.map((s) => (
              <option key={s.path} value={s.path}>
                {s.path}
              </option>
            ))}
          </select>
          <Button
            size="sm"
            disabled={!key.trim() || !path}
            onClick={() => {
              onChange(withSecretEnv(def, key.trim(), path));
              setKey('');
              setPath('');
            }}
            data-testid="secret-env-add"
          >
            Add
          </Button>
        </div>
      )}
    </fieldset>
  );
}

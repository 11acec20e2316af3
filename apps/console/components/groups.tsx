'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { parseJsonText, toJsonText } from '../lib/service-form';
import { errorMessage, fieldIssues, isLocked, useTRPC } from '../lib/trpc';
import { JsonEditor } from './json-editor';
import { Button, ConfirmDialog, Dialog, FieldError, MutationError, inputClass } from './ui';

/** A small Marathon group: two apps whose ids are relative to the group's. */
export const groupExample = {
  id: '/my-group',
  apps: [
    { id: 'web', cmd: 'sleep 600', cpus: 0.1, mem: 32, instances: 1 },
    { id: 'worker', cmd: 'sleep 600', cpus: 0.1, mem: 32, instances: 1 },
  ],
  groups: [],
  dependencies: [],
};

function useInvalidate() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.apps.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.groups.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.deployments.pathKey() }),
    ]);
}

/** "Create group": a Marathon group definition in a JSON editor, sent as one `groups.create`. */
export function CreateGroupDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} title="Create group" testId="group-dialog" wide>
      {/* Mounted on each opening: starts from the example with no error. */}
      <CreateGroupForm onDone={onClose} />
    </Dialog>
  );
}

function CreateGroupForm({ onDone }: { onDone: () => void }) {
  const trpc = useTRPC();
  const invalidate = useInvalidate();
  const [text, setText] = useState(() => toJsonText(groupExample));
  const parsed = parseJsonText(text);
  const create = useMutation(
    trpc.groups.create.mutationOptions({
      onSuccess: async () => {
        onDone();
        await invalidate();
      },
    }),
  );
  const issues = create.error ? fieldIssues(create.error) : [];
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (parsed.ok && !create.isPending) create.mutate({ definition: parsed.value });
      }}
      noValidate
    >
      <p className="mb-2 text-sm text-muted">
        A Marathon group: its apps (ids relative to the group) start together as one deployment.
      </p>
      <div className="h-80 overflow-hidden rounded-md border border-line" data-testid="group-json">
        <JsonEditor
          value={text}
          onChange={(v) => {
            setText(v);
            if (create.error) create.reset();
          }}
          ariaLabel="Group definition (JSON)"
        />
      </div>
      {!parsed.ok && <FieldError>Invalid JSON: {parsed.error}</FieldError>}
      {create.error &&
        (issues.length > 0 ? (
          issues.map((i) => (
            <FieldError key={`${i.path}:${i.message}`}>{`${i.path}: ${i.message}`}</FieldError>
          ))
        ) : (
          <FieldError>{errorMessage(create.error)}</FieldError>
        ))}
      <div className="mt-5 flex justify-end gap-2">
        <Button onClick={onDone}>Cancel</Button>
        <Button
          type="submit"
          variant="primary"
          disabled={!parsed.ok || create.isPending}
          data-testid="group-submit"
        >
          {create.isPending ? 'Creating…' : 'Create group'}
        </Button>
      </div>
    </form>
  );
}

/** Scales every app of a group by a factor (Marathon's `scaleBy`). */
export function ScaleGroupDialog({ id, open, onClose }: { id: string; open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} onClose={onClose} title={`Scale ${id}`} testId="group-scale-dialog">
      <ScaleGroupForm id={id} onDone={onClose} />
    </Dialog>
  );
}

function ScaleGroupForm({ id, onDone }: { id: string; onDone: () => void }) {
  const trpc = useTRPC();
  const invalidate = useInvalidate();
  const [value, setValue] = useState('2');
  const scale = useMutation(
    trpc.groups.update.mutationOptions({
      onSuccess: async () => {
        onDone();
        await invalidate();
      },
    }),
  );
  const n = Number(value);
  const valid = value.trim() !== '' && Number.isFinite(n) && n >= 0;
  const locked = isLocked(scale.error);
  const issue =
    scale.error && !locked ? (fieldIssues(scale.error)[0]?.message ?? errorMessage(scale.error)) : null;
  const send = (force: boolean) => valid && scale.mutate({ id, definition: { scaleBy: n }, force });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        send(false);
      }}
    >
      <label className="block">
        <span className="mb-1 block text-xs font-medium text-muted">
          Factor (every app&apos;s instances are multiplied by it)
        </span>
        <input
          type="number"
          min={0}
          step={0.5}
          value={value}
          onChange={(e) => {
            setValue(e.target.value);
            if (scale.error) scale.reset();
          }}
          className={inputClass}
          data-autofocus
          data-testid="group-scale-input"
          aria-invalid={!!issue || (value !== '' && !valid)}
        />
      </label>
      {value !== '' && !valid && <FieldError>the factor must be a number, 0 or more</FieldError>}
      {issue && <FieldError>{issue}</FieldError>}
      {locked && (
        <div className="mt-3">
          <MutationError error={scale.error} pending={scale.isPending} onForce={() => send(true)} />
        </div>
      )}
      <div className="mt-5 flex justify-end gap-2">
        <Button onClick={onDone}>Cancel</Button>
        <Button
          type="submit"
          variant="primary"
          disabled={!valid || scale.isPending}
          data-testid="group-confirm"
        >
          {scale.isPending ? 'Scaling…' : valid ? `Scale by ${n}` : 'Scale'}
        </Button>
      </div>
    </form>
  );
}

/** Deletes a group with all its apps; it overrides running deployments, as the text says. */
export function DeleteGroupDialog({
  id,
  apps,
  open,
  onClose,
}: {
  id: string;
  apps: number;
  open: boolean;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const invalidate = useInvalidate();
  const del = useMutation(
    trpc.groups.delete.mutationOptions({
      onSuccess: async () => {
        onClose();
        await invalidate();
      },
    }),
  );
  return (
    <ConfirmDialog
      open={open}
      onClose={() => {
        del.reset();
        onClose();
      }}
      onConfirm={() => del.mutate({ id, force: true })}
      title={`Delete ${id}`}
      message={
        <p>
          Delete <strong>{id}</strong> with its {apps === 1 ? '1 app' : `${apps} apps`} and kill their tasks.
          Running deployments of the group are cancelled.
        </p>
      }
      confirmLabel={`Delete ${apps === 1 ? '1 app' : `${apps} apps`}`}
      pending={del.isPending}
      error={del.error}
      testId="group-delete-dialog"
      confirmTestId="group-confirm"
    />
  );
}

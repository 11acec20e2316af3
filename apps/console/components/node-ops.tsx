'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { fieldIssues, useTRPC } from '../lib/trpc';
import type { RouterOutputs } from '../lib/types';
import { Button, ConfirmDialog, Dialog, FieldError, MutationError, cx, inputClass } from './ui';

type NodeView = RouterOutputs['nodes']['get'];

const modeTone: Record<NodeView['mode'], string> = {
  ACTIVE:
    'bg-emerald-500/12 text-emerald-700 ring-emerald-600/25 dark:text-emerald-300 dark:ring-emerald-400/25',
  DRAINING: 'bg-sky-500/12 text-sky-700 ring-sky-600/25 dark:text-sky-300 dark:ring-sky-400/25',
  DRAINED: 'bg-slate-500/12 text-slate-600 ring-slate-500/25 dark:text-slate-300 dark:ring-slate-400/25',
  MAINTENANCE: 'bg-amber-500/15 text-amber-800 ring-amber-600/30 dark:text-amber-300 dark:ring-amber-400/25',
  DECOMMISSIONED: 'bg-red-500/12 text-red-700 ring-red-600/25 dark:text-red-300 dark:ring-red-400/25',
};

/** The operator's mode of a node: ACTIVE, DRAINING (with what is left), DRAINED, MAINTENANCE, DECOMMISSIONED. */
export function NodeModeBadge({ node }: { node: Pick<NodeView, 'mode' | 'drain'> }) {
  const label =
    node.mode === 'DRAINING' && node.drain
      ? `Draining · ${node.drain.remaining} of ${node.drain.total} left`
      : node.mode.charAt(0) + node.mode.slice(1).toLowerCase();
  return (
    <span
      data-testid="node-mode"
      data-mode={node.mode}
      className={cx(
        'inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset',
        modeTone[node.mode],
      )}
    >
      {label}
    </span>
  );
}

function useInvalidateNodes() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: trpc.nodes.pathKey() }),
      queryClient.invalidateQueries({ queryKey: trpc.tasks.pathKey() }),
    ]);
}

type Action = 'drain' | 'undrain' | 'maintenance' | 'endMaintenance' | 'decommission';

/** Drain, undrain, maintenance and decommission, each behind a confirmation that says what it does. */
export function NodeActions({ node }: { node: NodeView }) {
  const trpc = useTRPC();
  const router = useRouter();
  const invalidate = useInvalidateNodes();
  const [open, setOpen] = useState<Action | null>(null);
  const opts = { onSuccess: async () => (setOpen(null), await invalidate()) };
  const drain = useMutation(trpc.nodes.drain.mutationOptions(opts));
  const undrain = useMutation(trpc.nodes.undrain.mutationOptions(opts));
  const maintenance = useMutation(trpc.nodes.maintenance.mutationOptions(opts));
  const decommission = useMutation(
    trpc.nodes.decommission.mutationOptions({
      onSuccess: async () => {
        setOpen(null);
        await invalidate();
        router.push('/nodes');
      },
    }),
  );
  if (node.mode === 'DECOMMISSIONED') return null;
  const tasks = node.tasks === 1 ? '1 task' : `${node.tasks} tasks`;
  const dialogs: Record<
    Action,
    {
      title: string;
      message: string;
      label: string;
      run: () => void;
      m: { isPending: boolean; error: unknown; reset: () => void };
      danger: boolean;
    }
  > = {
    drain: {
      title: `Drain ${node.hostname}`,
      message: `Place nothing new on ${node.hostname} and move its ${tasks} to other nodes, one at a time, each with its kill grace period. A task whose service has no room elsewhere stays until there is.`,
      label: `Drain ${tasks}`,
      run: () => drain.mutate({ id: node.id }),
      m: drain,
      danger: false,
    },
    undrain: {
      title: `Undrain ${node.hostname}`,
      message: `Offer ${node.hostname} to new tasks again. Tasks already moved stay where they are.`,
      label: 'Undrain',
      run: () => undrain.mutate({ id: node.id }),
      m: undrain,
      danger: false,
    },
    maintenance: {
      title: `Maintenance of ${node.hostname}`,
      message: `Place nothing new on ${node.hostname}. Its ${tasks} keep running.`,
      label: 'Start maintenance',
      run: () => maintenance.mutate({ id: node.id, on: true }),
      m: maintenance,
      danger: false,
    },
    endMaintenance: {
      title: `End maintenance of ${node.hostname}`,
      message: `Offer ${node.hostname} to new tasks again.`,
      label: 'End maintenance',
      run: () => maintenance.mutate({ id: node.id, on: false }),
      m: maintenance,
      danger: false,
    },
    decommission: {
      title: `Decommission ${node.hostname}`,
      message: `Remove ${node.hostname} from the cluster for good: its agent is refused from now on and its ${tasks} are killed and replaced on other nodes. To bring the host back, reinstall its agent with a new join token.`,
      label: `Decommission ${node.hostname}`,
      run: () => decommission.mutate({ id: node.id }),
      m: decommission,
      danger: true,
    },
  };
  const buttons: Array<[Action, string]> = [];
  if (node.mode === 'ACTIVE' || node.mode === 'MAINTENANCE') buttons.push(['drain', 'Drain']);
  if (node.mode === 'DRAINING' || node.mode === 'DRAINED') buttons.push(['undrain', 'Undrain']);
  if (node.mode === 'MAINTENANCE') buttons.push(['endMaintenance', 'End maintenance']);
  else buttons.push(['maintenance', 'Maintenance']);
  buttons.push(['decommission', 'Decommission']);
  const d = open ? dialogs[open] : null;
  return (
    <>
      {buttons.map(([a, label]) => (
        <Button
          key={a}
          variant={a === 'decommission' ? 'danger' : 'secondary'}
          onClick={() => setOpen(a)}
          data-testid={`node-${a}`}
        >
          {label}
        </Button>
      ))}
      {d && (
        <ConfirmDialog
          open
          onClose={() => {
            d.m.reset();
            setOpen(null);
          }}
          onConfirm={d.run}
          title={d.title}
          message={<p>{d.message}</p>}
          confirmLabel={d.label}
          pending={d.m.isPending}
          error={d.m.error}
          danger={d.danger}
          testId="node-op-dialog"
          confirmTestId="node-op-confirm"
        />
      )}
    </>
  );
}

/** A draining node's progress: a bar of tasks moved, and why it waits when it does. */
export function DrainProgress({ node }: { node: NodeView }) {
  if (!node.drain || (node.mode !== 'DRAINING' && node.mode !== 'DRAINED')) return null;
  const { total, remaining, blocked } = node.drain;
  const moved = Math.max(0, total - remaining);
  const pct = total === 0 ? 100 : Math.round((moved / total) * 100);
  return (
    <div className="rounded-lg border border-line bg-surface p-4" data-testid="drain-progress">
      <div className="mb-2 flex items-center justify-between text-sm">
        <span className="font-medium">{node.mode === 'DRAINED' ? 'Drained' : 'Draining'}</span>
        <span className="text-muted">
          {moved} of {total} moved, {remaining} left
        </span>
      </div>
      <div className="h-2 overflow-hidden rounded-full bg-surface-2">
        <div className="h-full bg-sky-500 transition-all" style={{ width: `${pct}%` }} />
      </div>
      {blocked && (
        <p className="mt-2 text-xs text-amber-700 dark:text-amber-300" data-testid="drain-blocked">
          Waiting: {blocked}
        </p>
      )}
    </div>
  );
}

/** Edits the operator's attributes (one `key=value` per line); the agent's own stay as they are. */
export function AttributesDialog({
  node,
  open,
  onClose,
}: {
  node: NodeView;
  open: boolean;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const invalidate = useInvalidateNodes();
  const [text, setText] = useState(() =>
    Object.entries(node.operatorAttributes)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  );
  const [parseError, setParseError] = useState<string | null>(null);
  const save = useMutation(
    trpc.nodes.setAttributes.mutationOptions({ onSuccess: async () => (onClose(), await invalidate()) }),
  );
  const submit = () => {
    const set: Record<string, string> = {};
    for (const [i, line] of text.split('\n').entries()) {
      if (!line.trim()) continue;
      const eq = line.indexOf('=');
      if (eq <= 0) return setParseError(`line ${i + 1}: "${line}" is not key=value`);
      set[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    setParseError(null);
    const remove = Object.keys(node.operatorAttributes).filter((k) => !(k in set));
    save.mutate({ id: node.id, set, remove });
  };
  const issues = fieldIssues(save.error);
  return (
    <Dialog open={open} onClose={onClose} title={`Attributes of ${node.hostname}`} testId="attributes-dialog">
      <p className="mb-2 text-xs text-muted">
        One <code>key=value</code> per line. They overlay the agent&apos;s own attributes (
        {Object.keys(node.agentAttributes).length === 0
          ? 'none'
          : Object.keys(node.agentAttributes).join(', ')}
        ) and constraints such as <code>[&quot;rack&quot;, &quot;CLUSTER&quot;, &quot;r2&quot;]</code> see
        both.
      </p>
      <textarea
        className={cx(inputClass, 'h-32 w-full font-mono text-xs')}
        value={text}
        onChange={(e) => setText(e.target.value)}
        data-testid="attributes-input"
        aria-label="Attributes"
        data-autofocus
      />
      {parseError && <FieldError>{parseError}</FieldError>}
      {issues.map((i) => (
        <FieldError key={i.path}>
          {i.path}: {i.message}
        </FieldError>
      ))}
      {save.error && issues.length === 0 ? <MutationError error={save.error} /> : null}
      <div className="mt-4 flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="primary" onClick={submit} disabled={save.isPending} data-testid="attributes-save">
          {save.isPending ? 'Saving…' : 'Save attributes'}
        </Button>
      </div>
    </Dialog>
  );
}

/** CPUs and memory kept for the host itself. */
export function ReservationDialog({
  node,
  open,
  onClose,
}: {
  node: NodeView;
  open: boolean;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const invalidate = useInvalidateNodes();
  const [cpus, setCpus] = useState(String(node.reserved.cpus));
  const [mem, setMem] = useState(String(node.reserved.memMb));
  const save = useMutation(
    trpc.nodes.setReservation.mutationOptions({ onSuccess: async () => (onClose(), await invalidate()) }),
  );
  const issues = fieldIssues(save.error);
  const issue = (path: string) => issues.find((i) => i.path === path)?.message;
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={`Reserve for ${node.hostname} itself`}
      testId="reservation-dialog"
    >
      <p className="mb-3 text-xs text-muted">
        Never offered to tasks: room for the host&apos;s own processes.
      </p>
      <label className="mb-3 block text-sm">
        CPUs (of {node.resources.cpus})
        <input
          className={cx(inputClass, 'mt-1 w-full')}
          type="number"
          min={0}
          step={0.1}
          value={cpus}
          onChange={(e) => setCpus(e.target.value)}
          data-autofocus
        />
        {issue('cpus') && <FieldError>{issue('cpus')}</FieldError>}
      </label>
      <label className="block text-sm">
        Memory in MiB (of {Math.round(node.resources.memMb)})
        <input
          className={cx(inputClass, 'mt-1 w-full')}
          type="number"
          min={0}
          step={64}
          value={mem}
          onChange={(e) => setMem(e.target.value)}
        />
        {issue('memMb') && <FieldError>{issue('memMb')}</FieldError>}
      </label>
      {save.error && issues.length === 0 ? <MutationError error={save.error} /> : null}
      <div className="mt-4 flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="primary"
          disabled={save.isPending}
          onClick={() => save.mutate({ id: node.id, cpus: Number(cpus), memMb: Number(mem) })}
        >
          {save.isPending ? 'Saving…' : 'Save reservation'}
        </Button>
      </div>
    </Dialog>
  );
}

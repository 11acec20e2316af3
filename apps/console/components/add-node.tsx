'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { fieldIssues, useTRPC } from '../lib/trpc';
import {
  Button,
  ConfirmDialog,
  Dialog,
  FieldError,
  MutationError,
  cx,
  inputClass,
  tdClass,
  thClass,
} from './ui';

const EXPIRY = [
  ['1 hour', 3600],
  ['1 day', 86_400],
  ['7 days', 7 * 86_400],
  ['30 days', 30 * 86_400],
] as const;

/**
 * "Add node": creates a join token (expiry, single or multi-use, attributes, a note) and shows the
 * one line to paste on the new host. The token itself is shown once; control keeps only its hash.
 */
export function AddNodeButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="primary" onClick={() => setOpen(true)} data-testid="add-node">
        Add node
      </Button>
      {open && <AddNodeDialog onClose={() => setOpen(false)} />}
    </>
  );
}

function AddNodeDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [expires, setExpires] = useState<number>(3600);
  const [multi, setMulti] = useState(false);
  const [attributes, setAttributes] = useState('');
  const [description, setDescription] = useState('');
  const [parseError, setParseError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const create = useMutation(
    trpc.nodes.createJoinToken.mutationOptions({
      onSuccess: () => void queryClient.invalidateQueries({ queryKey: trpc.nodes.joinTokens.queryKey() }),
    }),
  );
  const submit = () => {
    const attrs: Record<string, string> = {};
    for (const part of attributes
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const eq = part.indexOf('=');
      if (eq <= 0) return setParseError(`"${part}" is not key=value`);
      attrs[part.slice(0, eq)] = part.slice(eq + 1);
    }
    setParseError(null);
    create.mutate({
      singleUse: !multi,
      expiresInSeconds: expires,
      attributes: attrs,
      ...(description ? { description } : {}),
    });
  };
  const issues = fieldIssues(create.error);
  const t = create.data;
  return (
    <Dialog open onClose={onClose} title="Add a node" testId="add-node-dialog" wide>
      {!t ? (
        <div className="grid gap-3 text-sm">
          <p className="text-muted">
            A join token lets hosts join this cluster. Paste the line it gives on a Linux host with systemd
            and Docker: it installs the agent under /opt/atoll and starts it as atoll-agent.service.
          </p>
          <label className="grid gap-1">
            Valid for
            <select
              className={cx(inputClass, 'w-48')}
              value={expires}
              onChange={(e) => setExpires(Number(e.target.value))}
              data-testid="token-expiry"
              data-autofocus
            >
              {EXPIRY.map(([label, s]) => (
                <option key={s} value={s}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <label className="flex items-center gap-2">
            <input
              type="checkbox"
              checked={multi}
              onChange={(e) => setMulti(e.target.checked)}
              data-testid="token-multi"
            />
            Multi-use: many hosts may join with it until it expires (otherwise one host)
          </label>
          <label className="grid gap-1">
            Attributes of the joining nodes (optional)
            <input
              className={inputClass}
              placeholder="rack=r1,zone=a"
              value={attributes}
              onChange={(e) => setAttributes(e.target.value)}
              data-testid="token-attributes"
            />
            {parseError && <FieldError>{parseError}</FieldError>}
          </label>
          <label className="grid gap-1">
            Note (optional)
            <input
              className={inputClass}
              placeholder="rack 1 workers"
              value={description}
              onChange={(e) => setDescription(e.target.value)}
              data-testid="token-description"
            />
          </label>
          {issues.map((i) => (
            <FieldError key={i.path}>
              {i.path}: {i.message}
            </FieldError>
          ))}
          {create.error && issues.length === 0 ? <MutationError error={create.error} /> : null}
          <div className="mt-2 flex justify-end gap-2">
            <Button onClick={onClose}>Cancel</Button>
            <Button variant="primary" onClick={submit} disabled={create.isPending} data-testid="token-create">
              {create.isPending ? 'Creating…' : 'Create install command'}
            </Button>
          </div>
        </div>
      ) : (
        <div className="grid gap-3 text-sm">
          <p>
            Run this on the new host. The token is {multi ? 'multi-use' : 'for one host'} and expires{' '}
            {new Date(t.expiresAt).toLocaleString()}. It is shown only now.
          </p>
          <pre
            className="overflow-x-auto rounded-md bg-[#0d1117] p-3 font-mono text-xs whitespace-pre-wrap break-all text-slate-100"
            data-testid="install-line"
          >
            {t.installLine}
          </pre>
          <div className="flex justify-end gap-2">
            <Button
              onClick={() => {
                void navigator.clipboard?.writeText(t.installLine).then(() => setCopied(true));
              }}
              data-testid="copy-install-line"
            >
              {copied ? 'Copied' : 'Copy'}
            </Button>
            <Button variant="primary" onClick={onClose}>
              Done
            </Button>
          </div>
          <p className="text-xs text-muted">The node appears in this list once its agent has joined.</p>
        </div>
      )}
    </Dialog>
  );
}

/** Join tokens with their status; revoke stops new joins (nodes that joined stay). */
export function JoinTokens() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const tokens = useQuery(trpc.nodes.joinTokens.queryOptions());
  const [revoking, setRevoking] = useState<string | null>(null);
  const revoke = useMutation(
    trpc.nodes.revokeJoinToken.mutationOptions({
      onSuccess: async () => {
        setRevoking(null);
        await queryClient.invalidateQueries({ queryKey: trpc.nodes.joinTokens.queryKey() });
      },
    }),
  );
  const rows = tokens.data ?? [];
  if (rows.length === 0) return null;
  return (
    <section className="mt-4 rounded-lg border border-line bg-surface" data-testid="join-tokens">
      <h2 className="border-b border-line px-4 py-2.5 text-xs font-semibold tracking-wide text-muted uppercase">
        Join tokens
      </h2>
      <table className="w-full text-sm">
        <thead>
          <tr>
            <th className={thClass}>Note</th>
            <th className={thClass}>Status</th>
            <th className={thClass}>Use</th>
            <th className={thClass}>Nodes joined</th>
            <th className={thClass}>Expires</th>
            <th className={thClass} />
          </tr>
        </thead>
        <tbody>
          {rows.map((t) => (
            <tr key={t.id} data-testid="join-token-row" data-status={t.status} data-id={t.id}>
              <td className={tdClass}>
                {t.description ?? <span className="font-mono text-xs text-muted">{t.id.slice(0, 8)}</span>}
              </td>
              <td className={tdClass}>{t.status}</td>
              <td className={tdClass}>{t.singleUse ? 'one host' : 'many hosts'}</td>
              <td className={`${tdClass} tabular-nums`}>{t.nodes}</td>
              <td className={`${tdClass} text-muted`}>
                {t.expiresAt ? new Date(t.expiresAt).toLocaleString() : 'never'}
              </td>
              <td className={`${tdClass} text-right`}>
                {t.status === 'usable' && (
                  <Button
                    size="sm"
                    variant="danger"
                    onClick={() => setRevoking(t.id)}
                    data-testid="revoke-token"
                  >
                    Revoke
                  </Button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {revoking && (
        <ConfirmDialog
          open
          onClose={() => setRevoking(null)}
          onConfirm={() => revoke.mutate({ id: revoking })}
          title="Revoke join token"
          message={
            <p>Hosts can no longer join with this token. Nodes that already joined stay in the cluster.</p>
          }
          confirmLabel="Revoke token"
          pending={revoke.isPending}
          error={revoke.error}
          testId="revoke-token-dialog"
          confirmTestId="revoke-token-confirm"
        />
      )}
    </section>
  );
}

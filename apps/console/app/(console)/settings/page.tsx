'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import {
  Button,
  Card,
  ConfirmDialog,
  Empty,
  ErrorBox,
  FieldError,
  Input,
  Loading,
  MutationError,
  PageHeader,
  Table,
  rowClass,
  tdClass,
  thClass,
} from '../../../components/ui';
import { fmtAgo } from '../../../lib/format';
import { fieldIssues, useNow, useTRPC } from '../../../lib/trpc';
import type { RouterOutputs } from '../../../lib/types';

type Repository = RouterOutputs['catalog']['repositories'][number];

export default function SettingsPage() {
  return (
    <>
      <PageHeader title="Settings" subtitle="Cluster-wide settings" />
      <Repositories />
    </>
  );
}

/** Package repositories (Cosmos's): searched in order, the first that has a package wins. */
function Repositories() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow();
  const repos = useQuery(trpc.catalog.repositories.queryOptions());
  const [removing, setRemoving] = useState<Repository | null>(null);
  const [name, setName] = useState('');
  const [uri, setUri] = useState('');
  const [index, setIndex] = useState('');
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.catalog.pathKey() });
  const add = useMutation(
    trpc.catalog.addRepository.mutationOptions({
      onSuccess: async () => {
        setName('');
        setUri('');
        setIndex('');
        await refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.catalog.removeRepository.mutationOptions({
      onSuccess: async () => {
        setRemoving(null);
        await refresh();
      },
    }),
  );
  const issues = fieldIssues(add.error);
  const issueOf = (field: string) => issues.find((i) => i.path === field)?.message;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ name, uri, ...(index.trim() !== '' ? { index: Number(index) } : {}) });
  };

  return (
    <Card title="Package repositories">
      {repos.error ? (
        <div className="p-4">
          <ErrorBox error={repos.error} />
        </div>
      ) : repos.isPending ? (
        <Loading what="Loading repositories" />
      ) : repos.data.length === 0 ? (
        <Empty>No repository: the catalog is empty. Add the built-in one back with the uri builtin:</Empty>
      ) : (
        <Table>
          <thead>
            <tr>
              <th className={thClass}>Priority</th>
              <th className={thClass}>Name</th>
              <th className={thClass}>URI</th>
              <th className={thClass}>Packages</th>
              <th className={thClass}>Fetched</th>
              <th className={thClass}>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {repos.data.map((r) => (
              <tr key={r.name} className={rowClass} data-testid={`repo-${r.name}`}>
                <td className={`${tdClass} tabular-nums`}>{r.priority}</td>
                <td className={`${tdClass} font-medium`}>{r.name}</td>
                <td className={`${tdClass} font-mono text-xs break-all`}>{r.uri}</td>
                <td className={`${tdClass} tabular-nums`} data-testid="repo-packages">
                  {r.packages}
                </td>
                <td className={`${tdClass} text-muted`}>
                  {r.fetchedAt ? fmtAgo(r.fetchedAt, now) : 'built in'}
                </td>
                <td className={`${tdClass} text-right`}>
                  <Button size="sm" variant="danger" onClick={() => setRemoving(r)} data-testid="remove-repo">
                    Remove
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <form
        onSubmit={submit}
        className="grid gap-3 border-t border-line p-4 md:grid-cols-[12rem_1fr_6rem_auto]"
      >
        <label className="text-sm">
          <span className="mb-1 block font-medium">Name</span>
          <Input
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={issueOf('name') !== undefined}
            data-testid="repo-name"
          />
          {issueOf('name') && <FieldError>{issueOf('name')}</FieldError>}
        </label>
        <label className="text-sm">
          <span className="mb-1 block font-medium">URI</span>
          <Input
            value={uri}
            onChange={(e) => setUri(e.target.value)}
            placeholder="https://…/repo.json, /path/to/repo.json or a repository directory"
            aria-invalid={issueOf('uri') !== undefined}
            data-testid="repo-uri"
          />
          {issueOf('uri') && <FieldError>{issueOf('uri')}</FieldError>}
        </label>
        <label className="text-sm">
          <span className="mb-1 block font-medium">Position</span>
          <Input
            value={index}
            onChange={(e) => setIndex(e.target.value)}
            placeholder="last"
            inputMode="numeric"
            aria-invalid={issueOf('index') !== undefined}
          />
          {issueOf('index') && <FieldError>{issueOf('index')}</FieldError>}
        </label>
        <div className="flex items-end">
          <Button type="submit" variant="primary" disabled={add.isPending} data-testid="add-repo">
            {add.isPending ? 'Adding…' : 'Add repository'}
          </Button>
        </div>
        {add.error && issues.length === 0 ? (
          <div className="md:col-span-4">
            <MutationError error={add.error} title="Could not add" />
          </div>
        ) : null}
      </form>
      <ConfirmDialog
        open={removing !== null}
        onClose={() => {
          setRemoving(null);
          remove.reset();
        }}
        onConfirm={() => removing && remove.mutate({ name: removing.name })}
        title={`Remove repository ${removing?.name ?? ''}`}
        message="Its packages leave the catalog. Packages installed from it stay installed."
        confirmLabel="Remove"
        pending={remove.isPending}
        error={remove.error}
        danger
        confirmTestId="confirm-remove-repo"
      />
    </Card>
  );
}

'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, Suspense, useState, type FormEvent } from 'react';
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
  cx,
  rowClass,
  tdClass,
  thClass,
} from '../../../components/ui';
import { IconChevron } from '../../../components/icons';
import { fmtAgo } from '../../../lib/format';
import { fieldIssues, useNow, useTRPC } from '../../../lib/trpc';
import type { RouterOutputs } from '../../../lib/types';
import { useUrlParams } from '../../../lib/url-state';

type Repository = RouterOutputs['catalog']['repositories'][number];

export default function SettingsPage() {
  return (
    <>
      <PageHeader title="Settings" subtitle="Cluster-wide settings" />
      <Suspense fallback={<Loading what="Loading repositories" />}>
        <Repositories />
      </Suspense>
    </>
  );
}

/** Package repositories (Cosmos's): searched in order, the first that has a package wins. */
function Repositories() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow();
  const repos = useQuery(trpc.catalog.repositories.queryOptions());
  // The repository whose skipped entries are open, in the URL (`?skipped=<name>`) to be shared.
  const [params, setParams] = useUrlParams();
  const open = params.get('skipped');
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
            {repos.data.map((r) => {
              const expanded = open === r.name && r.skipped.length > 0;
              return (
                <Fragment key={r.name}>
                  <tr className={rowClass} data-testid={`repo-${r.name}`}>
                    <td className={`${tdClass} tabular-nums`}>{r.priority}</td>
                    <td className={`${tdClass} font-medium`}>{r.name}</td>
                    <td className={`${tdClass} font-mono text-xs break-all`}>{r.uri}</td>
                    <td className={`${tdClass} whitespace-nowrap`}>
                      <span className="tabular-nums" data-testid="repo-packages">
                        {r.packages}
                      </span>
                      {r.skipped.length > 0 && (
                        <button
                          type="button"
                          onClick={() => setParams({ skipped: expanded ? null : r.name })}
                          aria-expanded={expanded}
                          aria-controls={`skipped-${r.name}`}
                          title="Entries of this repository Atoll could not read"
                          data-testid="repo-skipped"
                          className="ml-2 inline-flex items-center gap-1 rounded-full bg-amber-500/15 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-amber-600/30 ring-inset hover:bg-amber-500/25 dark:text-amber-300 dark:ring-amber-400/25"
                        >
                          {r.skipped.length} skipped
                          <IconChevron
                            className={cx('size-3 transition-transform', expanded && 'rotate-90')}
                          />
                        </button>
                      )}
                    </td>
                    <td className={`${tdClass} text-muted`}>
                      {r.fetchedAt ? fmtAgo(r.fetchedAt, now) : 'built in'}
                    </td>
                    <td className={`${tdClass} text-right`}>
                      <Button
                        size="sm"
                        variant="danger"
                        onClick={() => setRemoving(r)}
                        data-testid="remove-repo"
                      >
                        Remove
                      </Button>
                    </td>
                  </tr>
                  {expanded && (
                    <tr id={`skipped-${r.name}`} data-testid={`repo-skipped-${r.name}`}>
                      <td colSpan={6} className="border-b border-line bg-surface-2/50 px-3 py-3">
                        <SkippedEntries repo={r} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
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

/** The entries of a repository Atoll could not read when it was added, and why each was left out. */
function SkippedEntries({ repo }: { repo: Repository }) {
  const th = 'px-2 py-1 text-left text-[11px] font-semibold tracking-wide text-muted uppercase';
  const td = 'border-t border-line px-2 py-1.5 align-baseline';
  return (
    <div className="text-sm">
      <p className="mb-2 text-muted">
        {repo.skipped.length === 1
          ? 'This entry of the index could not be read and was left out'
          : 'These entries of the index could not be read and were left out'}
        ; the repository’s other packages are in the catalog.
      </p>
      <div className="overflow-x-auto rounded-md border border-line bg-surface">
        <table className="w-full border-collapse">
          <thead>
            <tr>
              <th className={`${th} w-28`}>Entry</th>
              <th className={th}>Name</th>
              <th className={th}>Version</th>
              <th className={th}>Reason</th>
            </tr>
          </thead>
          <tbody>
            {repo.skipped.map((x) => (
              <tr key={`${x.index}-${x.path ?? ''}`} data-testid="skipped-entry">
                <td className={`${td} font-mono text-xs text-muted tabular-nums`}>
                  {x.path ?? `packages[${x.index}]`}
                </td>
                <td className={`${td} font-medium`}>{x.name ?? <span className="text-muted">—</span>}</td>
                <td className={`${td} font-mono text-xs`}>
                  {x.version ?? <span className="text-muted">—</span>}
                </td>
                <td className={`${td} font-mono text-xs break-words`} data-testid="skipped-reason">
                  {x.reason}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

'use client';

import { useQuery } from '@tanstack/react-query';
import { Suspense, useMemo, useState, type FormEvent } from 'react';
import {
  Button,
  Card,
  Empty,
  ErrorBox,
  FilterInput,
  Input,
  Loading,
  PageHeader,
  Table,
  cx,
  inputClass,
  rowClass,
  tdClass,
  thClass,
} from '../../../components/ui';
import { VipTable } from '../../../components/vips';
import { useTRPC } from '../../../lib/trpc';
import type { RouterOutputs } from '../../../lib/types';
import { useUrlParams } from '../../../lib/url-state';

type Answer = RouterOutputs['network']['resolve'];

export default function NetworkingPage() {
  return (
    <Suspense fallback={<Loading />}>
      <Networking />
    </Suspense>
  );
}

function Networking() {
  return (
    <>
      <PageHeader
        title="Networking"
        subtitle="Service discovery: the names the cluster's DNS answers (Mesos-DNS's and Atoll's), and virtual IPs"
      />
      <div className="space-y-4">
        <VipTable />
        <ResolveBox />
        <Records />
      </div>
    </>
  );
}

/** "What does this name answer?", from the same view the DNS servers answer from. */
function ResolveBox() {
  const trpc = useTRPC();
  const [params, setParams] = useUrlParams();
  const asked = params.get('name') ?? '';
  const type = (params.get('type') ?? 'ANY') as 'A' | 'SRV' | 'ANY';
  const [name, setName] = useState(asked);
  const [kind, setKind] = useState(type);
  const answer = useQuery(
    trpc.network.resolve.queryOptions(
      { name: asked, type },
      { enabled: asked !== '', refetchInterval: 5_000 },
    ),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setParams({ name: name.trim(), type: kind === 'ANY' ? null : kind });
  };
  return (
    <Card title="Resolve">
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3 p-4">
        <label className="min-w-72 flex-1 text-sm">
          <span className="mb-1 block font-medium">Name</span>
          <Input
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="web-prod.marathon.mesos, _web-prod._tcp.marathon.mesos, web.prod.atoll"
            data-testid="resolve-name"
          />
        </label>
        <label className="text-sm">
          <span className="mb-1 block font-medium">Type</span>
          <select
            className={cx(inputClass, 'w-28')}
            value={kind}
            onChange={(e) => setKind(e.target.value as typeof kind)}
          >
            <option>ANY</option>
            <option>A</option>
            <option>SRV</option>
          </select>
        </label>
        <Button type="submit" variant="primary" data-testid="resolve-submit">
          Resolve
        </Button>
      </form>
      {asked && (
        <div className="border-t border-line p-4" data-testid="resolve-answer">
          {answer.error ? (
            <ErrorBox error={answer.error} />
          ) : answer.isPending ? (
            <Loading what="Resolving" />
          ) : (
            <AnswerView answer={answer.data} />
          )}
        </div>
      )}
    </Card>
  );
}

function AnswerView({ answer }: { answer: Answer }) {
  switch (answer.kind) {
    case 'a':
      return (
        <ul className="space-y-1 font-mono text-sm" data-kind="a">
          {answer.addresses.map((ip) => (
            <li key={ip}>
              {answer.name}. A {ip}
            </li>
          ))}
        </ul>
      );
    case 'srv':
      return (
        <ul className="space-y-1 font-mono text-sm" data-kind="srv">
          {answer.targets.map((t) => (
            <li key={`${t.target}:${t.port}`}>
              {answer.name}. SRV 0 0 {t.port} {t.target}. ({t.addresses.join(', ') || 'no address'})
            </li>
          ))}
        </ul>
      );
    case 'nodata':
      return (
        <p className="text-sm text-muted" data-kind="nodata">
          {answer.name} exists, with no record of this type.
        </p>
      );
    case 'nxdomain':
      return (
        <p className="text-sm text-red-600 dark:text-red-400" data-kind="nxdomain">
          NXDOMAIN: no such name in the cluster.
        </p>
      );
    case 'forward':
      return (
        <p className="text-sm text-muted" data-kind="forward">
          Not a cluster name: the cluster&apos;s DNS servers forward it to the hosts&apos; resolvers.
        </p>
      );
  }
}

/** Every name published, filterable. */
function Records() {
  const trpc = useTRPC();
  const records = useQuery(trpc.network.records.queryOptions(undefined, { refetchInterval: 5_000 }));
  const [filter, setFilter] = useState('');
  const rows = useMemo(() => {
    if (!records.data) return [];
    const f = filter.toLowerCase();
    return [
      ...Object.entries(records.data.a).map(([name, ips]) => ({ name, type: 'A', value: ips.join(', ') })),
      ...Object.entries(records.data.srv).map(([name, ts]) => ({
        name,
        type: 'SRV',
        value: ts.map((t) => `${t.target}:${t.port}`).join(', '),
      })),
    ]
      .filter((r) => !f || r.name.includes(f) || r.value.includes(f))
      .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
  }, [records.data, filter]);
  return (
    <Card
      title={`DNS records${records.data ? ` · TTL ${records.data.ttl} s` : ''}`}
      actions={
        <FilterInput value={filter} onChange={setFilter} placeholder="Filter names" testId="records-filter" />
      }
    >
      {records.error ? (
        <div className="p-4">
          <ErrorBox error={records.error} />
        </div>
      ) : records.isPending ? (
        <Loading what="Loading records" />
      ) : rows.length === 0 ? (
        <Empty>No record{filter ? ' matches' : ''}.</Empty>
      ) : (
        <Table>
          <thead>
            <tr>
              <th className={thClass}>Name</th>
              <th className={thClass}>Type</th>
              <th className={thClass}>Answer</th>
            </tr>
          </thead>
          <tbody data-testid="dns-records">
            {rows.map((r) => (
              <tr key={`${r.type}:${r.name}`} className={rowClass}>
                <td className={`${tdClass} font-mono text-xs`}>{r.name}</td>
                <td className={tdClass}>{r.type}</td>
                <td className={`${tdClass} font-mono text-xs break-all`}>{r.value}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Card>
  );
}

'use client';

import { useQuery } from '@tanstack/react-query';
import { Suspense, useState } from 'react';
import { AccountsTable, CreateAccountDialog, MyAccount } from '../../../components/organization';
import { Button, Card, ErrorBox, Loading, PageHeader, Tabs } from '../../../components/ui';
import { useTRPC } from '../../../lib/trpc';
import { useUrlParams } from '../../../lib/url-state';

type Tab = 'users' | 'service' | 'me';

export default function OrganizationPage() {
  return (
    <Suspense fallback={<Loading what="Loading" />}>
      <Organization />
    </Suspense>
  );
}

/**
 * DC/OS's Organization page: users and service accounts (admins), and everyone's own account —
 * password, API tokens, sessions. The tab is in the URL (`?tab=service`).
 */
function Organization() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: Infinity, refetchInterval: false }));
  const isAdmin = me.data?.role === 'admin';
  const users = useQuery(trpc.users.list.queryOptions(undefined, { enabled: isAdmin }));
  const [params, setParams] = useUrlParams();
  const asked = params.get('tab') as Tab | null;
  const tab: Tab = !isAdmin ? 'me' : asked === 'service' || asked === 'me' ? asked : 'users';
  const [creating, setCreating] = useState<'user' | 'service' | null>(null);

  if (me.isPending) return <Loading what="Loading" />;
  const humans = users.data?.filter((u) => u.kind === 'user') ?? [];
  const services = users.data?.filter((u) => u.kind === 'service') ?? [];
  const tabs = isAdmin
    ? [
        { key: 'users' as const, label: `Users${users.data ? ` (${humans.length})` : ''}` },
        { key: 'service' as const, label: `Service accounts${users.data ? ` (${services.length})` : ''}` },
        { key: 'me' as const, label: 'My account' },
      ]
    : [{ key: 'me' as const, label: 'My account' }];

  return (
    <>
      <PageHeader
        title="Organization"
        subtitle={
          isAdmin
            ? 'Users log in with a password; service accounts use API tokens. Roles: viewer, operator, admin.'
            : `Signed in as ${me.data?.username ?? ''} (${me.data?.role ?? ''})`
        }
        actions={
          isAdmin && tab !== 'me' ? (
            <Button
              variant="primary"
              onClick={() => setCreating(tab === 'service' ? 'service' : 'user')}
              data-testid={tab === 'service' ? 'new-service-account' : 'new-user'}
            >
              {tab === 'service' ? 'New service account' : 'New user'}
            </Button>
          ) : null
        }
      />
      <Tabs tabs={tabs} active={tab} onChange={(k) => setParams({ tab: k === 'users' ? null : k })} />
      {tab === 'me' ? (
        <MyAccount />
      ) : (
        <Card>
          {users.error ? (
            <div className="p-4">
              <ErrorBox error={users.error} />
            </div>
          ) : users.isPending ? (
            <Loading what="Loading accounts" />
          ) : (
            <AccountsTable
              accounts={tab === 'service' ? services : humans}
              kind={tab === 'service' ? 'service' : 'user'}
              me={me.data?.username}
            />
          )}
        </Card>
      )}
      {creating && <CreateAccountDialog kind={creating} onClose={() => setCreating(null)} />}
    </>
  );
}

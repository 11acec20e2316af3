'use client';

import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import {
  DeleteSecretDialog,
  RotateKeysDialog,
  SecretDialog,
  SecretsTable,
  type Secret,
} from '../../../components/secrets';
import { Button, FilterInput, ListCard, PageHeader } from '../../../components/ui';
import { useTRPC } from '../../../lib/trpc';

/**
 * DC/OS's Secrets page: secrets by path, who uses them, and the keyring. Values are write-only:
 * the server never sends one, so this page never shows one.
 */
export default function SecretsPage() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: Infinity, refetchInterval: false }));
  const canOperate = me.data?.role === 'operator' || me.data?.role === 'admin';
  const isAdmin = me.data?.role === 'admin';
  // Who uses a secret changes with every deploy, which live updates do not announce for this
  // list: fetched again each time the page opens.
  const secrets = useQuery(
    trpc.secrets.list.queryOptions(undefined, { enabled: canOperate, refetchOnMount: 'always' }),
  );
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState<Secret | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Secret | null>(null);
  const [rotating, setRotating] = useState(false);
  const shown = (secrets.data ?? []).filter(
    (s) =>
      !filter ||
      s.path.includes(filter) ||
      (s.description ?? '').toLowerCase().includes(filter.toLowerCase()),
  );

  return (
    <>
      <PageHeader
        title="Secrets"
        subtitle={
          <>
            Encrypted at rest; a service or job refers to one by path (
            <code className="font-mono text-xs">{'secrets: {"db": {"source": "/team-a/db-password"}}'}</code>)
            and only its tasks receive the value.
          </>
        }
        actions={
          canOperate ? (
            <>
              {isAdmin && (
                <Button onClick={() => setRotating(true)} data-testid="rotate-keys">
                  Rotate keys
                </Button>
              )}
              <Button variant="primary" onClick={() => setEditing('new')} data-testid="new-secret">
                New secret
              </Button>
            </>
          ) : null
        }
      />
      {me.data && !canOperate ? (
        <p className="text-sm text-muted" data-testid="secrets-forbidden">
          Secrets are for operators and admins: the {me.data.role} role does not see them.
        </p>
      ) : (
        <ListCard
          toolbar={<FilterInput value={filter} onChange={setFilter} />}
          query={secrets}
          loading="Loading secrets"
          empty={
            shown.length > 0
              ? null
              : filter
                ? 'No secret matches the filter.'
                : 'No secrets yet. Create one, then refer to it from a service’s env.'
          }
        >
          {() => <SecretsTable secrets={shown} onEdit={setEditing} onDelete={setDeleting} />}
        </ListCard>
      )}
      {editing && (
        <SecretDialog existing={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} />
      )}
      {deleting && <DeleteSecretDialog secret={deleting} onClose={() => setDeleting(null)} />}
      {rotating && <RotateKeysDialog onClose={() => setRotating(false)} />}
    </>
  );
}

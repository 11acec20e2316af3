'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { fmtAgo, fmtTime } from '../lib/format';
import { fieldIssues, useNow, useTRPC } from '../lib/trpc';
import type { RouterOutputs } from '../lib/types';
import {
  Button,
  Card,
  ConfirmDialog,
  Dialog,
  Empty,
  ErrorBox,
  FieldError,
  Input,
  Loading,
  MutationError,
  Table,
  cx,
  inputClass,
  rowClass,
  tdClass,
  thClass,
} from './ui';

export type Account = RouterOutputs['users']['list'][number];
type Token = RouterOutputs['auth']['listApiTokens'][number];
type Role = 'viewer' | 'operator' | 'admin';

export const PASSWORD_RULES =
  'At least 10 characters, not the username, not a common password (a passphrase of a few words is good).';

const roleHelp: Record<Role, string> = {
  viewer: 'reads everything but secrets',
  operator: 'also deploys, scales, restarts, reads logs and opens exec sessions',
  admin: 'also manages users, nodes, repositories and settings',
};

/** "… ago" that never says "in 2s" for what the server stamped a moment before this page's clock ticked. */
function ago(iso: string | null | undefined, now: number): string {
  return fmtAgo(iso, iso ? Math.max(now, Date.parse(iso)) : now);
}

/** The error of `field` among a failed mutation's issues (zod's or the service's 422). */
function issueOf(error: unknown, field: string): string | undefined {
  return fieldIssues(error).find((i) => i.path === field)?.message;
}

/** A labelled field with its error underneath. */
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

export function StateBadge({ account, now }: { account: Account; now: number }) {
  const locked = account.lockedUntil && Date.parse(account.lockedUntil) > now;
  const [label, tone] = account.disabled
    ? ['Disabled', 'bg-slate-500/12 text-slate-600 ring-slate-500/25 dark:text-slate-300']
    : locked
      ? ['Locked', 'bg-amber-500/15 text-amber-800 ring-amber-600/30 dark:text-amber-300']
      : ['Active', 'bg-emerald-500/12 text-emerald-700 ring-emerald-600/25 dark:text-emerald-300'];
  return (
    <span
      data-testid="account-state"
      data-state={label.toLowerCase()}
      title={locked ? `Locked until ${fmtTime(account.lockedUntil)} after repeated failed logins` : undefined}
      className={cx('inline-flex rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset', tone)}
    >
      {label}
    </span>
  );
}

function RoleSelect({
  value,
  onChange,
  testId,
}: {
  value: Role;
  onChange: (r: Role) => void;
  testId?: string;
}) {
  return (
    <select
      className={inputClass}
      value={value}
      onChange={(e) => onChange(e.target.value as Role)}
      data-testid={testId}
    >
      {(['viewer', 'operator', 'admin'] as const).map((r) => (
        <option key={r} value={r}>
          {r} — {roleHelp[r]}
        </option>
      ))}
    </select>
  );
}

function useRefreshUsers() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: trpc.users.pathKey() });
}

/** Creating a user (with a password, the rules shown) or a service account (without one). */
export function CreateAccountDialog({ kind, onClose }: { kind: 'user' | 'service'; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshUsers();
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [scope, setScope] = useState('');
  const [password, setPassword] = useState('');
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: async () => {
        await refresh();
        onClose();
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({
      username,
      kind,
      role,
      ...(scope.trim() ? { scope: scope.trim() } : {}),
      ...(kind === 'user' ? { password } : {}),
    });
  };
  const err = create.error;
  const fields = ['username', 'role', 'scope', 'password', 'kind'];
  const other = err && !fieldIssues(err).some((i) => fields.includes(i.path));
  return (
    <Dialog
      open
      onClose={onClose}
      title={kind === 'user' ? 'New user' : 'New service account'}
      testId="create-account-dialog"
    >
      <form onSubmit={submit} className="grid gap-3" noValidate>
        {kind === 'service' && (
          <p className="text-sm text-muted">
            A service account has no password: scripts and CI use its API tokens, created on its Tokens page.
          </p>
        )}
        <Field
          label={kind === 'user' ? 'Username' : 'Name'}
          error={issueOf(err, 'username')}
          hint="a-z, 0-9, dot, underscore and hyphen"
        >
          <Input
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            aria-invalid={issueOf(err, 'username') !== undefined}
            autoComplete="off"
            data-autofocus
            data-testid="account-username"
          />
        </Field>
        <Field label="Role" error={issueOf(err, 'role')}>
          <RoleSelect value={role} onChange={setRole} testId="account-role" />
        </Field>
        <Field
          label="Scope (optional)"
          error={issueOf(err, 'scope')}
          hint="A group path such as /team-a limits an operator or viewer to it; empty means the whole cluster."
        >
          <Input
            value={scope}
            onChange={(e) => setScope(e.target.value)}
            placeholder="/team-a"
            disabled={role === 'admin'}
            aria-invalid={issueOf(err, 'scope') !== undefined}
            data-testid="account-scope"
          />
        </Field>
        {kind === 'user' && (
          <Field label="Password" error={issueOf(err, 'password')} hint={PASSWORD_RULES}>
            <Input
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="new-password"
              aria-invalid={issueOf(err, 'password') !== undefined}
              data-testid="account-password"
            />
          </Field>
        )}
        {other ? <MutationError error={err} title="Could not create" /> : null}
        <div className="mt-2 flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={create.isPending} data-testid="account-create">
            {create.isPending ? 'Creating…' : 'Create'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function EditAccountDialog({ account, onClose }: { account: Account; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshUsers();
  const [role, setRole] = useState<Role>(account.role as Role);
  const [scope, setScope] = useState(account.scope ?? '');
  const update = useMutation(
    trpc.users.update.mutationOptions({
      onSuccess: async () => {
        await refresh();
        onClose();
      },
    }),
  );
  const err = update.error;
  return (
    <Dialog open onClose={onClose} title={`Role of ${account.username}`} testId="edit-account-dialog">
      <form
        className="grid gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({ id: account.id, role, scope: role === 'admin' ? null : scope.trim() || null });
        }}
      >
        <Field label="Role" error={issueOf(err, 'role')}>
          <RoleSelect value={role} onChange={setRole} testId="edit-role" />
        </Field>
        <Field
          label="Scope"
          error={issueOf(err, 'scope')}
          hint="Empty: the whole cluster. Admins are never scoped."
        >
          <Input
            value={role === 'admin' ? '' : scope}
            onChange={(e) => setScope(e.target.value)}
            disabled={role === 'admin'}
            placeholder="/team-a"
            data-testid="edit-scope"
          />
        </Field>
        {err && fieldIssues(err).length === 0 ? <MutationError error={err} title="Could not change" /> : null}
        <div className="mt-2 flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button
            type="submit"
            variant="primary"
            disabled={update.isPending}
            data-testid="edit-save"
            data-autofocus
          >
            {update.isPending ? 'Saving…' : 'Save'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** An admin sets a user's password or has one generated, shown here once. */
function ResetPasswordDialog({ account, onClose }: { account: Account; onClose: () => void }) {
  const trpc = useTRPC();
  const refresh = useRefreshUsers();
  const [password, setPassword] = useState('');
  const reset = useMutation(trpc.users.resetPassword.mutationOptions({ onSuccess: () => refresh() }));
  const done = reset.data;
  return (
    <Dialog
      open
      onClose={onClose}
      title={`Reset the password of ${account.username}`}
      testId="reset-password-dialog"
    >
      {done ? (
        <div className="grid gap-3 text-sm">
          {done.generatedPassword ? (
            <>
              <p>The new password, shown only now — hand it to {account.username} to log in and change it:</p>
              <code
                className="rounded-md border border-line bg-surface-2 px-3 py-2 font-mono text-sm break-all select-all"
                data-testid="generated-password"
              >
                {done.generatedPassword}
              </code>
            </>
          ) : (
            <p>The password of {account.username} is set.</p>
          )}
          <p className="text-muted">
            {done.revokedSessions} session(s) of {account.username} ended.
          </p>
          <div className="flex justify-end">
            <Button variant="primary" onClick={onClose} data-autofocus data-testid="reset-done">
              Done
            </Button>
          </div>
        </div>
      ) : (
        <form
          className="grid gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            reset.mutate({ id: account.id, ...(password ? { password } : {}) });
          }}
        >
          <p className="text-sm text-muted">
            Leave the field empty to generate a password. Either way the user’s sessions end and a lockout is
            lifted.
          </p>
          <Field
            label="New password (optional)"
            error={issueOf(reset.error, 'password')}
            hint={PASSWORD_RULES}
          >
            <Input
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="new-password"
              data-autofocus
              data-testid="reset-password-input"
            />
          </Field>
          {reset.error && fieldIssues(reset.error).length === 0 ? (
            <MutationError error={reset.error} />
          ) : null}
          <div className="mt-2 flex justify-end gap-2">
            <Button onClick={onClose}>Cancel</Button>
            <Button type="submit" variant="primary" disabled={reset.isPending} data-testid="reset-submit">
              {password ? 'Set password' : 'Generate password'}
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** Creating a token shows it once; the list shows names and dates, never the secret. */
function TokenPanel({
  tokens,
  create,
  revoke,
  testPrefix,
}: {
  tokens: { data: Token[] | undefined; error: unknown; isPending: boolean };
  create: {
    mutate: (name: string, days?: number) => void;
    data: { token: string } | undefined;
    error: unknown;
    isPending: boolean;
  };
  revoke: { mutate: (id: string) => void; error: unknown; isPending: boolean };
  testPrefix: string;
}) {
  const now = useNow();
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  return (
    <div className="grid gap-3">
      {tokens.error ? (
        <ErrorBox error={tokens.error} />
      ) : tokens.isPending ? (
        <Loading what="Loading tokens" />
      ) : tokens.data && tokens.data.length > 0 ? (
        <Table>
          <thead>
            <tr>
              <th className={thClass}>Name</th>
              <th className={thClass}>Created</th>
              <th className={thClass}>Expires</th>
              <th className={thClass}>Last used</th>
              <th className={thClass}>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((t) => (
              <tr key={t.id} className={rowClass} data-testid={`${testPrefix}-token-row`}>
                <td className={`${tdClass} font-medium`}>{t.name}</td>
                <td className={`${tdClass} text-muted`}>{ago(t.createdAt, now)}</td>
                <td className={`${tdClass} text-muted`}>{t.expiresAt ? fmtTime(t.expiresAt) : 'never'}</td>
                <td className={`${tdClass} text-muted`}>{ago(t.lastUsedAt, now)}</td>
                <td className={`${tdClass} text-right`}>
                  <Button
                    size="sm"
                    variant="danger"
                    disabled={revoke.isPending}
                    onClick={() => revoke.mutate(t.id)}
                    data-testid={`${testPrefix}-token-revoke`}
                  >
                    Revoke
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      ) : (
        <Empty>No tokens.</Empty>
      )}
      {revoke.error ? <MutationError error={revoke.error} title="Could not revoke" /> : null}
      <form
        className="grid gap-3 md:grid-cols-[1fr_9rem_auto]"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(name, days ? Number(days) : undefined);
          setName('');
        }}
      >
        <Field label="Token name" error={issueOf(create.error, 'name')}>
          <Input
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="ci-deploy"
            data-testid={`${testPrefix}-token-name`}
          />
        </Field>
        <Field label="Expires in days" error={issueOf(create.error, 'expiresInDays')}>
          <Input
            value={days}
            onChange={(e) => setDays(e.target.value)}
            placeholder="never"
            inputMode="numeric"
            data-testid={`${testPrefix}-token-days`}
          />
        </Field>
        <div className="flex items-end">
          <Button
            type="submit"
            variant="primary"
            disabled={create.isPending}
            data-testid={`${testPrefix}-token-create`}
          >
            Create token
          </Button>
        </div>
      </form>
      {create.error && fieldIssues(create.error).length === 0 ? <MutationError error={create.error} /> : null}
      {create.data && (
        <div
          className="rounded-md border border-emerald-500/30 bg-emerald-500/8 px-3 py-2 text-sm"
          role="status"
        >
          <p className="mb-1">The new token, shown only now — store it where it is used:</p>
          <code
            className="block font-mono text-xs break-all select-all"
            data-testid={`${testPrefix}-new-token`}
          >
            {create.data.token}
          </code>
        </div>
      )}
    </div>
  );
}

function ServiceTokensDialog({ account, onClose }: { account: Account; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = useRefreshUsers();
  const tokens = useQuery(trpc.users.tokens.queryOptions({ id: account.id }));
  const invalidate = async () => {
    await queryClient.invalidateQueries({ queryKey: trpc.users.tokens.queryKey({ id: account.id }) });
    await refresh();
  };
  const create = useMutation(trpc.users.createToken.mutationOptions({ onSuccess: invalidate }));
  const revoke = useMutation(trpc.users.revokeToken.mutationOptions({ onSuccess: invalidate }));
  return (
    <Dialog
      open
      onClose={onClose}
      title={`Tokens of ${account.username}`}
      testId="service-tokens-dialog"
      wide
    >
      <TokenPanel
        testPrefix="service"
        tokens={tokens}
        create={{
          mutate: (name, days) =>
            create.mutate({ id: account.id, name, ...(days !== undefined ? { expiresInDays: days } : {}) }),
          data: create.data,
          error: create.error,
          isPending: create.isPending,
        }}
        revoke={{
          mutate: (tokenId) => revoke.mutate({ id: account.id, tokenId }),
          error: revoke.error,
          isPending: revoke.isPending,
        }}
      />
      <div className="mt-4 flex justify-end">
        <Button onClick={onClose}>Close</Button>
      </div>
    </Dialog>
  );
}

type Action = { kind: 'edit' | 'reset' | 'delete' | 'tokens' | 'toggle'; account: Account } | null;

/** The users or the service accounts, with their actions. */
export function AccountsTable({
  accounts,
  kind,
  me,
}: {
  accounts: Account[];
  kind: 'user' | 'service';
  me: string | undefined;
}) {
  const trpc = useTRPC();
  const now = useNow();
  const refresh = useRefreshUsers();
  const [action, setAction] = useState<Action>(null);
  const close = () => setAction(null);
  const remove = useMutation(
    trpc.users.remove.mutationOptions({ onSuccess: async () => (await refresh(), close()) }),
  );
  const disable = useMutation(
    trpc.users.disable.mutationOptions({ onSuccess: async () => (await refresh(), close()) }),
  );
  const enable = useMutation(trpc.users.enable.mutationOptions({ onSuccess: () => refresh() }));
  if (accounts.length === 0)
    return (
      <Empty>
        {kind === 'user' ? 'No users.' : 'No service accounts yet: create one for CI or scripts.'}
      </Empty>
    );
  return (
    <>
      <Table>
        <thead>
          <tr>
            <th className={thClass}>{kind === 'user' ? 'Username' : 'Name'}</th>
            <th className={thClass}>Role</th>
            <th className={thClass}>Scope</th>
            <th className={thClass}>State</th>
            {kind === 'service' && <th className={thClass}>Tokens</th>}
            <th className={thClass}>Created</th>
            <th className={thClass}>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((a) => (
            <tr key={a.id} className={rowClass} data-testid={`account-${a.username}`}>
              <td className={`${tdClass} font-medium`}>
                {a.username}
                {a.username === me && <span className="ml-2 text-xs text-muted">(you)</span>}
              </td>
              <td className={tdClass} data-testid="account-role-cell">
                {a.role}
              </td>
              <td className={`${tdClass} font-mono text-xs`}>
                {a.scope ?? <span className="text-muted">all</span>}
              </td>
              <td className={tdClass}>
                <StateBadge account={a} now={now} />
              </td>
              {kind === 'service' && <td className={`${tdClass} tabular-nums`}>{a.tokens}</td>}
              <td className={`${tdClass} text-muted`} title={fmtTime(a.createdAt)}>
                {ago(a.createdAt, now)}
              </td>
              <td className={`${tdClass} text-right whitespace-nowrap`}>
                <div className="inline-flex gap-1.5">
                  {kind === 'service' && (
                    <Button
                      size="sm"
                      onClick={() => setAction({ kind: 'tokens', account: a })}
                      data-testid="account-tokens"
                    >
                      Tokens
                    </Button>
                  )}
                  <Button
                    size="sm"
                    onClick={() => setAction({ kind: 'edit', account: a })}
                    data-testid="account-edit"
                  >
                    Role
                  </Button>
                  {kind === 'user' && (
                    <Button
                      size="sm"
                      onClick={() => setAction({ kind: 'reset', account: a })}
                      data-testid="account-reset"
                    >
                      Reset password
                    </Button>
                  )}
                  {a.disabled ? (
                    <Button
                      size="sm"
                      disabled={enable.isPending}
                      onClick={() => enable.mutate({ id: a.id })}
                      data-testid="account-enable"
                    >
                      Enable
                    </Button>
                  ) : (
                    <Button
                      size="sm"
                      onClick={() => setAction({ kind: 'toggle', account: a })}
                      data-testid="account-disable"
                    >
                      Disable
                    </Button>
                  )}
                  <Button
                    size="sm"
                    variant="danger"
                    onClick={() => setAction({ kind: 'delete', account: a })}
                    data-testid="account-delete"
                  >
                    Delete
                  </Button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </Table>
      {enable.error ? (
        <div className="p-3">
          <MutationError error={enable.error} title="Could not enable" />
        </div>
      ) : null}
      {action?.kind === 'edit' && <EditAccountDialog account={action.account} onClose={close} />}
      {action?.kind === 'reset' && <ResetPasswordDialog account={action.account} onClose={close} />}
      {action?.kind === 'tokens' && <ServiceTokensDialog account={action.account} onClose={close} />}
      <ConfirmDialog
        open={action?.kind === 'toggle'}
        onClose={() => (close(), disable.reset())}
        onConfirm={() => action && disable.mutate({ id: action.account.id })}
        title={`Disable ${action?.account.username ?? ''}`}
        message="Its sessions end at once and its API tokens stop working until it is enabled again."
        confirmLabel="Disable"
        pending={disable.isPending}
        error={disable.error}
        confirmTestId="confirm-disable"
      />
      <ConfirmDialog
        open={action?.kind === 'delete'}
        onClose={() => (close(), remove.reset())}
        onConfirm={() => action && remove.mutate({ id: action.account.id })}
        title={`Delete ${action?.account.username ?? ''}`}
        message={`The ${action?.account.kind === 'service' ? 'service account' : 'user'} and all its sessions and API tokens are deleted for good.`}
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.error}
        confirmTestId="confirm-delete"
      />
    </>
  );
}

/** Your own password, API tokens and sessions: for every logged-in user. */
export function MyAccount() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow();
  const me = useQuery(trpc.auth.me.queryOptions());
  const tokens = useQuery(trpc.auth.listApiTokens.queryOptions());
  const sessions = useQuery(trpc.auth.sessions.queryOptions());
  const invalidateTokens = () =>
    queryClient.invalidateQueries({ queryKey: trpc.auth.listApiTokens.queryKey() });
  const invalidateSessions = () => queryClient.invalidateQueries({ queryKey: trpc.auth.sessions.queryKey() });
  const createToken = useMutation(trpc.auth.createApiToken.mutationOptions({ onSuccess: invalidateTokens }));
  const revokeToken = useMutation(trpc.auth.revokeApiToken.mutationOptions({ onSuccess: invalidateTokens }));
  const revokeSession = useMutation(
    trpc.auth.revokeSession.mutationOptions({ onSuccess: invalidateSessions }),
  );
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation(
    trpc.auth.changePassword.mutationOptions({
      onSuccess: async () => {
        setCurrent('');
        setNext('');
        setAgain('');
        await invalidateSessions();
      },
    }),
  );
  const isService = me.data?.kind === 'service';
  return (
    <div className="grid gap-4">
      <Card title="Password">
        {isService ? (
          <p className="p-4 text-sm text-muted">A service account has no password.</p>
        ) : (
          <form
            className="grid max-w-md gap-3 p-4"
            onSubmit={(e) => {
              e.preventDefault();
              setMismatch(next !== again);
              if (next === again) change.mutate({ currentPassword: current, newPassword: next });
            }}
          >
            <Field label="Current password" error={issueOf(change.error, 'currentPassword')}>
              <Input
                type="password"
                value={current}
                onChange={(e) => setCurrent(e.target.value)}
                autoComplete="current-password"
                data-testid="my-current-password"
              />
            </Field>
            <Field label="New password" error={issueOf(change.error, 'newPassword')} hint={PASSWORD_RULES}>
              <Input
                type="password"
                value={next}
                onChange={(e) => setNext(e.target.value)}
                autoComplete="new-password"
                data-testid="my-new-password"
              />
            </Field>
            <Field label="New password again" error={mismatch ? 'The two new passwords differ' : undefined}>
              <Input
                type="password"
                value={again}
                onChange={(e) => setAgain(e.target.value)}
                autoComplete="new-password"
                data-testid="my-new-password-again"
              />
            </Field>
            {change.error && fieldIssues(change.error).length === 0 ? (
              <MutationError error={change.error} />
            ) : null}
            {change.data && (
              <p
                className="text-sm text-emerald-700 dark:text-emerald-300"
                role="status"
                data-testid="password-changed"
              >
                Password changed; {change.data.revokedSessions} other session(s) ended.
              </p>
            )}
            <div>
              <Button
                type="submit"
                variant="primary"
                disabled={change.isPending}
                data-testid="my-change-password"
              >
                Change password
              </Button>
            </div>
          </form>
        )}
      </Card>
      <Card title="My API tokens">
        <div className="p-4">
          <TokenPanel
            testPrefix="my"
            tokens={tokens}
            create={{
              mutate: (name) => createToken.mutate({ name }),
              data: createToken.data,
              error: createToken.error,
              isPending: createToken.isPending,
            }}
            revoke={{
              mutate: (id) => revokeToken.mutate({ id }),
              error: revokeToken.error,
              isPending: revokeToken.isPending,
            }}
          />
        </div>
      </Card>
      <Card title="My sessions">
        {sessions.error ? (
          <div className="p-4">
            <ErrorBox error={sessions.error} />
          </div>
        ) : sessions.isPending ? (
          <Loading what="Loading sessions" />
        ) : (
          <Table>
            <thead>
              <tr>
                <th className={thClass}>Logged in</th>
                <th className={thClass}>Last seen</th>
                <th className={thClass}>Ends unless used</th>
                <th className={thClass}>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.map((s) => (
                <tr key={s.id} className={rowClass} data-testid="my-session-row">
                  <td className={tdClass} title={fmtTime(s.createdAt)}>
                    {ago(s.createdAt, now)}
                    {s.current && <span className="ml-2 text-xs text-muted">(this browser)</span>}
                  </td>
                  <td className={`${tdClass} text-muted`}>{ago(s.lastSeenAt, now)}</td>
                  <td className={`${tdClass} text-muted`}>{fmtTime(s.expiresAt)}</td>
                  <td className={`${tdClass} text-right`}>
                    {!s.current && (
                      <Button
                        size="sm"
                        variant="danger"
                        disabled={revokeSession.isPending}
                        onClick={() => revokeSession.mutate({ id: s.id })}
                        data-testid="my-session-revoke"
                      >
                        End
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </div>
  );
}

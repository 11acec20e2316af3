'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useState, type FormEvent } from 'react';
import { Button, FieldError, Input } from '../../components/ui';
import { Logo } from '../../components/logo';
import { errorMessage, fieldIssues, safeNextPath, useTRPC } from '../../lib/trpc';

export default function LoginPage() {
  return (
    <main className="flex min-h-full items-center justify-center p-6">
      <Suspense>
        <LoginForm />
      </Suspense>
    </main>
  );
}

function LoginForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const params = useSearchParams();
  const next = safeNextPath(params.get('next'));
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');

  const login = useMutation(
    trpc.auth.login.mutationOptions({
      onSuccess: () => {
        // Drop anything cached under the previous (missing) session.
        queryClient.clear();
        router.replace(next);
      },
    }),
  );

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate({ username, password });
  };

  const issues = login.error ? fieldIssues(login.error) : [];
  const message = login.error
    ? issues.length > 0
      ? issues.map((i) => i.message).join('; ')
      : errorMessage(login.error)
    : null;

  return (
    <div className="w-full max-w-sm">
      <div className="mb-6 flex items-center justify-center gap-2.5">
        <Logo className="size-8 text-accent" />
        <span className="text-2xl font-semibold tracking-tight">Atoll</span>
      </div>
      <form
        onSubmit={onSubmit}
        className="rounded-lg border border-line bg-surface p-6 shadow-sm"
        data-testid="login-form"
        noValidate
      >
        <h1 className="mb-5 text-base font-semibold">Log in to the cluster</h1>
        <label className="mb-4 block">
          <span className="mb-1 block text-xs font-medium text-muted">Username</span>
          <Input
            name="username"
            autoComplete="username"
            autoFocus
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            data-testid="login-username"
            aria-invalid={!!login.error}
          />
        </label>
        <label className="mb-5 block">
          <span className="mb-1 block text-xs font-medium text-muted">Password</span>
          <Input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="login-password"
            aria-invalid={!!login.error}
          />
        </label>
        <Button
          type="submit"
          variant="primary"
          className="w-full"
          disabled={login.isPending}
          data-testid="login-submit"
        >
          {login.isPending ? 'Logging in…' : 'Log in'}
        </Button>
        {message && (
          <div data-testid="login-error">
            <FieldError>{message}</FieldError>
          </div>
        )}
      </form>
    </div>
  );
}

'use client';

import type { AppRouter } from '@atoll/api';
import {
  MutationCache,
  QueryCache,
  QueryClient,
  QueryClientProvider,
  useQueryClient,
} from '@tanstack/react-query';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
} from '@trpc/client';
import { createTRPCContext, useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { isLockMessage } from './deployments';
import type { Change } from './types';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** Same origin as the console: atoll-control serves both (see DESIGN.md). */
const API_URL = '/api/trpc';

export type ApiError = TRPCClientError<AppRouter>;

/** The tRPC error code (UNAUTHORIZED, NOT_FOUND, …) of an error, if it came from the API. */
export function errorCode(err: unknown): string | undefined {
  if (!(err instanceof TRPCClientError)) return undefined;
  const data = (err as ApiError).data;
  return data?.code;
}

/**
 * True for tRPC's UNAUTHORIZED and for a bare HTTP 401: control's auth hook answers requests
 * without a valid session before tRPC sees them, with a body that is not a tRPC envelope.
 */
export function isUnauthorized(err: unknown): boolean {
  if (errorCode(err) === 'UNAUTHORIZED') return true;
  if (!(err instanceof TRPCClientError)) return false;
  const response = (err.meta as { response?: unknown } | undefined)?.response;
  return response instanceof Response && response.status === 401;
}

/** Field issues the API attaches to validation errors (`error.data.issues`). */
export function fieldIssues(err: unknown): Array<{ path: string; message: string }> {
  if (!(err instanceof TRPCClientError)) return [];
  const issues = (err as ApiError).data?.issues;
  return Array.isArray(issues) ? issues : [];
}

/**
 * Marathon's deployment lock: a write to an app under deployment answers CONFLICT "App is locked
 * by one or more deployments…" unless it is forced.
 */
export function isLocked(err: unknown): boolean {
  return errorCode(err) === 'CONFLICT' && err instanceof Error && isLockMessage(err.message);
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A path inside the console, safe to send the browser to after login (no other origins). */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

let redirecting = false;

/** Leaves the console for the login page (after logout); later 401s must not add a `next`. */
export function leaveToLogin(): void {
  redirecting = true;
  window.location.assign('/login');
}

/** Sends the browser to the login page, remembering where it was. */
export function redirectToLogin(): void {
  if (typeof window === 'undefined' || redirecting) return;
  const { pathname, search } = window.location;
  if (pathname === '/login') return;
  redirecting = true;
  window.location.assign(`/login?next=${encodeURIComponent(pathname + search)}`);
}

function isClientError(err: unknown): boolean {
  if (!(err instanceof TRPCClientError)) return false;
  const response = (err.meta as { response?: unknown } | undefined)?.response;
  const status =
    (err as ApiError).data?.httpStatus ?? (response instanceof Response ? response.status : undefined);
  return typeof status === 'number' && status >= 400 && status < 500;
}

function makeQueryClient(): QueryClient {
  const onError = (err: unknown) => {
    if (isUnauthorized(err)) redirectToLogin();
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        // Live updates invalidate what changed; this is only the fallback for a lost stream.
        staleTime: 10_000,
        refetchInterval: 30_000,
        retry: (count, err) => count < 2 && !isClientError(err),
      },
      mutations: { retry: false },
    },
  });
}

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(makeQueryClient);
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ url: API_URL }),
          false: httpBatchLink({ url: API_URL, maxURLLength: 4000 }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

export type LiveStatus = 'connecting' | 'live' | 'offline';

/**
 * Subscribes to `cluster.changes` and invalidates the queries each change names, so every page
 * follows the cluster without reloads. Bursts (a deployment touches many tasks) are coalesced.
 */
export function useLiveUpdates(): LiveStatus {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pending = useRef(new Set<Change['kind']>());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const startedBefore = useRef(false);

  const flush = useCallback(() => {
    timer.current = null;
    const kinds = pending.current;
    pending.current = new Set();
    const keys = [];
    if (kinds.has('app') || kinds.has('task') || kinds.has('deployment')) {
      keys.push(trpc.apps.pathKey());
      // Deployment progress follows task health; the launch queue follows tasks and apps.
      keys.push(trpc.deployments.pathKey(), trpc.queue.pathKey());
    }
    if (kinds.has('task')) keys.push(trpc.tasks.pathKey());
    // Allocations follow tasks.
    if (kinds.has('node') || kinds.has('task')) keys.push(trpc.nodes.pathKey());
    // Installed packages show their apps' health.
    if (kinds.has('catalog') || kinds.has('app') || kinds.has('task'))
      keys.push(trpc.catalog.installed.pathKey());
    if (kinds.has('catalog')) keys.push(trpc.catalog.pathKey());
    // Jobs, their schedules and runs; a run's task states come as task changes.
    if (kinds.has('job')) keys.push(trpc.jobs.pathKey());
    else if (kinds.has('task')) keys.push(trpc.jobs.runs.pathKey(), trpc.jobs.run.pathKey());
    if (kinds.size > 0) keys.push(trpc.cluster.events.pathKey());
    for (const queryKey of keys) void queryClient.invalidateQueries({ queryKey });
  }, [queryClient, trpc]);

  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  const sub = useSubscription(
    trpc.cluster.changes.subscriptionOptions(undefined, {
      onStarted: () => {
        // After a reconnect, changes may have been missed: refetch everything once.
        if (startedBefore.current) void queryClient.invalidateQueries();
        startedBefore.current = true;
      },
      onData: (change) => {
        pending.current.add(change.kind);
        timer.current ??= setTimeout(flush, 150);
      },
      onError: (err) => {
        if (isUnauthorized(err)) redirectToLogin();
      },
    }),
  );
  return sub.status === 'pending' ? 'live' : sub.status === 'error' ? 'offline' : 'connecting';
}

/** Current time, refreshed every `ms`, for "3 min ago" labels. */
export function useNow(ms = 10_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

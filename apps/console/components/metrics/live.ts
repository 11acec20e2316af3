'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useRef } from 'react';
import { useTRPC } from '../../lib/trpc';

/** Refetches the metrics queries as samples arrive (tRPC subscription), at most every `everyMs`. */
export function useLiveMetrics(everyMs = 3_000): void {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useSubscription(
    trpc.metrics.samples.subscriptionOptions(undefined, {
      onData: () => {
        if (timer.current) return;
        const wait = Math.max(0, last.current + everyMs - Date.now());
        timer.current = setTimeout(() => {
          timer.current = null;
          last.current = Date.now();
          void queryClient.invalidateQueries({ queryKey: trpc.metrics.pathKey() });
        }, wait);
      },
    }),
  );
}

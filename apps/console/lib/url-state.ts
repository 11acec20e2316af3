'use client';

import { usePathname, useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useState } from 'react';
import type { SortDir } from './format';

/**
 * Filters, sort order, tabs and groups live in the URL so every view can be shared. Updates use
 * history.replaceState, which Next's router picks up without a server round trip.
 */
type SetParams = (patch: Record<string, string | null | undefined>, opts?: { push?: boolean }) => void;

export function useUrlParams(): [URLSearchParams, SetParams] {
  const params = useSearchParams();
  const pathname = usePathname();
  const set = useCallback(
    (patch: Record<string, string | null | undefined>, opts?: { push?: boolean }) => {
      const next = new URLSearchParams(window.location.search);
      for (const [k, v] of Object.entries(patch)) {
        if (v === null || v === undefined || v === '') next.delete(k);
        else next.set(k, v);
      }
      // Slashes stay readable in shared links (`?group=/prod`); they are legal in a query.
      const qs = next.toString().replace(/%2F/gi, '/');
      const url = qs ? `${pathname}?${qs}` : pathname;
      // Filters and sorting replace the entry (no history spam); moving somewhere else pushes one.
      if (opts?.push) window.history.pushState(null, '', url);
      else window.history.replaceState(null, '', url);
    },
    [pathname],
  );
  return [params, set];
}

export interface SortState<K extends string> {
  key: K;
  dir: SortDir;
  toggle: (key: K) => void;
}

/** Sort column and direction in `?sort=col&dir=asc|desc`. */
export function useUrlSort<K extends string>(
  allowed: readonly K[],
  fallback: K,
  fallbackDir: SortDir = 'asc',
): SortState<K> {
  const [params, set] = useUrlParams();
  const raw = params.get('sort');
  const key = (allowed as readonly string[]).includes(raw ?? '') ? (raw as K) : fallback;
  const dirRaw = params.get('dir');
  const dir: SortDir =
    dirRaw === 'asc' || dirRaw === 'desc' ? dirRaw : key === fallback ? fallbackDir : 'asc';
  const toggle = useCallback(
    (k: K) => {
      const nextDir: SortDir = k === key ? (dir === 'asc' ? 'desc' : 'asc') : 'asc';
      set({ sort: k, dir: nextDir });
    },
    [key, dir, set],
  );
  return { key, dir, toggle };
}

/**
 * A text filter kept in `?key=`. The input reads local state so typing never waits for the
 * router; back and forward restore the value from the URL.
 */
export function useUrlText(key: string): [string, (v: string) => void] {
  const [params, set] = useUrlParams();
  const [value, setValue] = useState(() => params.get(key) ?? '');
  useEffect(() => {
    const onPop = () => setValue(new URLSearchParams(window.location.search).get(key) ?? '');
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, [key]);
  const update = useCallback(
    (v: string) => {
      setValue(v);
      set({ [key]: v });
    },
    [key, set],
  );
  return [value, update];
}

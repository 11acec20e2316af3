'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useThemeChoice, type ThemeChoice } from '../lib/theme';
import { leaveToLogin, useLiveUpdates, useTRPC, type LiveStatus } from '../lib/trpc';
import { useDeployments } from './deployments';
import {
  IconAudit,
  IconCatalog,
  IconDashboard,
  IconDeployments,
  IconEvents,
  IconJobs,
  IconMonitor,
  IconMoon,
  IconNetwork,
  IconNodes,
  IconOrganization,
  IconSecrets,
  IconServices,
  IconSettings,
  IconSun,
  IconUser,
} from './icons';
import { Logo } from './logo';
import { cx } from './ui';

const nav = [
  { href: '/', label: 'Dashboard', key: 'd', icon: IconDashboard, testId: 'nav-dashboard' },
  { href: '/services', label: 'Services', key: 's', icon: IconServices, testId: 'nav-services' },
  { href: '/deployments', label: 'Deployments', key: 'p', icon: IconDeployments, testId: 'nav-deployments' },
  { href: '/jobs', label: 'Jobs', key: 'j', icon: IconJobs, testId: 'nav-jobs' },
  { href: '/catalog', label: 'Catalog', key: 'c', icon: IconCatalog, testId: 'nav-catalog' },
  { href: '/nodes', label: 'Nodes', key: 'n', icon: IconNodes, testId: 'nav-nodes' },
  { href: '/networking', label: 'Networking', key: 'w', icon: IconNetwork, testId: 'nav-networking' },
  { href: '/events', label: 'Events', key: 'e', icon: IconEvents, testId: 'nav-events' },
  { href: '/secrets', label: 'Secrets', key: 'k', icon: IconSecrets, testId: 'nav-secrets' },
  { href: '/audit', label: 'Audit', key: 'a', icon: IconAudit, testId: 'nav-audit', admin: true },
  {
    href: '/organization',
    label: 'Organization',
    key: 'o',
    icon: IconOrganization,
    testId: 'nav-organization',
  },
  { href: '/settings', label: 'Settings', key: 't', icon: IconSettings, testId: 'nav-settings' },
] as const;

function isActive(pathname: string, href: string): boolean {
  return href === '/' ? pathname === '/' : pathname === href || pathname.startsWith(`${href}/`);
}

export function Shell({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const pathname = usePathname();
  const info = useQuery(
    trpc.cluster.info.queryOptions(undefined, { staleTime: Infinity, refetchInterval: false }),
  );
  const live = useLiveUpdates();
  // Entries marked `admin` (the audit log) are shown to admins only.
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: Infinity, refetchInterval: false }));
  const isAdmin = me.data?.role === 'admin';
  // Running deployments, counted beside their nav entry so they can be followed from anywhere.
  const deployments = useDeployments();
  const deploying = deployments.data?.length ?? 0;
  useGoShortcuts();

  return (
    <div className="flex min-h-full">
      <a
        href="#main"
        className="sr-only z-50 rounded bg-accent px-3 py-2 text-accent-fg focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <aside className="sticky top-0 flex h-screen w-56 shrink-0 flex-col bg-nav text-nav-fg">
        <div className="flex items-center gap-2.5 px-4 py-4">
          <Logo className="size-7 shrink-0 text-[#7d95ff]" />
          <div className="min-w-0">
            <div
              className="truncate text-sm font-semibold text-white"
              data-testid="cluster-name"
              title={info.data?.name}
            >
              {info.data?.name ?? 'Atoll'}
            </div>
            <div className="truncate text-[11px] opacity-70">
              {info.data ? `Atoll ${info.data.version}` : '\u00a0'}
            </div>
          </div>
        </div>
        <nav aria-label="Main" className="mt-2 flex flex-col gap-0.5 px-2">
          {nav.filter((item) => !('admin' in item) || isAdmin).map((item) => {
            const active = isActive(pathname, item.href);
            const Icon = item.icon;
            return (
              <Link
                key={item.href}
                href={item.href}
                data-testid={item.testId}
                aria-current={active ? 'page' : undefined}
                title={`${item.label} (g ${item.key})`}
                className={cx(
                  'flex items-center gap-3 rounded-md px-3 py-2 text-sm transition-colors',
                  active ? 'bg-nav-active font-medium text-white' : 'hover:bg-nav-active/60 hover:text-white',
                )}
              >
                <Icon className="size-4 shrink-0" />
                {item.label}
                {item.href === '/deployments' && deploying > 0 && (
                  <span
                    className="ml-auto rounded-full bg-sky-500/25 px-1.5 text-[11px] font-medium text-sky-100 tabular-nums"
                    data-testid="nav-deployments-count"
                    aria-label={`${deploying} running`}
                  >
                    {deploying}
                  </span>
                )}
              </Link>
            );
          })}
        </nav>
        <div className="mt-auto px-4 py-3 text-[11px] opacity-60">
          <kbd className="font-mono">g</kbd> then{' '}
          <kbd className="font-mono">{nav.map((n) => n.key).join(' ')}</kbd> to navigate ·{' '}
          <kbd className="font-mono">/</kbd> filter
        </div>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-10 flex h-12 items-center justify-end gap-2 border-b border-line bg-surface/90 px-6 backdrop-blur">
          <LiveIndicator status={live} />
          <ThemeToggle />
          <UserMenu />
        </header>
        <main id="main" className="mx-auto w-full max-w-[1400px] flex-1 px-6 py-6">
          {children}
        </main>
      </div>
    </div>
  );
}

function LiveIndicator({ status }: { status: LiveStatus }) {
  const label = status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting' : 'Offline';
  return (
    <span
      className="mr-2 inline-flex items-center gap-1.5 text-xs text-muted"
      title={
        status === 'live' ? 'Receiving live updates' : 'Live updates unavailable; data refreshes periodically'
      }
      data-testid="live-status"
      data-status={status}
    >
      <span
        className={cx(
          'size-2 rounded-full',
          status === 'live'
            ? 'bg-emerald-500'
            : status === 'connecting'
              ? 'animate-pulse bg-amber-500'
              : 'bg-red-500',
        )}
      />
      {label}
    </span>
  );
}

const themeOrder: ThemeChoice[] = ['system', 'light', 'dark'];

function ThemeToggle() {
  const [choice, setChoice] = useThemeChoice();
  const next = themeOrder[(themeOrder.indexOf(choice) + 1) % themeOrder.length] ?? 'system';
  const Icon = choice === 'light' ? IconSun : choice === 'dark' ? IconMoon : IconMonitor;
  return (
    <button
      type="button"
      onClick={() => setChoice(next)}
      title={`Theme: ${choice} (switch to ${next})`}
      aria-label={`Theme: ${choice}. Switch to ${next}`}
      data-testid="theme-toggle"
      className="inline-flex size-8 items-center justify-center rounded-md text-muted hover:bg-surface-2 hover:text-fg"
    >
      <Icon className="size-4" />
    </button>
  );
}

function UserMenu() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { staleTime: Infinity, refetchInterval: false }));
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const logout = useMutation(
    trpc.auth.logout.mutationOptions({
      onSettled: () => leaveToLogin(),
    }),
  );

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  return (
    <div ref={ref} className="relative">
      <button
        type="button"
        onClick={() => setOpen((o) => !o)}
        aria-haspopup="menu"
        aria-expanded={open}
        data-testid="user-menu"
        className="inline-flex h-8 items-center gap-2 rounded-md px-2 text-sm hover:bg-surface-2"
      >
        <IconUser className="size-4 text-muted" />
        <span>{me.data?.username ?? '…'}</span>
      </button>
      {open && (
        <div
          role="menu"
          className="absolute right-0 mt-1 w-48 rounded-md border border-line bg-surface py-1 shadow-lg"
        >
          <div className="px-3 py-2 text-xs text-muted">
            Signed in as <span className="font-medium text-fg">{me.data?.username}</span>
            {me.data?.role && <span> ({me.data.role})</span>}
          </div>
          <button
            type="button"
            role="menuitem"
            autoFocus
            onClick={() => logout.mutate()}
            disabled={logout.isPending}
            data-testid="logout"
            className="block w-full px-3 py-1.5 text-left text-sm hover:bg-surface-2 focus:bg-surface-2 focus:outline-none"
          >
            Log out
          </button>
        </div>
      )}
    </div>
  );
}

/** "g" then a letter jumps to a section, as in GitHub and Nomad's UI. */
function useGoShortcuts() {
  const router = useRouter();
  useEffect(() => {
    let armed = 0;
    const onKey = (e: KeyboardEvent) => {
      const t = e.target;
      if (
        t instanceof HTMLElement &&
        (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))
      )
        return;
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      if (e.key === 'g') {
        armed = Date.now();
        return;
      }
      if (Date.now() - armed < 1500) {
        const item = nav.find((n) => n.key === e.key);
        armed = 0;
        if (item) {
          e.preventDefault();
          router.push(item.href);
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [router]);
}

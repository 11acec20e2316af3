'use client';

import Link from 'next/link';
import {
  useEffect,
  useRef,
  type ButtonHTMLAttributes,
  type InputHTMLAttributes,
  type ReactNode,
  type RefObject,
  type ThHTMLAttributes,
} from 'react';
import { errorMessage, isLocked } from '../lib/trpc';
import { pct, type SortDir } from '../lib/format';
import type { ServiceStatus, TaskState } from '../lib/types';

export function cx(...parts: Array<string | false | null | undefined>): string {
  return parts.filter(Boolean).join(' ');
}

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost';
const variants: Record<Variant, string> = {
  primary: 'bg-accent text-accent-fg hover:brightness-110 border-transparent',
  secondary: 'bg-surface text-fg border-line hover:bg-surface-2',
  danger: 'bg-red-600 text-white border-transparent hover:bg-red-700 dark:bg-red-500 dark:hover:bg-red-600',
  ghost: 'bg-transparent text-fg border-transparent hover:bg-surface-2',
};

export function Button({
  variant = 'secondary',
  size = 'md',
  className,
  type = 'button',
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; size?: 'sm' | 'md' }) {
  return (
    <button
      type={type}
      className={cx(
        'inline-flex items-center justify-center gap-1.5 rounded-md border font-medium whitespace-nowrap transition-colors disabled:cursor-not-allowed disabled:opacity-50',
        size === 'sm' ? 'h-7 px-2.5 text-xs' : 'h-8 px-3 text-sm',
        variants[variant],
        className,
      )}
      {...rest}
    />
  );
}

export const inputClass =
  'h-8 w-full rounded-md border border-line bg-surface px-2.5 text-sm text-fg placeholder:text-muted/70 focus:border-accent focus:outline-none focus-visible:outline-2 focus-visible:outline-offset-0 aria-[invalid=true]:border-red-500';

export function Input({ className, ...rest }: InputHTMLAttributes<HTMLInputElement>) {
  return <input className={cx(inputClass, className)} {...rest} />;
}

// ---- status colours -------------------------------------------------------------------------

const statusTone: Record<ServiceStatus, string> = {
  Running:
    'bg-emerald-500/12 text-emerald-700 ring-emerald-600/25 dark:text-emerald-300 dark:ring-emerald-400/25',
  Deploying: 'bg-sky-500/12 text-sky-700 ring-sky-600/25 dark:text-sky-300 dark:ring-sky-400/25',
  Waiting: 'bg-amber-500/15 text-amber-800 ring-amber-600/30 dark:text-amber-300 dark:ring-amber-400/25',
  Delayed: 'bg-orange-500/15 text-orange-800 ring-orange-600/30 dark:text-orange-300 dark:ring-orange-400/25',
  Stopped: 'bg-slate-500/12 text-slate-600 ring-slate-500/25 dark:text-slate-300 dark:ring-slate-400/25',
  Deleting: 'bg-red-500/12 text-red-700 ring-red-600/25 dark:text-red-300 dark:ring-red-400/25',
};
const statusDot: Record<ServiceStatus, string> = {
  Running: 'bg-emerald-500',
  Deploying: 'bg-sky-500 animate-pulse',
  Waiting: 'bg-amber-500',
  Delayed: 'bg-orange-500',
  Stopped: 'bg-slate-400',
  Deleting: 'bg-red-500 animate-pulse',
};

export function StatusBadge({ status, testId }: { status: ServiceStatus; testId?: string }) {
  return (
    <span
      data-testid={testId}
      data-status={status}
      className={cx(
        'inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset',
        statusTone[status],
      )}
    >
      <span className={cx('size-1.5 rounded-full', statusDot[status])} aria-hidden />
      {status}
    </span>
  );
}

const taskTone: Record<TaskState, string> = {
  TASK_STAGING: 'text-slate-600 dark:text-slate-300 bg-slate-500/12',
  TASK_STARTING: 'text-sky-700 dark:text-sky-300 bg-sky-500/12',
  TASK_RUNNING: 'text-emerald-700 dark:text-emerald-300 bg-emerald-500/12',
  TASK_FINISHED: 'text-slate-600 dark:text-slate-300 bg-slate-500/12',
  TASK_FAILED: 'text-red-700 dark:text-red-300 bg-red-500/12',
  TASK_KILLING: 'text-orange-700 dark:text-orange-300 bg-orange-500/15',
  TASK_KILLED: 'text-slate-500 dark:text-slate-400 bg-slate-500/10',
  TASK_UNREACHABLE: 'text-amber-800 dark:text-amber-300 bg-amber-500/15',
  TASK_GONE: 'text-red-700 dark:text-red-300 bg-red-500/12',
};

export function TaskStateBadge({ state }: { state: TaskState }) {
  return (
    <span
      className={cx('inline-flex rounded px-1.5 py-0.5 font-mono text-[11px] font-medium', taskTone[state])}
    >
      {state.replace(/^TASK_/, '')}
    </span>
  );
}

export function Dot({ on, title }: { on: boolean; title?: string }) {
  return (
    <span
      title={title}
      aria-label={title}
      className={cx('inline-block size-2 shrink-0 rounded-full', on ? 'bg-emerald-500' : 'bg-red-500')}
    />
  );
}

// ---- usage bars -------------------------------------------------------------------------------

export function UsageBar({
  used,
  total,
  label,
  wide,
}: {
  used: number;
  total: number;
  label?: string;
  wide?: boolean;
}) {
  const p = pct(used, total);
  const tone = p >= 90 ? 'bg-red-500' : p >= 75 ? 'bg-amber-500' : 'bg-accent';
  return (
    <div className={cx('flex flex-col gap-1', wide ? 'w-full' : 'w-24')} title={label}>
      <div
        className="h-1.5 w-full overflow-hidden rounded-full bg-track"
        role="meter"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(p)}
        aria-label={label}
      >
        <div className={cx('h-full rounded-full transition-[width]', tone)} style={{ width: `${p}%` }} />
      </div>
      {label && <span className="text-[11px] text-muted tabular-nums">{label}</span>}
    </div>
  );
}

// ---- layout pieces ----------------------------------------------------------------------------

export function PageHeader({
  title,
  subtitle,
  actions,
  crumbs,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
  crumbs?: Array<{ href: string; label: string }>;
}) {
  return (
    <header className="mb-5 flex flex-wrap items-end justify-between gap-3">
      <div className="min-w-0">
        {crumbs && crumbs.length > 0 && (
          <nav aria-label="Breadcrumb" className="mb-1 flex items-center gap-1 text-xs text-muted">
            {crumbs.map((c) => (
              <span key={c.href} className="flex items-center gap-1">
                <Link href={c.href} className="hover:text-fg hover:underline">
                  {c.label}
                </Link>
                <span aria-hidden>/</span>
              </span>
            ))}
          </nav>
        )}
        <h1 className="truncate text-xl font-semibold tracking-tight">{title}</h1>
        {subtitle && <div className="mt-1 text-sm text-muted">{subtitle}</div>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </header>
  );
}

export function Card({
  title,
  children,
  className,
  actions,
}: {
  title?: ReactNode;
  children: ReactNode;
  className?: string;
  actions?: ReactNode;
}) {
  return (
    <section className={cx('rounded-lg border border-line bg-surface', className)}>
      {title && (
        <div className="flex items-center justify-between border-b border-line px-4 py-2.5">
          <h2 className="text-xs font-semibold tracking-wide text-muted uppercase">{title}</h2>
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="flex items-center gap-2 p-6 text-sm text-muted" role="status">
      <span className="size-3 animate-spin rounded-full border-2 border-line border-t-accent" aria-hidden />
      {what}…
    </div>
  );
}

export function ErrorBox({ error, title = 'Could not load' }: { error: unknown; title?: string }) {
  return (
    <div
      role="alert"
      className="rounded-md border border-red-500/30 bg-red-500/8 px-4 py-3 text-sm text-red-700 dark:text-red-300"
    >
      <strong className="font-semibold">{title}:</strong> {errorMessage(error)}
    </div>
  );
}

/**
 * The error of a mutation, shown next to the action that failed. A deployment lock (Marathon's
 * 409 "App is locked by one or more deployments") offers Force, which retries the same change
 * with `force: true`: that cancels the running deployment without rollback.
 */
export function MutationError({
  error,
  onForce,
  pending,
  title = 'Failed',
}: {
  error: unknown;
  onForce?: (() => void) | undefined;
  pending?: boolean | undefined;
  title?: string;
}) {
  if (!error) return null;
  if (!isLocked(error)) return <ErrorBox error={error} title={title} />;
  return (
    <div
      role="alert"
      data-testid="lock-error"
      className="rounded-md border border-amber-500/40 bg-amber-500/10 px-4 py-3 text-sm text-amber-900 dark:text-amber-200"
    >
      <p className="break-words">
        <strong className="font-semibold">Locked:</strong> {errorMessage(error)}
      </p>
      {onForce && (
        <div className="mt-2 flex flex-wrap items-center gap-x-3 gap-y-1">
          <Button size="sm" variant="danger" onClick={onForce} disabled={pending} data-testid="force-button">
            {pending ? 'Forcing…' : 'Force'}
          </Button>
          <span className="text-xs">
            Cancels the running deployment without rolling back, then applies this change.
          </span>
        </div>
      )}
    </div>
  );
}

/**
 * A filterable list: its toolbar (filters), then the query's error, its loading state, the empty
 * message, or the rows (rendered only once there are some).
 */
export function ListCard({
  toolbar,
  query,
  loading,
  empty,
  children,
}: {
  toolbar: ReactNode;
  query: { error: unknown; isPending: boolean };
  loading: string;
  /** The message when there is no row to show; null when there are rows. */
  empty: ReactNode | null;
  children: () => ReactNode;
}) {
  return (
    <Card>
      <div className="flex flex-wrap items-center gap-3 border-b border-line p-3">{toolbar}</div>
      {query.error ? (
        <div className="p-4">
          <ErrorBox error={query.error} />
        </div>
      ) : query.isPending ? (
        <Loading what={loading} />
      ) : empty !== null ? (
        <Empty>{empty}</Empty>
      ) : (
        children()
      )}
    </Card>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="px-4 py-10 text-center text-sm text-muted">{children}</div>;
}

export function FieldError({ children, id }: { children: ReactNode; id?: string }) {
  return (
    <p id={id} data-testid="field-error" role="alert" className="mt-1 text-xs text-red-600 dark:text-red-400">
      {children}
    </p>
  );
}

// ---- filter box with the "/" shortcut -----------------------------------------------------------

export function FilterInput({
  value,
  onChange,
  placeholder = 'Filter',
  testId,
}: {
  value: string;
  onChange: (v: string) => void;
  placeholder?: string;
  testId?: string;
}) {
  const ref = useRef<HTMLInputElement>(null);
  useSlashFocus(ref);
  return (
    <div className="relative w-full max-w-xs">
      <input
        ref={ref}
        type="search"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            onChange('');
            e.currentTarget.blur();
          }
        }}
        placeholder={placeholder}
        aria-label={placeholder}
        data-testid={testId}
        className={cx(inputClass, 'pr-8')}
      />
      <kbd className="pointer-events-none absolute top-1/2 right-2 -translate-y-1/2 rounded border border-line px-1 font-mono text-[10px] text-muted">
        /
      </kbd>
    </div>
  );
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** Pressing "/" anywhere outside a text field focuses the page's filter box. */
function useSlashFocus(ref: RefObject<HTMLInputElement | null>) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || e.metaKey || e.ctrlKey || e.altKey || isTyping(e.target)) return;
      e.preventDefault();
      ref.current?.focus();
      ref.current?.select();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [ref]);
}

// ---- tables -------------------------------------------------------------------------------------

export function Table({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <div className="overflow-x-auto">
      <table className={cx('w-full border-collapse text-sm', className)}>{children}</table>
    </div>
  );
}

export const thClass =
  'border-b border-line px-3 py-2 text-left text-[11px] font-semibold tracking-wide text-muted uppercase whitespace-nowrap';
export const tdClass = 'border-b border-line px-3 py-2 align-middle';
export const rowClass = 'hover:bg-surface-2 focus-within:bg-surface-2';

export function SortTh<K extends string>({
  k,
  sort,
  children,
  className,
  ...rest
}: {
  k: K;
  sort: { key: K; dir: SortDir; toggle: (k: K) => void };
  children: ReactNode;
} & ThHTMLAttributes<HTMLTableCellElement>) {
  const active = sort.key === k;
  return (
    <th
      className={cx(thClass, className)}
      aria-sort={active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
      {...rest}
    >
      <button
        type="button"
        onClick={() => sort.toggle(k)}
        className={cx('inline-flex items-center gap-1 uppercase hover:text-fg', active && 'text-fg')}
      >
        {children}
        <span aria-hidden className={cx('text-[9px]', !active && 'opacity-0')}>
          {active && sort.dir === 'desc' ? '▼' : '▲'}
        </span>
      </button>
    </th>
  );
}

// ---- dialog -----------------------------------------------------------------------------------

/**
 * A modal on the native <dialog>: focus is trapped, Escape closes, and the element marked
 * `data-autofocus` gets the focus when it opens.
 */
export function Dialog({
  open,
  onClose,
  title,
  children,
  testId,
  wide = false,
}: {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  children: ReactNode;
  testId?: string;
  /** Room for a JSON editor. */
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      d.showModal();
      d.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    } else if (!open && d.open) {
      d.close();
    }
  }, [open]);
  return (
    <dialog
      ref={ref}
      data-testid={testId}
      onClose={onClose}
      onClick={(e) => {
        // A click on the backdrop (the dialog element itself) closes it.
        if (e.target === e.currentTarget) onClose();
      }}
      className={cx(
        'm-auto rounded-lg border border-line bg-surface p-0 text-fg shadow-2xl backdrop:bg-black/50',
        wide ? 'w-[min(44rem,calc(100vw-2rem))]' : 'w-[min(28rem,calc(100vw-2rem))]',
      )}
    >
      {open && (
        <div className="p-5">
          <h2 className="mb-3 text-base font-semibold">{title}</h2>
          {children}
        </div>
      )}
    </dialog>
  );
}

/** Confirmation dialog whose text names exactly what will happen. */
export function ConfirmDialog({
  open,
  onClose,
  onConfirm,
  title,
  message,
  confirmLabel,
  pending,
  error,
  testId,
  confirmTestId,
  danger = true,
  onForce,
}: {
  open: boolean;
  onClose: () => void;
  onConfirm: () => void;
  title: ReactNode;
  message: ReactNode;
  confirmLabel: string;
  pending?: boolean;
  error?: unknown;
  testId?: string;
  confirmTestId?: string;
  danger?: boolean;
  /** Offered when the action fails on a deployment lock: retry with `force: true`. */
  onForce?: () => void;
}) {
  return (
    <Dialog open={open} onClose={onClose} title={title} testId={testId}>
      <div className="text-sm">{message}</div>
      {error ? (
        <div className="mt-3">
          <MutationError error={error} onForce={onForce} pending={pending} />
        </div>
      ) : null}
      <div className="mt-5 flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant={danger ? 'danger' : 'primary'}
          onClick={onConfirm}
          disabled={pending}
          data-autofocus
          data-testid={confirmTestId}
        >
          {pending ? 'Working…' : confirmLabel}
        </Button>
      </div>
    </Dialog>
  );
}

// ---- tabs ---------------------------------------------------------------------------------------

export function Tabs<K extends string>({
  tabs,
  active,
  onChange,
}: {
  tabs: Array<{ key: K; label: ReactNode }>;
  active: K;
  onChange: (k: K) => void;
}) {
  return (
    <div
      role="tablist"
      className="mb-4 flex gap-1 border-b border-line"
      onKeyDown={(e) => {
        if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
        const i = tabs.findIndex((t) => t.key === active);
        const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
        if (next) {
          onChange(next.key);
          e.currentTarget.querySelector<HTMLElement>(`[data-tab="${next.key}"]`)?.focus();
        }
      }}
    >
      {tabs.map((t) => (
        <button
          key={t.key}
          type="button"
          role="tab"
          data-tab={t.key}
          data-testid={`tab-${t.key}`}
          aria-selected={t.key === active}
          tabIndex={t.key === active ? 0 : -1}
          onClick={() => onChange(t.key)}
          className={cx(
            '-mb-px border-b-2 px-3 py-2 text-sm font-medium',
            t.key === active ? 'border-accent text-fg' : 'border-transparent text-muted hover:text-fg',
          )}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

export function KeyValue({ items }: { items: Array<[ReactNode, ReactNode]> }) {
  return (
    <dl className="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 text-sm">
      {items.map(([k, v], i) => (
        <div key={i} className="contents">
          <dt className="text-muted">{k}</dt>
          <dd className="min-w-0 break-words">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

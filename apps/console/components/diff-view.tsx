'use client';

import { useMemo, useState } from 'react';
import { diffStats, foldContext, type DiffLine } from '../lib/diff';
import { cx } from './ui';

/** "+3 −1" beside a diff's title. */
export function DiffStats({ lines }: { lines: readonly DiffLine[] }) {
  const { added, removed } = diffStats(lines);
  return (
    <span className="font-mono text-xs tabular-nums" data-testid="diff-stats">
      <span className="text-emerald-700 dark:text-emerald-400">+{added}</span>{' '}
      <span className="text-red-700 dark:text-red-400">−{removed}</span>
    </span>
  );
}

/**
 * A unified line diff: both line numbers, added lines green, removed lines red. Long unchanged
 * runs fold to "… N unchanged lines", which a click (or "Show all") opens.
 */
export function DiffView({
  lines,
  testId,
  context = 3,
  emptyText = 'No difference.',
}: {
  lines: readonly DiffLine[];
  testId?: string;
  context?: number;
  emptyText?: string;
}) {
  const [all, setAll] = useState(false);
  const rows = useMemo(() => (all ? lines : foldContext(lines, context)), [lines, all, context]);
  const changed = lines.some((l) => l.op !== 'same');
  return (
    <div data-testid={testId} data-changed={changed} className="overflow-x-auto font-mono text-xs leading-5">
      {!changed && <div className="px-4 py-2 font-sans text-sm text-muted">{emptyText}</div>}
      <table className="w-full border-collapse">
        <tbody>
          {rows.map((l, i) =>
            l.op === 'skip' ? (
              <tr key={`s${i}`} className="bg-surface-2/70 text-muted">
                <td colSpan={4} className="px-3 py-0.5">
                  <button
                    type="button"
                    onClick={() => setAll(true)}
                    className="hover:text-fg hover:underline"
                    title="Show all lines"
                  >
                    ⋯ {l.count} unchanged {l.count === 1 ? 'line' : 'lines'}
                  </button>
                </td>
              </tr>
            ) : (
              <tr
                key={`${l.op}${l.a ?? ''}:${l.b ?? ''}`}
                data-testid={
                  l.op === 'added' ? 'diff-added' : l.op === 'removed' ? 'diff-removed' : undefined
                }
                className={cx(
                  l.op === 'added' && 'bg-emerald-500/12 text-emerald-900 dark:text-emerald-200',
                  l.op === 'removed' && 'bg-red-500/12 text-red-900 dark:text-red-200',
                )}
              >
                <td className="w-10 px-2 text-right text-muted/70 select-none">{l.a ?? ''}</td>
                <td className="w-10 px-2 text-right text-muted/70 select-none">{l.b ?? ''}</td>
                <td
                  className={cx(
                    'w-4 text-center select-none',
                    l.op === 'added' && 'text-emerald-700 dark:text-emerald-400',
                    l.op === 'removed' && 'text-red-700 dark:text-red-400',
                  )}
                  aria-label={l.op === 'same' ? undefined : l.op}
                >
                  {l.op === 'added' ? '+' : l.op === 'removed' ? '−' : ''}
                </td>
                <td className="pr-4 break-all whitespace-pre-wrap">{l.text}</td>
              </tr>
            ),
          )}
        </tbody>
      </table>
      {changed && !all && rows.some((r) => r.op === 'skip') && (
        <div className="border-t border-line px-3 py-1.5 font-sans">
          <button type="button" onClick={() => setAll(true)} className="text-xs text-accent hover:underline">
            Show all lines
          </button>
        </div>
      )}
      {all && changed && (
        <div className="border-t border-line px-3 py-1.5 font-sans">
          <button type="button" onClick={() => setAll(false)} className="text-xs text-accent hover:underline">
            Fold unchanged lines
          </button>
        </div>
      )}
    </div>
  );
}

'use client';

import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { highlightParts, LineBuffer, type LogLine } from '../lib/log-lines';
import { errorMessage, useTRPC } from '../lib/trpc';
import { Button, cx, inputClass } from './ui';

/** The form field look without its full width (the toolbar's controls sit on one row). */
const toolbarField = inputClass.replace('w-full ', '');

type StreamFilter = 'both' | 'stdout' | 'stderr';

/**
 * A task's output, live: the last lines, then what it writes (tRPC `tasks.logs` subscription).
 * Pause freezes the view while lines keep arriving; search highlights (or filters to) matches;
 * Download fetches the whole log as a file.
 */
export function TaskLogs({ taskId }: { taskId: string }) {
  const trpc = useTRPC();
  const buffer = useRef(new LineBuffer());
  const [lines, setLines] = useState<LogLine[]>([]);
  const [paused, setPaused] = useState(false);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [onlyMatches, setOnlyMatches] = useState(false);
  const [stream, setStream] = useState<StreamFilter>('both');
  const [ended, setEnded] = useState<string | null>(null);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const scroller = useRef<HTMLDivElement>(null);

  const sub = useSubscription(
    trpc.tasks.logs.subscriptionOptions(
      { taskId, lines: 500, follow },
      {
        onStarted: () => {
          buffer.current = new LineBuffer();
          setLines([]);
          setEnded(null);
        },
        onData: (chunk) => {
          if ('end' in chunk) {
            buffer.current.flush();
            setEnded(chunk.error ? `The log ended: ${chunk.error}` : 'The log ended.');
          } else {
            buffer.current.push(chunk.stream, chunk.data);
          }
          if (!pausedRef.current) setLines([...buffer.current.lines]);
        },
      },
    ),
  );

  // Resuming shows what arrived meanwhile.
  useEffect(() => {
    if (!paused) setLines([...buffer.current.lines]);
  }, [paused]);

  // Stick to the bottom while following and not paused.
  useEffect(() => {
    const el = scroller.current;
    if (el && !paused) el.scrollTop = el.scrollHeight;
  }, [lines, paused]);

  const shown = useMemo(() => {
    const q = query.toLowerCase();
    return lines.filter(
      (l) =>
        (stream === 'both' || l.stream === stream) &&
        (!onlyMatches || !q || l.text.toLowerCase().includes(q)),
    );
  }, [lines, stream, onlyMatches, query]);
  const matches = useMemo(
    () => (query ? shown.filter((l) => l.text.toLowerCase().includes(query.toLowerCase())).length : 0),
    [shown, query],
  );

  const download = async () => {
    const res = await fetch(`/api/v1/tasks/${encodeURIComponent(taskId)}/logs?lines=all`, {
      credentials: 'same-origin',
    });
    const blob = await res.blob();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${taskId}.log`;
    a.click();
    URL.revokeObjectURL(a.href);
  };

  return (
    <div className="rounded-lg border border-line bg-surface" data-testid="task-logs">
      <div className="flex flex-wrap items-center gap-2 border-b border-line px-3 py-2">
        <Button
          size="sm"
          variant={paused ? 'primary' : 'secondary'}
          onClick={() => setPaused((p) => !p)}
          data-testid="logs-pause"
        >
          {paused ? 'Resume' : 'Pause'}
        </Button>
        <label className="flex items-center gap-1 text-xs text-muted">
          <input
            type="checkbox"
            checked={follow}
            onChange={(e) => setFollow(e.target.checked)}
            data-testid="logs-follow"
          />
          Follow
        </label>
        <select
          className={cx(toolbarField, 'h-7 w-auto py-0 text-xs')}
          value={stream}
          onChange={(e) => setStream(e.target.value as StreamFilter)}
          aria-label="Stream"
          data-testid="logs-stream"
        >
          <option value="both">stdout + stderr</option>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </select>
        <input
          className={cx(toolbarField, 'h-7 w-56 text-xs')}
          placeholder="Search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          aria-label="Search the log"
          data-testid="logs-search"
        />
        <label className="flex items-center gap-1 text-xs text-muted">
          <input
            type="checkbox"
            checked={onlyMatches}
            onChange={(e) => setOnlyMatches(e.target.checked)}
            data-testid="logs-only-matches"
          />
          Only matching lines
        </label>
        {query && (
          <span className="text-xs text-muted" data-testid="logs-matches">
            {matches} matching
          </span>
        )}
        <span className="ml-auto flex items-center gap-2 text-xs text-muted">
          <span data-testid="logs-status">
            {sub.status === 'error'
              ? 'error'
              : paused
                ? 'paused'
                : ended
                  ? 'ended'
                  : follow
                    ? 'following'
                    : 'loaded'}
          </span>
          <Button size="sm" onClick={() => void download()} data-testid="logs-download">
            Download
          </Button>
        </span>
      </div>
      {sub.error && (
        <p className="px-3 py-2 text-sm text-red-600 dark:text-red-400">{errorMessage(sub.error)}</p>
      )}
      <div
        ref={scroller}
        className="h-[28rem] overflow-auto bg-[#0d1117] px-3 py-2 font-mono text-xs leading-5 text-slate-200"
        data-testid="logs-lines"
      >
        {shown.map((l) => (
          <div
            key={l.n}
            className={cx('whitespace-pre-wrap break-all', l.stream === 'stderr' && 'text-rose-300')}
            data-stream={l.stream}
            data-testid="log-line"
          >
            {highlightParts(l.text, query).map((p, i) =>
              p.match ? (
                <mark key={i} className="rounded-sm bg-amber-400/80 text-black">
                  {p.text}
                </mark>
              ) : (
                <span key={i}>{p.text}</span>
              ),
            )}
          </div>
        ))}
        {shown.length === 0 && !sub.error && (
          <div className="text-slate-500">{ended ?? 'No output yet.'}</div>
        )}
        {ended && shown.length > 0 && <div className="mt-1 text-slate-500">{ended}</div>}
      </div>
    </div>
  );
}

'use client';

import { useEffect, useRef } from 'react';
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartLine {
  label: string;
  values: Array<number | null>;
  color: string;
  /** A dashed line (capacity, allocation). */
  dashed?: boolean;
}

/**
 * A small time-series chart (uPlot: a few kB, canvas, fast with thousands of points). `times` are
 * ISO strings; every line has one value per time.
 */
export function MetricsChart({
  title,
  times,
  lines,
  format,
  height = 160,
  testId,
}: {
  title: string;
  times: string[];
  lines: ChartLine[];
  format: (v: number) => string;
  height?: number;
  testId?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = lines[0]?.values.at(-1);

  useEffect(() => {
    let disposed = false;
    void import('uplot').then(({ default: UPlot }) => {
      if (disposed || !host.current) return;
      const data: uPlot.AlignedData = [times.map((t) => Date.parse(t) / 1000), ...lines.map((l) => l.values)];
      const width = host.current.clientWidth || 400;
      if (plot.current) {
        plot.current.setData(data);
        return;
      }
      plot.current = new UPlot(
        {
          width,
          height,
          legend: { show: true, live: false },
          cursor: { drag: { x: false, y: false } },
          axes: [
            { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.15)' } },
            {
              stroke: 'currentColor',
              grid: { stroke: 'rgba(128,128,128,0.15)' },
              size: 70,
              values: (_u, ticks) => ticks.map(format),
            },
          ],
          scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
          series: [
            {},
            ...lines.map((l) => ({
              label: l.label,
              stroke: l.color,
              width: 1.5,
              ...(l.dashed ? { dash: [6, 4] } : { fill: `${l.color}22` }),
              value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
            })),
          ],
        },
        data,
        host.current,
      );
    });
    return () => {
      disposed = true;
    };
  }, [times, lines, format, height]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const observer = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [height]);

  return (
    <div className="min-w-0" data-testid={testId} data-points={times.length} data-latest={latest ?? ''}>
      <div className="mb-1 flex items-baseline justify-between text-sm">
        <span className="font-medium">{title}</span>
        <span className="text-xs text-muted tabular-nums">
          {latest !== undefined && latest !== null ? format(latest) : '—'}
        </span>
      </div>
      {times.length === 0 ? (
        <div
          className="flex items-center justify-center rounded border border-dashed border-line text-xs text-muted"
          style={{ height }}
        >
          No samples in this range yet.
        </div>
      ) : null}
      <div ref={host} className={times.length === 0 ? 'hidden' : 'text-xs text-muted'} />
    </div>
  );
}

export const RANGE_OPTIONS = ['15m', '1h', '6h', '24h', '7d', '30d'] as const;
export type Range = (typeof RANGE_OPTIONS)[number];

export function RangePicker({ value, onChange }: { value: Range; onChange: (r: Range) => void }) {
  return (
    <div
      className="inline-flex overflow-hidden rounded-md border border-line text-xs"
      role="group"
      aria-label="Time range"
      data-testid="range-picker"
    >
      {RANGE_OPTIONS.map((r) => (
        <button
          key={r}
          type="button"
          onClick={() => onChange(r)}
          aria-pressed={r === value}
          data-testid={`range-${r}`}
          className={r === value ? 'bg-accent px-2 py-1 text-white' : 'px-2 py-1 hover:bg-surface-2'}
        >
          {r}
        </button>
      ))}
    </div>
  );
}

export function fmtBytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let n = v;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export const fmtCores = (v: number) => (v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));

/**
 * Pure parsers of the kernel files the agent reads for metrics (/proc and cgroup v1/v2), so they
 * can be tested on sample contents. Everything is in base units: bytes, seconds, cores.
 */

/** `/proc/stat`'s aggregate `cpu` line: busy and total jiffies (USER_HZ ticks). */
export function parseProcStat(text: string): { busy: number; total: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return { busy: 0, total: 0 };
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** `/proc/meminfo`: total and used (total − available), in bytes. */
export function parseMeminfo(text: string): { totalBytes: number; usedBytes: number } {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  const total = kb('MemTotal');
  const available = kb('MemAvailable') || kb('MemFree') + kb('Buffers') + kb('Cached');
  return { totalBytes: total, usedBytes: Math.max(0, total - available) };
}

/** `/proc/net/dev` (host or a container's namespace): received and sent bytes, loopback left out. */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest || name!.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rxBytes: rx, txBytes: tx };
}

export function parseLoadavg(text: string): [number, number, number] {
  const [a = 0, b = 0, c = 0] = text.trim().split(/\s+/).slice(0, 3).map(Number);
  return [a, b, c];
}

/** `/proc/<pid>/cgroup`: the v2 path (`0::/…`) and the v1 path per controller. */
export function parseProcCgroup(text: string): { v2?: string; v1: Record<string, string> } {
  const v1: Record<string, string> = {};
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') v2 = m[3];
    else for (const c of m[2]!.split(',')) if (c) v1[c] = m[3]!;
  }
  return v2 !== undefined ? { v2, v1 } : { v1 };
}

/** cgroup v2 `cpu.stat`: CPU seconds used. */
export function parseCpuStatV2(text: string): number {
  const m = /^usage_usec\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) / 1e6 : 0;
}

/** A `memory.stat` field (v1 names like `total_inactive_file`, v2 like `inactive_file`). */
export function memoryStatField(text: string, key: string): number {
  const m = new RegExp(`^${key}\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** A memory limit file: `max` (v2) or a huge number (v1's "unlimited") is no limit. */
export function parseMemoryLimit(text: string, hostTotalBytes: number): number | null {
  const t = text.trim();
  if (t === '' || t === 'max') return null;
  const n = Number(t);
  if (!Number.isFinite(n) || n >= 2 ** 62 || (hostTotalBytes > 0 && n >= hostTotalBytes)) return null;
  return n;
}

/**
 * Memory in use as `docker stats` counts it: usage minus the page cache that can be dropped
 * (inactive file pages), so a task that read big files does not look full.
 */
export function workingSet(usageBytes: number, inactiveFileBytes: number): number {
  return Math.max(0, usageBytes - inactiveFileBytes);
}

/** A rate per second from two counter readings (0 when the counter went back: a restart). */
export function rate(prev: number | undefined, next: number, seconds: number): number {
  if (prev === undefined || seconds <= 0 || next < prev) return 0;
  return (next - prev) / seconds;
}

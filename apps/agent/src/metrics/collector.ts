import fsp from 'node:fs/promises';
import path from 'node:path';
import type { NodeMetrics, TaskMetrics } from '@atoll/spec';
import type { MetricsTarget } from '../runtime/types';
import {
  memoryStatField,
  parseCpuStatV2,
  parseLoadavg,
  parseMeminfo,
  parseMemoryLimit,
  parseNetDev,
  parseProcCgroup,
  parseProcStat,
  rate,
  workingSet,
} from './parse';

/** Linux's USER_HZ: the unit of /proc/stat and /proc/<pid>/stat times. */
const TICKS_PER_SECOND = 100;

const read = (file: string) => fsp.readFile(file, 'utf8').catch(() => '');

interface Counters {
  atMs: number;
  cpuSeconds: number;
  rx: number;
  tx: number;
}

/**
 * Reads the host's and its tasks' usage from /proc and the cgroup files (v1 and v2), never from
 * `docker stats` (about 2 s per container and a load on dockerd, moby#23188). Rates are per second
 * since the previous call; the first call reports 0 for them.
 */
export class MetricsCollector {
  private node: (Counters & { busy: number; total: number }) | undefined;
  private readonly tasks = new Map<string, Counters>();

  constructor(
    private readonly opts: {
      /** A directory on the filesystem whose usage is reported as the node's disk. */
      diskPath: string;
      procRoot?: string;
      cgroupRoot?: string;
    },
  ) {}

  private get proc(): string {
    return this.opts.procRoot ?? '/proc';
  }

  private get cgroup(): string {
    return this.opts.cgroupRoot ?? '/sys/fs/cgroup';
  }

  async nodeMetrics(nowMs: number): Promise<NodeMetrics> {
    const [stat, meminfo, netdev, loadavg, fs] = await Promise.all([
      read(path.join(this.proc, 'stat')),
      read(path.join(this.proc, 'meminfo')),
      read(path.join(this.proc, 'net/dev')),
      read(path.join(this.proc, 'loadavg')),
      fsp.statfs(this.opts.diskPath).catch(() => undefined),
    ]);
    const cpu = parseProcStat(stat);
    const cores = (stat.match(/^cpu\d+ /gm) ?? []).length || 1;
    const mem = parseMeminfo(meminfo);
    const net = parseNetDev(netdev);
    const [load1, load5, load15] = parseLoadavg(loadavg);
    const prev = this.node;
    const seconds = prev ? (nowMs - prev.atMs) / 1000 : 0;
    const busyShare = prev && cpu.total > prev.total ? (cpu.busy - prev.busy) / (cpu.total - prev.total) : 0;
    this.node = {
      atMs: nowMs,
      cpuSeconds: cpu.busy / TICKS_PER_SECOND,
      rx: net.rxBytes,
      tx: net.txBytes,
      ...cpu,
    };
    const diskTotal = fs ? fs.blocks * fs.bsize : 0;
    const diskFree = fs ? fs.bavail * fs.bsize : 0;
    return {
      cpuUsedCores: Math.max(0, busyShare * cores),
      cpuCores: cores,
      memUsedBytes: mem.usedBytes,
      memTotalBytes: mem.totalBytes,
      diskUsedBytes: Math.max(0, diskTotal - diskFree),
      diskTotalBytes: diskTotal,
      netRxBytesPerSec: rate(prev?.rx, net.rxBytes, seconds),
      netTxBytesPerSec: rate(prev?.tx, net.txBytes, seconds),
      netRxBytesTotal: net.rxBytes,
      netTxBytesTotal: net.txBytes,
      cpuSecondsTotal: cpu.busy / TICKS_PER_SECOND,
      load1,
      load5,
      load15,
    };
  }

  /** One task's usage; undefined when its files are gone (it just ended). */
  async taskMetrics(
    taskId: string,
    target: MetricsTarget,
    nowMs: number,
    hostMemBytes: number,
  ): Promise<TaskMetrics | undefined> {
    const usage = target.ownCgroup
      ? await this.cgroupUsage(target.pid, hostMemBytes)
      : await this.processUsage(target.pid);
    if (!usage) return undefined;
    const net = parseNetDev(await read(path.join(this.proc, String(target.pid), 'net/dev')));
    const prev = this.tasks.get(taskId);
    const seconds = prev ? (nowMs - prev.atMs) / 1000 : 0;
    this.tasks.set(taskId, { atMs: nowMs, cpuSeconds: usage.cpuSeconds, rx: net.rxBytes, tx: net.txBytes });
    return {
      taskId,
      cpuUsedCores: rate(prev?.cpuSeconds, usage.cpuSeconds, seconds),
      cpuSecondsTotal: usage.cpuSeconds,
      memUsedBytes: usage.memBytes,
      memLimitBytes: usage.memLimitBytes,
      netRxBytesPerSec: rate(prev?.rx, net.rxBytes, seconds),
      netTxBytesPerSec: rate(prev?.tx, net.txBytes, seconds),
      netRxBytesTotal: net.rxBytes,
      netTxBytesTotal: net.txBytes,
      restarts: target.restarts,
    };
  }

  /** Forgets tasks that are no longer reported. */
  retain(taskIds: Set<string>): void {
    for (const id of this.tasks.keys()) if (!taskIds.has(id)) this.tasks.delete(id);
  }

  private async cgroupUsage(pid: number, hostMemBytes: number) {
    const cg = parseProcCgroup(await read(path.join(this.proc, String(pid), 'cgroup')));
    const v1cpu = cg.v1.cpuacct;
    const v1mem = cg.v1.memory;
    if (v1cpu !== undefined && v1mem !== undefined) {
      // cgroup v1: cpuacct and memory controllers, each under its own mount (cpuacct may be joined with cpu).
      const cpuDir = await firstExisting([
        path.join(this.cgroup, 'cpuacct', v1cpu),
        path.join(this.cgroup, 'cpu,cpuacct', v1cpu),
      ]);
      const memDir = path.join(this.cgroup, 'memory', v1mem);
      const [usageNs, memUsage, memStat, limit] = await Promise.all([
        read(path.join(cpuDir, 'cpuacct.usage')),
        read(path.join(memDir, 'memory.usage_in_bytes')),
        read(path.join(memDir, 'memory.stat')),
        read(path.join(memDir, 'memory.limit_in_bytes')),
      ]);
      if (!usageNs && !memUsage) return undefined;
      return {
        cpuSeconds: Number(usageNs.trim() || 0) / 1e9,
        memBytes: workingSet(Number(memUsage.trim() || 0), memoryStatField(memStat, 'total_inactive_file')),
        memLimitBytes: parseMemoryLimit(limit, hostMemBytes),
      };
    }
    if (cg.v2 === undefined) return undefined;
    const dir = path.join(this.cgroup, cg.v2);
    const [cpuStat, current, memStat, max] = await Promise.all([
      read(path.join(dir, 'cpu.stat')),
      read(path.join(dir, 'memory.current')),
      read(path.join(dir, 'memory.stat')),
      read(path.join(dir, 'memory.max')),
    ]);
    if (!cpuStat && !current) return undefined;
    return {
      cpuSeconds: parseCpuStatV2(cpuStat),
      memBytes: workingSet(Number(current.trim() || 0), memoryStatField(memStat, 'inactive_file')),
      memLimitBytes: parseMemoryLimit(max, hostMemBytes),
    };
  }

  /** A plain process: its own CPU time and resident memory (children are not counted). */
  private async processUsage(pid: number) {
    const [stat, status] = await Promise.all([
      read(path.join(this.proc, String(pid), 'stat')),
      read(path.join(this.proc, String(pid), 'status')),
    ]);
    if (!stat) return undefined;
    // Fields after the command name (which may contain spaces) start at ") ".
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11] ?? 0) + Number(f[12] ?? 0);
    const rss = /^VmRSS:\s+(\d+)/m.exec(status);
    return {
      cpuSeconds: ticks / TICKS_PER_SECOND,
      memBytes: rss ? Number(rss[1]) * 1024 : 0,
      memLimitBytes: null,
    };
  }
}

async function firstExisting(dirs: string[]): Promise<string> {
  for (const d of dirs) {
    if (
      await fsp.stat(d).then(
        () => true,
        () => false,
      )
    )
      return d;
  }
  return dirs[0]!;
}

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
  /** Where each container's cgroup files are (pid → files; null: none found). */
  private readonly cgroupFiles = new Map<number, CgroupFiles | null>();

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

  /** Forgets tasks that are no longer reported, and the cgroup files of processes gone. */
  retain(taskIds: Set<string>, pids: Set<number> = new Set()): void {
    for (const id of this.tasks.keys()) if (!taskIds.has(id)) this.tasks.delete(id);
    for (const pid of this.cgroupFiles.keys()) if (!pids.has(pid)) this.cgroupFiles.delete(pid);
  }

  /** Where a container's cgroup files are: read from /proc/<pid>/cgroup once per process. */
  private async filesOf(pid: number): Promise<CgroupFiles | null> {
    const known = this.cgroupFiles.get(pid);
    if (known !== undefined) return known;
    const cg = parseProcCgroup(await read(path.join(this.proc, String(pid), 'cgroup')));
    let files: CgroupFiles | null = null;
    if (cg.v1.cpuacct !== undefined && cg.v1.memory !== undefined) {
      // cgroup v1: cpuacct and memory controllers, each under its own mount (cpuacct may be joined with cpu).
      const cpuDir = await firstExisting([
        path.join(this.cgroup, 'cpuacct', cg.v1.cpuacct),
        path.join(this.cgroup, 'cpu,cpuacct', cg.v1.cpuacct),
      ]);
      const memDir = path.join(this.cgroup, 'memory', cg.v1.memory);
      files = {
        version: 1,
        cpu: path.join(cpuDir, 'cpuacct.usage'),
        mem: path.join(memDir, 'memory.usage_in_bytes'),
        stat: path.join(memDir, 'memory.stat'),
        limit: path.join(memDir, 'memory.limit_in_bytes'),
      };
    } else if (cg.v2 !== undefined) {
      const dir = path.join(this.cgroup, cg.v2);
      files = {
        version: 2,
        cpu: path.join(dir, 'cpu.stat'),
        mem: path.join(dir, 'memory.current'),
        stat: path.join(dir, 'memory.stat'),
        limit: path.join(dir, 'memory.max'),
      };
    }
    this.cgroupFiles.set(pid, files);
    return files;
  }

  private async cgroupUsage(pid: number, hostMemBytes: number) {
    const files = await this.filesOf(pid);
    if (!files) return undefined;
    const [cpu, mem, memStat, limit] = await Promise.all([
      read(files.cpu),
      read(files.mem),
      read(files.stat),
      read(files.limit),
    ]);
    if (!cpu && !mem) {
      this.cgroupFiles.delete(pid);
      return undefined;
    }
    return {
      cpuSeconds: files.version === 1 ? Number(cpu.trim() || 0) / 1e9 : parseCpuStatV2(cpu),
      memBytes: workingSet(
        Number(mem.trim() || 0),
        memoryStatField(memStat, files.version === 1 ? 'total_inactive_file' : 'inactive_file'),
      ),
      memLimitBytes: parseMemoryLimit(limit, hostMemBytes),
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

interface CgroupFiles {
  version: 1 | 2;
  cpu: string;
  mem: string;
  stat: string;
  limit: string;
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

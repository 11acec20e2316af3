import { describe, expect, it } from 'vitest';
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

describe('metrics parsers', () => {
  it('/proc/stat: busy and total jiffies of the cpu line', () => {
    const text = 'cpu  100 5 50 800 20 3 2 10 0 0\ncpu0 50 2 25 400 10 1 1 5 0 0\n';
    expect(parseProcStat(text)).toEqual({ busy: 170, total: 990 });
  });

  it('/proc/meminfo: used is total minus available', () => {
    const text = 'MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    6000000 kB\n';
    expect(parseMeminfo(text)).toEqual({ totalBytes: 16_000_000 * 1024, usedBytes: 10_000_000 * 1024 });
  });

  it('/proc/net/dev: sums interfaces but loopback', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo: 5000      10    0    0    0     0          0         0     5000      10    0    0    0     0       0          0',
      '  eth0: 1200      12    0    0    0     0          0         0      800       8    0    0    0     0       0          0',
      '  eth1:  300       3    0    0    0     0          0         0      200       2    0    0    0     0       0          0',
    ].join('\n');
    expect(parseNetDev(text)).toEqual({ rxBytes: 1500, txBytes: 1000 });
  });

  it('/proc/loadavg', () => expect(parseLoadavg('0.52 0.40 0.31 2/512 12345\n')).toEqual([0.52, 0.4, 0.31]));

  it('/proc/<pid>/cgroup: v1 controllers and the v2 path', () => {
    const text = '4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/system.slice/docker-abc.scope\n';
    expect(parseProcCgroup(text)).toEqual({
      v2: '/system.slice/docker-abc.scope',
      v1: { memory: '/docker/abc', cpu: '/docker/abc', cpuacct: '/docker/abc' },
    });
    expect(parseProcCgroup('0::/docker/x\n')).toEqual({ v2: '/docker/x', v1: {} });
  });

  it('cgroup v2 cpu.stat and memory.stat', () => {
    expect(parseCpuStatV2('usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n')).toBe(2.5);
    expect(memoryStatField('anon 100\ninactive_file 4096\nactive_file 10\n', 'inactive_file')).toBe(4096);
    expect(memoryStatField('total_inactive_file 8192\n', 'total_inactive_file')).toBe(8192);
  });

  it('memory limits: a number, or none for max and v1 unlimited', () => {
    expect(parseMemoryLimit('67108864\n', 16e9)).toBe(64 * 1024 * 1024);
    expect(parseMemoryLimit('max\n', 16e9)).toBeNull();
    expect(parseMemoryLimit('9223372036854771712\n', 16e9)).toBeNull();
  });

  it('working set and rates', () => {
    expect(workingSet(1000, 300)).toBe(700);
    expect(workingSet(100, 300)).toBe(0);
    expect(rate(100, 300, 2)).toBe(100);
    expect(rate(undefined, 300, 2)).toBe(0);
    expect(rate(500, 300, 2)).toBe(0);
  });
});

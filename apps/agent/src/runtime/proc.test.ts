import { describe, expect, it } from 'vitest';
import { parseProcStat, processAlive, readProcStat, resolveUser } from './proc';

const stat = (comm: string) =>
  `4242 (${comm}) S 1 4242 4242 0 -1 4194560 101 0 0 0 0 0 0 0 20 0 1 0 114631 3133440 408 18446744073709551615 0 0 0`;

describe('parseProcStat', () => {
  it.each([
    { name: 'plain command', comm: 'sleep' },
    { name: 'command with spaces and parentheses', comm: 'my (odd) cmd' },
  ])('$name', ({ comm }) => {
    expect(parseProcStat(stat(comm))).toEqual({
      pid: 4242,
      state: 'S',
      ppid: 1,
      pgrp: 4242,
      startTicks: '114631',
    });
  });

  it('rejects garbage', () => {
    expect(parseProcStat('nonsense')).toBeUndefined();
  });

  it('reads this process', () => {
    const st = readProcStat(process.pid);
    expect(st?.pid).toBe(process.pid);
    expect(processAlive(process.pid, st?.startTicks)).toBe(true);
    expect(processAlive(process.pid, '1')).toBe(false);
  });
});

describe('resolveUser', () => {
  const passwd =
    'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
  it.each([
    { name: 'by name', user: 'nobody', want: { uid: 65534, gid: 65534 } },
    { name: 'by uid', user: '0', want: { uid: 0, gid: 0 } },
    { name: 'uid:gid', user: '1000:100', want: { uid: 1000, gid: 100 } },
    { name: 'unknown uid uses uid as gid', user: '1234', want: { uid: 1234, gid: 1234 } },
    { name: 'unknown name', user: 'ghost', want: undefined },
  ])('$name', ({ user, want }) => {
    expect(resolveUser(user, passwd)).toEqual(want);
  });
});

import fs from 'node:fs';

export interface ProcStat {
  pid: number;
  /** R, S, D, Z, T, … */
  state: string;
  ppid: number;
  pgrp: number;
  /** Start time in clock ticks after boot: with the pid, identifies a process across pid reuse. */
  startTicks: string;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself contain
 * spaces and parentheses, so fields are counted from the last `)`.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // After ")": state(3) ppid(4) pgrp(5) session(6) tty(7) tpgid(8) flags(9) minflt … starttime(22).
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  const startTicks = rest[19];
  if (!Number.isInteger(pid) || state === undefined || startTicks === undefined || Number.isNaN(pgrp))
    return undefined;
  return { pid, state, ppid, pgrp, startTicks };
}

export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The process `pid` that started at `startTicks` still exists and is not a zombie. */
export function processAlive(pid: number, startTicks: string | undefined): boolean {
  const st = readProcStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTicks === undefined || startTicks === '' || st.startTicks === startTicks;
}

/** Live (non-zombie) members of a process group. */
export function processGroupMembers(pgid: number): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const members: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const st = readProcStat(Number(e));
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') members.push(st.pid);
  }
  return members;
}

/**
 * Resolves Marathon's `user` ("name", "uid" or "uid:gid") against a passwd file's text.
 * Undefined when the user does not exist.
 */
export function resolveUser(user: string, passwd: string): { uid: number; gid: number } | undefined {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(user);
  if (numeric) {
    const uid = Number(numeric[1]);
    if (numeric[2] !== undefined) return { uid, gid: Number(numeric[2]) };
    const line = passwd.split('\n').find((l) => l.split(':')[2] === String(uid));
    return { uid, gid: line ? Number(line.split(':')[3]) : uid };
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f[2] !== undefined && f[3] !== undefined)
      return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

import path from 'node:path';
import os from 'node:os';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { authService } from '@atoll/api';
import { startTestCluster } from '@atoll/control/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type CliIO } from '../src/main';
import type { AuditRecord } from '../src/commands/audit';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

// `atoll audit` in-process against a real control (fresh database, no agent): the writes below
// are made through the CLI itself and read back from the audit log.
describe('atoll audit against a real cluster', () => {
  let cluster: Awaited<ReturnType<typeof startTestCluster>>;
  let dir: string;
  let env: Record<string, string>;

  async function atoll(extraEnv: Record<string, string>, ...args: string[]): Promise<Result> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env: { ...env, ...extraEnv },
    };
    const code = await run(args, io);
    return { code, stdout: out.join(''), stderr: err.join('') };
  }

  async function audit(...args: string[]): Promise<AuditRecord[]> {
    const r = await atoll({}, '--json', 'audit', ...args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as AuditRecord[];
  }

  /** Records are written in batches: waits until `audit …args` returns at least `n`. */
  async function auditUntil(n: number, ...args: string[]): Promise<AuditRecord[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const records = await audit(...args);
      if (records.length >= n) return records;
      if (Date.now() > deadline)
        throw new Error(`audit ${args.join(' ')}: ${records.length} of ${n} records`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** `atoll app add` of a definition written to a file. */
  async function addApp(definition: Record<string, unknown>): Promise<Result> {
    const file = path.join(dir, `${String(definition.id).replace(/\//g, '_')}.json`);
    await writeFile(file, JSON.stringify(definition));
    return atoll({}, 'app', 'add', file);
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-cli-audit-'));
    cluster = await startTestCluster();
    env = { ATOLL_URL: cluster.url, ATOLL_TOKEN: cluster.token, ATOLL_CONFIG: path.join(dir, 'config.json') };
  });
  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists the writes made with the CLI, newest first, filtered by action, actor, status and time', async () => {
    for (const id of ['/cli-audit/a', '/cli-audit/b']) {
      const r = await addApp({ id, cmd: 'sleep 1000', instances: 0, cpus: 0.1, mem: 32 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const created = await auditUntil(2, '--action', 'apps.create');
    expect(created.map((r) => [r.actor, r.action, r.target, r.status])).toEqual([
      ['admin', 'apps.create', '/cli-audit/b', 200],
      ['admin', 'apps.create', '/cli-audit/a', 200],
    ]);
    expect(await audit('--action', 'apps.create', '--limit', '1')).toHaveLength(1);
    expect(await audit('--actor', 'nobody')).toEqual([]);
    expect(await audit('--since', '1h', '--action', 'apps.create')).toHaveLength(2);
    expect(await audit('--until', '1h')).toEqual([]);
    expect(await audit('--status', '4xx')).toEqual([]);

    // The table names the same records.
    const table = await atoll({}, 'audit', '--action', 'apps.create');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+USER\s+ACTION\s+TARGET\s+STATUS\s+IP\s+REQUEST$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(1, 5))).toEqual([
      ['admin', 'apps.create', '/cli-audit/b', '200'],
      ['admin', 'apps.create', '/cli-audit/a', '200'],
    ]);
  });

  it('exports CSV and JSON lines', async () => {
    const csv = await atoll({}, 'audit', '--action', 'apps.create', '--format', 'csv');
    expect(csv.code).toBe(0);
    const rows = csv.stdout.trimEnd().split('\r\n');
    expect(rows[0]).toBe('id,at,actor,actorId,method,path,action,target,ip,status,requestId');
    expect(rows.slice(1).map((l) => l.split(',').slice(6, 8))).toEqual([
      ['apps.create', '/cli-audit/b'],
      ['apps.create', '/cli-audit/a'],
    ]);
    const jsonl = await atoll({}, 'audit', '--action', 'apps.create', '--format', 'jsonl');
    expect(jsonl.code).toBe(0);
    const lines = jsonl.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.map((r) => r.target)).toEqual(['/cli-audit/b', '/cli-audit/a']);
  });

  it('refused writes are listed by status class; a bad --since names the flag', async () => {
    const refused = await addApp({ id: '/cli-audit/bad', cmd: 'x', instances: -3 });
    expect(refused.code).not.toBe(0);
    const records = await auditUntil(1, '--status', '4xx');
    expect(records[0]).toMatchObject({ actor: 'admin', action: 'apps.create', target: '/cli-audit/bad' });
    expect(records[0]!.status).toBeGreaterThanOrEqual(400);

    const bad = await atoll({}, 'audit', '--since', 'yesterday');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--since');
  });

  it('is for admins only', async () => {
    const viewer = await cluster.control.db.prisma.user.create({
      data: { username: 'cli-audit-viewer', role: 'viewer', passwordHash: 'unused' },
    });
    const { token } = await authService.createApiToken(cluster.control.services, viewer.id, 'cli');
    const r = await atoll({ ATOLL_TOKEN: token }, 'audit');
    expect(r.code).not.toBe(0);
    expect(r.stderr.toLowerCase()).toMatch(/forbidden|admin|not allowed|permission/);
  });
});

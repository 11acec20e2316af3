import { describe, expect, it } from 'vitest';
import { CliError } from '../errors';
import { auditCsv, auditJsonLines, auditTable, parseWhen, type AuditRecord } from './audit';

describe('atoll audit', () => {
  const now = new Date('2026-12-05T18:00:00.000Z');

  it.each([
    ['90s', '2026-12-05T17:58:30.000Z'],
    ['15m', '2026-12-05T17:45:00.000Z'],
    ['1h', '2026-12-05T17:00:00.000Z'],
    ['2d', '2026-12-03T18:00:00.000Z'],
    ['1w', '2026-11-28T18:00:00.000Z'],
    ['2026-12-01T10:00:00Z', '2026-12-01T10:00:00.000Z'],
    ['2026-12-01', '2026-12-01T00:00:00.000Z'],
  ])('--since %s is %s', (value, iso) => {
    expect(parseWhen(value, now)).toBe(iso);
  });

  it.each(['yesterday', '1y', '-1h', '2026-13-45'])('--since %s is refused naming the flag', (value) => {
    expect(() => parseWhen(value, now, '--since')).toThrow(CliError);
    expect(() => parseWhen(value, now, '--since')).toThrow(/--since/);
  });

  it('prints one line per record; a failed login reads as not signed in', () => {
    const base: AuditRecord = {
      id: '2',
      at: '2026-12-05T17:59:00.123Z',
      actorId: 'u1',
      actor: 'admin',
      method: 'DELETE',
      path: '/v2/apps/prod/web',
      action: 'DELETE /v2/apps/:id',
      target: '/prod/web',
      ip: '10.0.0.9',
      status: 200,
      requestId: '7f1c',
    };
    const text = auditTable([
      base,
      { ...base, id: '1', actorId: null, actor: 'mallory', action: 'auth.login', target: null, status: 401 },
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]!.split(/\s{2,}/)).toEqual([
      'TIME',
      'USER',
      'ACTION',
      'TARGET',
      'STATUS',
      'IP',
      'REQUEST',
    ]);
    expect(lines[1]!.split(/\s{2,}/)).toEqual([
      '2026-12-05T17:59:00Z',
      'admin',
      'DELETE /v2/apps/:id',
      '/prod/web',
      '200',
      '10.0.0.9',
      '7f1c',
    ]);
    expect(lines[2]).toContain('mallory (not signed in)');
    expect(lines[2]).toContain('401');
  });

  it('exports CSV (quoted where needed, formulas defused) and JSON lines', () => {
    const r: AuditRecord = {
      id: '7',
      at: '2026-12-05T17:59:00.123Z',
      actorId: null,
      actor: '=cmd|x',
      method: 'POST',
      path: '/api/trpc/apps.scale,apps.restart',
      action: 'apps.scale,apps.restart',
      target: '/prod/"web"',
      ip: null,
      status: 401,
      requestId: 'r1',
    };
    expect(auditCsv([r])).toBe(
      'id,at,actor,actorId,method,path,action,target,ip,status,requestId\r\n' +
        `7,2026-12-05T17:59:00.123Z,'=cmd|x,,POST,"/api/trpc/apps.scale,apps.restart","apps.scale,apps.restart","/prod/""web""",,401,r1\r\n`,
    );
    const lines = auditJsonLines([r, { ...r, id: '6' }])
      .trimEnd()
      .split('\n');
    expect(lines.map((l) => (JSON.parse(l) as AuditRecord).id)).toEqual(['7', '6']);
    expect(auditJsonLines([])).toBe('');
  });
});

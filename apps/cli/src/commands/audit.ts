import { Option, type Command } from 'commander';
import type { AtollClient } from '../client';
import type { CommandContext } from '../context';
import { CliError } from '../errors';
import { formatTable, timestamp } from '../format';
import { auditCsv as specAuditCsv } from '@atoll/spec';

export type AuditRecord = Awaited<ReturnType<AtollClient['audit']['list']['query']>>['records'][number];

/** The server's largest page; `--limit` beyond it is fetched page by page. */
const PAGE = 500;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/**
 * `--since`/`--until`: an age (`90s`, `15m`, `1h`, `2d`, `1w`, counted back from `now`) or an
 * ISO 8601 time; returns the ISO time the API takes.
 */
export function parseWhen(value: string, now: Date, flag = '--since'): string {
  const age = /^(\d+)\s*([smhdw])$/i.exec(value.trim());
  if (age)
    return new Date(now.getTime() - Number(age[1]) * UNITS[age[2]!.toLowerCase()]! * 1000).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = new Date(value);
    if (!Number.isNaN(t.getTime())) return t.toISOString();
  }
  throw new CliError(
    `${flag} ${JSON.stringify(value)}: give an age such as 30m, 1h or 7d, or a time such as 2026-12-05T18:00:00Z`,
  );
}

/** The records as a table, newest first: when, who, what, on what, result, from where, request. */
export function auditTable(records: AuditRecord[]): string {
  return formatTable(
    ['TIME', 'USER', 'ACTION', 'TARGET', 'STATUS', 'IP', 'REQUEST'],
    records.map((r) => [
      timestamp(r.at),
      r.actor ? (r.actorId ? r.actor : `${r.actor} (not signed in)`) : '-',
      r.action,
      r.target ?? '-',
      String(r.status),
      r.ip ?? '-',
      r.requestId,
    ]),
  );
}

/** RFC 4180 CSV with a header line (packages/spec's auditCsv, shared with the console). */
export function auditCsv(records: AuditRecord[]): string {
  return specAuditCsv(records);
}

/** One JSON object per line (for log pipelines). */
export function auditJsonLines(records: AuditRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}

/** `atoll audit`: the audit log of write requests (admins only), newest first. */
export function registerAuditCommands(program: Command, ctx: CommandContext): void {
  program
    .command('audit')
    .description('the audit log: who wrote what, when, from where and the result (admins only)')
    .option('--actor <user>', 'only this user’s requests (for failed logins: the name tried)')
    .option(
      '--action <prefix>',
      'action prefix (apps., jobs.create, DELETE /v2/apps) or path prefix (/v2/apps/prod)',
    )
    .option('--target <prefix>', 'target prefix: an app or group path, a job id, a node id')
    .addOption(new Option('--status <class>', 'result class').choices(['2xx', '3xx', '4xx', '5xx']))
    .option('--since <when>', 'newer than an age (15m, 1h, 7d) or an ISO time')
    .option('--until <when>', 'older than an age or an ISO time')
    .option('--limit <n>', 'how many records at most', '50')
    .addOption(
      new Option('--format <format>', 'csv, or jsonl (one JSON object a line), instead of the table').choices(
        ['csv', 'jsonl'],
      ),
    )
    .action(
      async (opts: {
        actor?: string;
        action?: string;
        target?: string;
        status?: '2xx' | '3xx' | '4xx' | '5xx';
        since?: string;
        until?: string;
        limit: string;
        format?: 'csv' | 'jsonl';
      }) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new CliError(
            `--limit ${JSON.stringify(opts.limit)}: give a whole number of records, 1 or more`,
          );
        const now = new Date();
        const filters = {
          ...(opts.actor ? { actor: opts.actor } : {}),
          ...(opts.action
            ? opts.action.startsWith('/')
              ? { path: opts.action }
              : { action: opts.action }
            : {}),
          ...(opts.target ? { target: opts.target } : {}),
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.since ? { since: parseWhen(opts.since, now, '--since') } : {}),
          ...(opts.until ? { until: parseWhen(opts.until, now, '--until') } : {}),
        };
        const client = await ctx.client();
        const records: AuditRecord[] = [];
        let cursor: string | undefined;
        do {
          const page = await client.audit.list.query({
            ...filters,
            limit: Math.min(PAGE, limit - records.length),
            ...(cursor ? { cursor } : {}),
          });
          records.push(...page.records);
          cursor = page.nextCursor ?? undefined;
        } while (cursor && records.length < limit);
        if (opts.format === 'csv') ctx.io.stdout.write(auditCsv(records));
        else if (opts.format === 'jsonl') ctx.io.stdout.write(auditJsonLines(records));
        else
          ctx.print(records, () => (records.length === 0 ? 'No audit records match.' : auditTable(records)));
      },
    );
}

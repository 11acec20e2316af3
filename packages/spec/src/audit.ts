/** The audit log's CSV export, shared by the console's Export CSV and `atoll audit --csv`. */

export const AUDIT_CSV_COLUMNS = [
  'id',
  'at',
  'actor',
  'actorId',
  'method',
  'path',
  'action',
  'target',
  'ip',
  'status',
  'requestId',
] as const;

export type AuditCsvRecord = Record<(typeof AUDIT_CSV_COLUMNS)[number], string | number | null>;

/** RFC 4180 CSV with a header line; a cell that could start a spreadsheet formula gets a leading '. */
export function auditCsv(records: readonly AuditCsvRecord[]): string {
  const cell = (v: string | number | null) => {
    let s = v === null ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [
    AUDIT_CSV_COLUMNS.join(','),
    ...records.map((r) => AUDIT_CSV_COLUMNS.map((c) => cell(r[c])).join(',')),
  ];
  return lines.join('\r\n') + '\r\n';
}

import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { CliError, connectionError, errorCode, reportError } from './errors';

function report(err: unknown) {
  const lines: string[] = [];
  const code = reportError(err, { write: (s: string) => lines.push(s) });
  return { code, text: lines.join('') };
}

const trpcError = (message: string, issues: unknown) =>
  TRPCClientError.from({
    error: { code: -32600, message, data: { code: 'UNPROCESSABLE_CONTENT', httpStatus: 422, issues } },
  });

describe('reportError', () => {
  it('prints a tRPC error message and each issue, exit 1', () => {
    const r = report(
      trpcError('cpus: must be positive', [
        { path: 'cpus', message: 'must be positive' },
        { path: 'container.docker.image', message: 'is required' },
      ]),
    );
    expect(r).toEqual({
      code: 1,
      text: 'error: cpus: must be positive\n  cpus: must be positive\n  container.docker.image: is required\n',
    });
  });

  it('prints a tRPC error without issues as its message', () => {
    expect(report(trpcError("App '/x' does not exist", null))).toEqual({
      code: 1,
      text: "error: App '/x' does not exist\n",
    });
  });

  it('replaces a raw validation dump by "invalid input" when the issues say it', () => {
    const r = report(
      trpcError('[\n  {\n    "code": "too_small" } ]', [
        { path: 'instances', message: 'instances must be 0 or more' },
      ]),
    );
    expect(r.text).toBe('error: invalid input\n  instances: instances must be 0 or more\n');
  });

  it('unwraps a CliError a link failed with', () => {
    const r = report(
      TRPCClientError.from(new CliError('cannot connect to http://x: connection refused', { exitCode: 1 })),
    );
    expect(r).toEqual({ code: 1, text: 'error: cannot connect to http://x: connection refused\n' });
  });

  it('prints hints and uses the exit code of a CliError', () => {
    expect(report(new CliError('nope', { exitCode: 2, hints: ['try this'] }))).toEqual({
      code: 2,
      text: 'error: nope\n  try this\n',
    });
  });

  it('prints anything else as its message', () => {
    expect(report(new Error('boom'))).toEqual({ code: 1, text: 'error: boom\n' });
  });
});

describe('connectionError', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

  it('finds the code in causes and aggregates', () => {
    expect(errorCode(new TypeError('fetch failed', { cause: refused }))).toBe('ECONNREFUSED');
    expect(errorCode(new TypeError('fetch failed', { cause: new AggregateError([refused]) }))).toBe(
      'ECONNREFUSED',
    );
    expect(errorCode(new Error('x'))).toBeUndefined();
  });

  it('says what went wrong and names the URL', () => {
    expect(connectionError('http://c:7700', new TypeError('fetch failed', { cause: refused })).message).toBe(
      'cannot connect to http://c:7700: connection refused (is atoll-control running there?)',
    );
    const unknown = Object.assign(new Error('getaddrinfo ENOTFOUND c'), { code: 'ENOTFOUND' });
    expect(connectionError('http://c', new TypeError('fetch failed', { cause: unknown })).message).toBe(
      'cannot connect to http://c: unknown host',
    );
    expect(
      connectionError('http://c', new TypeError('fetch failed', { cause: new Error('bad port') })).message,
    ).toBe('cannot connect to http://c: bad port');
  });
});

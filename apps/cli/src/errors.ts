import { TRPCClientError } from '@trpc/client';
import { CommanderError } from 'commander';

/** An error meant for the person at the terminal: `message` is printed as is, then the hints. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly hints: string[];

  constructor(message: string, opts: { exitCode?: number; hints?: string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CliError';
    this.exitCode = opts.exitCode ?? 1;
    this.hints = opts.hints ?? [];
  }
}

/** Ends the command with an exit code and no message (what there was to say is already printed). */
export class ExitCode extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitCode';
  }
}

/** Control could not be reached: a watch rides this out, other commands report it. */
export class ConnectionError extends CliError {
  override readonly name = 'ConnectionError';
}

/** True for a failure to reach control, as such or as the cause of a tRPC call's failure. */
export function isConnectionFailure(err: unknown): boolean {
  return (
    err instanceof ConnectionError || (err instanceof TRPCClientError && err.cause instanceof ConnectionError)
  );
}

/** Exit code of "no cluster configured" and "the cluster rejected our credentials". */
export const EXIT_NOT_LOGGED_IN = 2;

export function notLoggedIn(reason = 'not logged in'): CliError {
  return new CliError(`${reason}: run \`atoll cluster setup <url>\` first`, { exitCode: EXIT_NOT_LOGGED_IN });
}

/** The control service could not be reached at all (refused, unknown host, timeout, TLS). */
export function connectionError(url: string, cause: unknown): ConnectionError {
  const code = errorCode(cause);
  const detail =
    code === 'ECONNREFUSED'
      ? 'connection refused (is atoll-control running there?)'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'unknown host'
        : code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'TimeoutError'
          ? 'timed out'
          : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
            ? 'connection reset'
            : (code ?? innermostMessage(cause));
  return new ConnectionError(`cannot connect to ${url}: ${detail}`, { cause });
}

/** Finds a system error code (ECONNREFUSED, …) anywhere in a chain of causes and aggregates. */
export function errorCode(err: unknown, depth = 0): string | undefined {
  if (depth > 8 || typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  if (e.name === 'TimeoutError') return 'TimeoutError';
  const fromCause = errorCode(e.cause, depth + 1);
  if (fromCause) return fromCause;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = errorCode(inner, depth + 1);
      if (c) return c;
    }
  }
  return undefined;
}

function innermostMessage(err: unknown): string {
  let cur: unknown = err;
  let message = 'unknown error';
  for (let i = 0; i < 8 && cur instanceof Error; i++) {
    if (cur.message) message = cur.message;
    cur = cur.cause;
  }
  return message;
}

export interface Issue {
  path: string;
  message: string;
}

export function issuesOf(data: unknown): Issue[] {
  if (typeof data !== 'object' || data === null) return [];
  const issues = (data as { issues?: unknown }).issues;
  if (!Array.isArray(issues)) return [];
  return issues.flatMap((i: unknown) => {
    if (typeof i !== 'object' || i === null) return [];
    const { path, message } = i as { path?: unknown; message?: unknown };
    if (typeof message !== 'string') return [];
    const p = Array.isArray(path) ? path.join('.') : typeof path === 'string' ? path : '';
    return [{ path: p, message }];
  });
}

/** What to say about Marathon's deployment lock (409 "App is locked by one or more deployments"). */
export const LOCK_HINT = 'retry with --force to override the lock (the running deployment is canceled)';

function isLockError(err: { data?: unknown; message: string }): boolean {
  const code = (err.data as { code?: unknown } | undefined)?.code;
  return code === 'CONFLICT' && /locked by one or more deployments/i.test(err.message);
}

export interface ErrorSink {
  write(s: string): unknown;
}

/** Prints an error the way every command does and returns the process exit code. */
export function reportError(err: unknown, stderr: ErrorSink): number {
  // Commander has already printed its own message (unknown option, missing argument, help).
  if (err instanceof CommanderError) return err.exitCode;
  if (err instanceof ExitCode) return err.exitCode;
  if (err instanceof TRPCClientError && err.cause instanceof CliError) return reportError(err.cause, stderr);
  if (err instanceof CliError) {
    stderr.write(`error: ${err.message}\n`);
    for (const hint of err.hints) stderr.write(`  ${hint}\n`);
    return err.exitCode;
  }
  if (err instanceof TRPCClientError) {
    const issues = issuesOf(err.data);
    // Input validation errors carry the raw issue list as their message; the issues say it better.
    const raw = err.message.trim();
    const message = issues.length > 0 && (raw.startsWith('[') || raw.startsWith('{')) ? 'invalid input' : raw;
    stderr.write(`error: ${message}\n`);
    for (const issue of issues) stderr.write(`  ${issue.path || '(input)'}: ${issue.message}\n`);
    if (isLockError(err)) stderr.write(`  ${LOCK_HINT}\n`);
    return 1;
  }
  stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

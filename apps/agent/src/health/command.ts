import type { ExecResult } from '../runtime/types';
import { formatSeconds } from './http';

export type CommandRunner = (command: string, timeoutMs: number) => Promise<ExecResult>;

export type CommandProbeResult = { ok: true } | { ok: false; error: string };

/** The first non-empty line of a command's output, shortened for a message. */
function firstLine(output: string): string | undefined {
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  if (line === undefined) return undefined;
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** What an ended command means for a COMMAND check: exit status 0 is healthy, anything else is not. */
export function commandVerdict(result: ExecResult, timeoutMs: number): CommandProbeResult {
  if (result.timedOut) return { ok: false, error: `command did not end within ${formatSeconds(timeoutMs)}` };
  if (result.exitCode === 0) return { ok: true };
  const line = firstLine(result.output);
  const status =
    result.exitCode === undefined
      ? 'command ended with an unknown status'
      : `command exited with code ${result.exitCode}`;
  return { ok: false, error: line ? `${status}: ${line}` : status };
}

/** Runs a COMMAND check through the runtime. Never rejects: a task the runtime cannot reach fails the check. */
export async function commandProbe(
  run: CommandRunner,
  command: string,
  timeoutMs: number,
): Promise<CommandProbeResult> {
  try {
    return commandVerdict(await run(command, timeoutMs), timeoutMs);
  } catch (err) {
    return { ok: false, error: `command could not run: ${err instanceof Error ? err.message : String(err)}` };
  }
}

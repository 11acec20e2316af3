import { createInterface } from 'node:readline';
import { CliError } from './errors';

interface TtyInput extends NodeJS.EventEmitter {
  isRaw?: boolean;
  setRawMode(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  resume(): unknown;
  pause(): unknown;
}

/**
 * Reads one line from a terminal without echoing it: the terminal goes to raw mode, typed
 * characters are collected (backspace edits, Enter ends, Ctrl-C / Ctrl-D on an empty line cancel)
 * and the previous mode is restored.
 */
export function readHidden(
  prompt: string,
  input: TtyInput,
  output: { write(s: string): unknown },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw === true;
    let value = '';
    const finish = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string | Buffer) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new CliError('cancelled', { exitCode: 130 }));
        if (ch === '\u0004') {
          if (value === '') return finish(new CliError('cancelled'));
          continue;
        }
        if (ch === '\u007f' || ch === '\b') {
          value = Array.from(value).slice(0, -1).join('');
          continue;
        }
        if (ch < ' ') continue;
        value += ch;
      }
    };
    output.write(prompt);
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
  });
}

/**
 * Reads one line typed at a terminal, echoed (a yes/no answer). Ctrl-C cancels with exit code
 * 130; Ctrl-D (end of input) answers an empty line.
 */
export function readLine(
  prompt: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input, output, terminal: true });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      rl.close();
      fn();
    };
    rl.on('SIGINT', () => {
      output.write('\n');
      settle(() => reject(new CliError('cancelled', { exitCode: 130 })));
    });
    rl.on('close', () => {
      if (!settled) output.write('\n');
      settle(() => resolve(''));
    });
    rl.question(prompt, (answer) => settle(() => resolve(answer)));
  });
}

/** True for an answer that means yes: `y` or `yes`, in any case. */
export function isYes(answer: string): boolean {
  return /^y(es)?$/i.test(answer.trim());
}

import type { Command } from 'commander';
import { createClient, resolveConnection, type AtollClient, type FetchFn } from './client';
import { configPath, loadConfig, type CliConfig, type Env } from './config';

export interface Writer {
  write(s: string | Uint8Array): unknown;
  /** A terminal: watches redraw the screen instead of printing frame after frame. */
  isTTY?: boolean | undefined;
}

/** Everything the CLI takes from its process, injectable so tests run it in-process. */
export interface CliIO {
  stdout: Writer;
  stderr: Writer;
  env: Env;
  /** Reads a secret from the terminal without echo; absent when there is no terminal. */
  readSecret?: ((prompt: string) => Promise<string>) | undefined;
  /** Reads a line typed at the terminal (a yes/no answer); absent when standard input is not one. */
  readLine?: ((prompt: string) => Promise<string>) | undefined;
  hostname?: (() => string) | undefined;
  fetch?: FetchFn | undefined;
  /** Standard input as a stream (interactive `task exec`); absent in tests that do not give one. */
  stdin?: (NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown }) | undefined;
  /** The terminal's size, for `task exec -t`. */
  terminalSize?: (() => { cols: number; rows: number } | undefined) | undefined;
  /** Reads all of standard input (for `-` as a file name). */
  readStdin?: (() => Promise<string>) | undefined;
  /**
   * A signal aborted when the user interrupts (Ctrl-C); asked for only by commands that run until
   * then (watches), so other commands keep the default Ctrl-C behaviour.
   */
  interrupt?: (() => AbortSignal) | undefined;
}

export interface GlobalOptions {
  json?: boolean;
  url?: string;
}

/** What a command needs: its output, the global options and a client for the configured cluster. */
export class CommandContext {
  constructor(
    readonly io: CliIO,
    private readonly program: Command,
  ) {}

  get options(): GlobalOptions {
    return this.program.opts<GlobalOptions>();
  }

  get json(): boolean {
    return this.options.json === true;
  }

  get configFile(): string {
    return configPath(this.io.env);
  }

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  warn(text: string): void {
    this.io.stderr.write(`warning: ${text}\n`);
  }

  /** Prints `data` as JSON with `--json`, else the human text. */
  print(data: unknown, human: () => string): void {
    this.out(this.json ? JSON.stringify(data, null, 2) : human());
  }

  /** The cluster of `--url`/ATOLL_URL/config and ATOLL_TOKEN/config's token. */
  async connection(): Promise<CliConfig> {
    const env = this.io.env;
    // The config file is only needed when the environment does not say everything.
    const config =
      (this.options.url || env.ATOLL_URL) && env.ATOLL_TOKEN ? null : await loadConfig(this.configFile);
    return resolveConnection({ url: this.options.url }, env, config);
  }

  /** A client for the cluster of `connection()`. */
  async client(): Promise<AtollClient> {
    const conn = await this.connection();
    return createClient({ ...conn, ...(this.io.fetch ? { fetch: this.io.fetch } : {}) });
  }

  /** Aborted on Ctrl-C (never, when the process gives no way to interrupt). */
  interruptSignal(): AbortSignal {
    return this.io.interrupt?.() ?? new AbortController().signal;
  }
}

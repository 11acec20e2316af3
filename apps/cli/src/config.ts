import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliError } from './errors';

/** What `atoll cluster setup` stores: where the cluster is and the API token to use there. */
export interface CliConfig {
  url: string;
  token: string;
}

export type Env = Record<string, string | undefined>;

/** `$ATOLL_CONFIG`, else `~/.config/atoll/config.json`. */
export function configPath(env: Env): string {
  if (env.ATOLL_CONFIG) return path.resolve(env.ATOLL_CONFIG);
  const home = env.HOME || os.homedir();
  return path.join(home, '.config', 'atoll', 'config.json');
}

/** Reads the config file; null when there is none. A damaged file is an error, not "no config". */
export async function loadConfig(file: string): Promise<CliConfig | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged(file, 'not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw damaged(file, 'not a JSON object');
  const { url, token } = value as Record<string, unknown>;
  if (typeof url !== 'string' || url === '') throw damaged(file, '"url" is missing');
  if (typeof token !== 'string' || token === '') throw damaged(file, '"token" is missing');
  return { url, token };
}

function damaged(file: string, why: string): CliError {
  return new CliError(`config file ${file} is damaged (${why})`, {
    hints: ['run `atoll cluster setup <url>` to write it again'],
  });
}

/**
 * Writes the config readable by its owner only (it holds a credential): the directory is created
 * 0700, the file 0600, replaced atomically so a reader never sees half a file.
 */
export async function saveConfig(file: string, config: CliConfig): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const body = `${JSON.stringify({ url: config.url, token: config.token }, null, 2)}\n`;
  try {
    await writeFile(tmp, body, { mode: 0o600 });
    // writeFile's mode only applies to new files and is subject to the umask: set it explicitly.
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new CliError(`cannot write config file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

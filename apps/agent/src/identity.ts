import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

/** What control issued at the first join; presented on every reconnect instead of the join token. */
export const nodeIdentitySchema = z.object({ nodeId: z.string().min(1), credential: z.string().min(1) });
export type NodeIdentity = z.infer<typeof nodeIdentitySchema>;

export const IDENTITY_FILE = 'node.json';

export async function readIdentity(stateDir: string): Promise<NodeIdentity | undefined> {
  let raw: string;
  try {
    raw = await fs.readFile(path.join(stateDir, IDENTITY_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = nodeIdentitySchema.safeParse(JSON.parse(raw));
  if (!parsed.success) throw new Error(`${path.join(stateDir, IDENTITY_FILE)} is not a valid node identity`);
  return parsed.data;
}

export async function writeIdentity(stateDir: string, identity: NodeIdentity): Promise<void> {
  await writePrivateJson(path.join(stateDir, IDENTITY_FILE), identity);
}

/** Writes JSON readable by the owner only, atomically (temp file + rename). */
export async function writePrivateJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await fs.chmod(tmp, 0o600);
  await fs.rename(tmp, file);
}

import fs from 'node:fs/promises';
import path from 'node:path';
import type { TaskSpec } from '@atoll/spec';

/**
 * File secrets (`container.volumes: [{containerPath, secret}]`): control puts their values in the
 * task's launch message only; the agent writes each to a file of mode 0400 under
 * `<state dir>/secrets/<task>/` (a 0700 directory; mount a tmpfs there to keep them off disk) and
 * binds it read-only at its path in the container. The directory goes when the task ends.
 */
export function secretDir(stateDir: string, taskId: string): string {
  return path.join(stateDir, 'secrets', taskId.replace(/[^A-Za-z0-9._-]/g, '_'));
}

/** Writes the task's secret files and returns the spec with read-only binds in place of them. */
export async function materializeSecretFiles(stateDir: string, spec: TaskSpec): Promise<TaskSpec> {
  const files = spec.secretFiles ?? [];
  if (files.length === 0) return spec;
  // A bind mount needs a container: an exec task (a plain process) has nowhere to put the file.
  if (!spec.image) throw new Error('file secrets need a Docker task (container.docker.image)');
  const { secretFiles: _values, ...rest } = spec;
  const dir = secretDir(stateDir, spec.taskId);
  await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { mode: 0o700 });
  const mounts = [...(spec.mounts ?? [])];
  for (const [i, f] of files.entries()) {
    const file = path.join(dir, `${i}`);
    await fs.writeFile(file, Buffer.from(f.data, 'base64'), { mode: 0o400, flag: 'wx' });
    // Relative container paths are under the sandbox, as Mesos put them.
    const target = f.target.startsWith('/') ? f.target : `/mnt/mesos/sandbox/${f.target}`;
    mounts.push({ target, source: { type: 'host', path: file }, readOnly: true });
  }
  return { ...rest, mounts };
}

export async function removeSecretFiles(stateDir: string, taskId: string): Promise<void> {
  await fs.rm(secretDir(stateDir, taskId), { recursive: true, force: true });
}

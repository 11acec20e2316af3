import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TaskSpec } from '@atoll/spec';
import { afterEach, describe, expect, it } from 'vitest';
import { materializeSecretFiles, removeSecretFiles, secretDir } from './secret-files';

const spec = (extra: Partial<TaskSpec> = {}): TaskSpec => ({
  taskId: 'team-a_web.1234',
  appId: '/team-a/web',
  appVersion: 'v1',
  image: 'img',
  env: {},
  cpus: 0.1,
  mem: 32,
  disk: 0,
  network: 'host',
  ports: [],
  labels: {},
  forcePullImage: false,
  privileged: false,
  killGracePeriodSeconds: 3,
  healthChecks: [],
  readinessChecks: [],
  ...extra,
});

describe('file secrets on the agent', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes each value to a 0400 file in a 0700 directory and binds it read-only; the spec keeps no value', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-secret-files-'));
    const out = await materializeSecretFiles(
      dir,
      spec({
        mounts: [{ target: '/data', source: { type: 'host', path: '/srv' }, readOnly: false }],
        secretFiles: [
          { target: '/run/secrets/db', data: Buffer.from('s3cret\n').toString('base64') },
          { target: 'relative/key', data: Buffer.from([0, 1, 2]).toString('base64') },
        ],
      }),
    );
    expect(out.secretFiles).toBeUndefined();
    expect(JSON.stringify(out)).not.toContain(Buffer.from('s3cret\n').toString('base64'));
    const base = secretDir(dir, 'team-a_web.1234');
    expect(out.mounts).toEqual([
      { target: '/data', source: { type: 'host', path: '/srv' }, readOnly: false },
      { target: '/run/secrets/db', source: { type: 'host', path: path.join(base, '0') }, readOnly: true },
      {
        target: '/mnt/mesos/sandbox/relative/key',
        source: { type: 'host', path: path.join(base, '1') },
        readOnly: true,
      },
    ]);
    expect(await readFile(path.join(base, '0'), 'utf8')).toBe('s3cret\n');
    expect([...(await readFile(path.join(base, '1')))]).toEqual([0, 1, 2]);
    expect((await stat(path.join(base, '0'))).mode & 0o777).toBe(0o400);
    expect((await stat(base)).mode & 0o777).toBe(0o700);

    await removeSecretFiles(dir, 'team-a_web.1234');
    await expect(stat(base)).rejects.toThrow();
  });

  it('refuses file secrets for a task without an image (the exec runtime)', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-secret-files-'));
    const { image: _none, ...exec } = spec({ secretFiles: [{ target: '/x', data: 'eA==' }] });
    await expect(materializeSecretFiles(dir, exec)).rejects.toThrow(/need a Docker task/);
  });

  it('leaves a spec without file secrets as it is', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-secret-files-'));
    const s = spec();
    expect(await materializeSecretFiles(dir, s)).toBe(s);
  });
});

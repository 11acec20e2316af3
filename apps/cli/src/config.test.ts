import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configPath, loadConfig, saveConfig } from './config';
import { CliError } from './errors';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-cli-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('configPath', () => {
  it('is $ATOLL_CONFIG when set', () => {
    expect(configPath({ ATOLL_CONFIG: path.join(dir, 'c.json'), HOME: '/nowhere' })).toBe(
      path.join(dir, 'c.json'),
    );
  });

  it('is ~/.config/atoll/config.json otherwise', () => {
    expect(configPath({ HOME: dir })).toBe(path.join(dir, '.config', 'atoll', 'config.json'));
  });
});

describe('loadConfig / saveConfig', () => {
  it('returns null when there is no file', async () => {
    expect(await loadConfig(path.join(dir, 'missing.json'))).toBeNull();
  });

  it('round-trips url and token, creating the directory 0700 and the file 0600', async () => {
    const file = path.join(dir, 'nested', 'atoll', 'config.json');
    await saveConfig(file, { url: 'http://control:7700', token: 'atl_secret' });
    expect(await loadConfig(file)).toEqual({ url: 'http://control:7700', token: 'atl_secret' });
    expect(await mode(file)).toBe(0o600);
    expect(await mode(path.dirname(file))).toBe(0o700);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      url: 'http://control:7700',
      token: 'atl_secret',
    });
  });

  it('makes an existing, more open file 0600 when replacing it', async () => {
    const file = path.join(dir, 'config.json');
    await writeFile(file, '{}');
    await chmod(file, 0o644);
    await saveConfig(file, { url: 'http://a', token: 't' });
    expect(await mode(file)).toBe(0o600);
    expect(await loadConfig(file)).toEqual({ url: 'http://a', token: 't' });
  });

  it('leaves no temporary files behind', async () => {
    const file = path.join(dir, 'config.json');
    await saveConfig(file, { url: 'http://a', token: 't' });
    await saveConfig(file, { url: 'http://b', token: 'u' });
    expect(await readdir(dir)).toEqual(['config.json']);
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['[1]', 'not a JSON object'],
    ['{"token":"t"}', '"url" is missing'],
    ['{"url":"http://a"}', '"token" is missing'],
  ])('rejects a damaged file (%s) with a clear message', async (body, why) => {
    const file = path.join(dir, 'config.json');
    await writeFile(file, body);
    const err = await loadConfig(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toBe(`config file ${file} is damaged (${why})`);
  });
});

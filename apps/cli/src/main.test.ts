import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, run, type CliIO } from './main';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-cli-main-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function capture(env: Record<string, string | undefined> = {}, extra: Partial<CliIO> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env: { ATOLL_CONFIG: path.join(dir, 'none', 'config.json'), ...env },
    ...extra,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

async function atoll(args: string[], env?: Record<string, string | undefined>, extra?: Partial<CliIO>) {
  const c = capture(env, extra);
  const code = await run(args, c.io);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/** A TCP port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

describe('buildProgram', () => {
  it('has the command groups', () => {
    const program = buildProgram(capture().io);
    expect(program.commands.map((c) => c.name())).toEqual(['cluster', 'node', 'app', 'task']);
  });

  it('throws instead of exiting, with the output on the injected streams', async () => {
    const c = capture();
    const err = await buildProgram(c.io)
      .parseAsync(['nope'], { from: 'user' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommanderError);
    expect((err as CommanderError).exitCode).toBe(1);
    expect(c.stderr()).toContain("unknown command 'nope'");
  });
});

describe('help', () => {
  it('--help prints usage on stdout and exits 0', async () => {
    const r = await atoll(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: atoll');
    expect(r.stdout).toContain('--json');
    expect(r.stderr).toBe('');
  });

  it('help of a group lists its commands', async () => {
    const r = await atoll(['app', '--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['list', 'add <file.json>', 'show <id>', 'scale <id> <instances>', 'remove <id>'])
      expect(r.stdout).toContain(cmd);
  });
});

describe('argument errors (exit 1, message on stderr, nothing on stdout)', () => {
  it.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['app', 'scale', '/web'], "missing required argument 'instances'"],
    [['app', 'scale', '/web', 'two'], "'two' is invalid for argument 'instances'"],
    [
      ['app', 'scale', '/web', '-1'],
      "'-1' is invalid for argument 'instances'. It must be a whole number, 0 or more.",
    ],
    [['app', 'scale', '/web', '1.5'], "'1.5' is invalid for argument 'instances'"],
    [['app', 'add'], "missing required argument 'file.json'"],
    [['app', 'show'], "missing required argument 'id'"],
    [['task', 'kill'], "missing required argument 'taskId'"],
    [['node', 'list', '--bogus'], "unknown option '--bogus'"],
    [['cluster', 'setup'], "missing required argument 'url'"],
    [['--url'], "option '--url <url>' argument missing"],
  ])('%j', async (args, message) => {
    const r = await atoll(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('rejects a cluster URL without scheme', async () => {
    const r = await atoll(['cluster', 'setup', 'control:7700', '--password', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: invalid cluster URL 'control:7700'");
  });
});

describe('not logged in', () => {
  it('exits 2 and says to run cluster setup', async () => {
    for (const args of [
      ['node', 'list'],
      ['app', 'list', '--json'],
      ['task', 'kill', 'x'],
    ]) {
      const r = await atoll(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('error: not logged in: run `atoll cluster setup <url>` first\n');
    }
  });

  it('a URL without a token is not enough', async () => {
    const r = await atoll(['--url', 'http://127.0.0.1:9', 'node', 'list']);
    expect(r.code).toBe(2);
  });
});

describe('cluster setup password', () => {
  it('fails clearly without --password, ATOLL_PASSWORD or a terminal', async () => {
    const r = await atoll(['cluster', 'setup', 'http://127.0.0.1:9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: no password given and no terminal to ask for one');
    expect(r.stderr).toContain('--password');
  });

  it('asks on the terminal when there is one', async () => {
    const port = await closedPort();
    const prompts: string[] = [];
    const r = await atoll(
      ['cluster', 'setup', `http://127.0.0.1:${port}`],
      {},
      {
        readSecret: (prompt) => {
          prompts.push(prompt);
          return Promise.resolve('typed');
        },
      },
    );
    expect(prompts).toEqual([`Password for admin at http://127.0.0.1:${port}: `]);
    // The password is used: the login then fails on the connection.
    expect(r.stderr).toContain(`cannot connect to http://127.0.0.1:${port}`);
  });

  it('prefers ATOLL_PASSWORD over asking', async () => {
    const port = await closedPort();
    let asked = false;
    const r = await atoll(
      ['cluster', 'setup', `http://127.0.0.1:${port}`],
      { ATOLL_PASSWORD: 'pw' },
      {
        readSecret: () => {
          asked = true;
          return Promise.resolve('typed');
        },
      },
    );
    expect(asked).toBe(false);
    expect(r.code).toBe(1);
  });
});

describe('connection refused', () => {
  it('names the URL', async () => {
    const port = await closedPort();
    const r = await atoll(['node', 'list'], { ATOLL_URL: `http://127.0.0.1:${port}/`, ATOLL_TOKEN: 'atl_x' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: cannot connect to http://127.0.0.1:${port}: connection refused (is atoll-control running there?)\n`,
    );
    expect(r.stdout).toBe('');
  });

  it('uses the config file when the environment does not override it', async () => {
    const port = await closedPort();
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ url: `http://127.0.0.1:${port}`, token: 'atl_x' }));
    const r = await atoll(['app', 'list'], { ATOLL_CONFIG: file });
    expect(r.stderr).toContain(`cannot connect to http://127.0.0.1:${port}`);
    const other = await closedPort();
    const r2 = await atoll(['--url', `http://127.0.0.1:${other}`, 'app', 'list'], { ATOLL_CONFIG: file });
    expect(r2.stderr).toContain(`cannot connect to http://127.0.0.1:${other}`);
  });
});

describe('app add', () => {
  const env = { ATOLL_URL: 'http://127.0.0.1:9', ATOLL_TOKEN: 'atl_x' };

  it('says when the file is missing', async () => {
    const r = await atoll(['app', 'add', path.join(dir, 'missing.json')], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: cannot read ${path.join(dir, 'missing.json')}: no such file\n`);
  });

  it('says when the file is not JSON or not one object', async () => {
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{ "id": ');
    expect((await atoll(['app', 'add', bad], env)).stderr).toContain(`error: ${bad} is not valid JSON`);
    await writeFile(bad, '[{ "id": "/a" }]');
    expect((await atoll(['app', 'add', bad], env)).stderr).toContain(
      `error: ${bad} must hold one app definition`,
    );
  });
});

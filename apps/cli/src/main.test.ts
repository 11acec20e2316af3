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
    expect(program.commands.map((c) => c.name())).toEqual([
      'cluster',
      'node',
      'app',
      'group',
      'pod',
      'task',
      'deployment',
      'queue',
      'package',
      'job',
      'dns',
      'vip',
      'audit',
      'user',
      'token',
      'secret',
    ]);
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
    for (const cmd of [
      'list [options]',
      'add <file.json>',
      'show [options] <id>',
      'update [options] <id> <file.json|->',
      'scale [options] <id> <instances>',
      'restart [options] <id>',
      'kill [options] <id>',
      'rollback [options] <id> <version>',
      'version',
      'remove [options] <id>',
    ])
      expect(r.stdout).toContain(cmd);
  });

  it('help of group lists its commands', async () => {
    const r = await atoll(['group', '--help']);
    expect(r.code).toBe(0);
    for (const cmd of [
      'add <file.json|->',
      'show [id]',
      'scale [options] <id> <factor>',
      'remove [options] <id>',
    ])
      expect(r.stdout).toContain(cmd);
  });

  it('help lists the deployment and queue commands', async () => {
    const d = await atoll(['deployment', '--help']);
    for (const cmd of ['list', 'watch [id]', 'rollback <id>', 'stop <id>']) expect(d.stdout).toContain(cmd);
    const q = await atoll(['queue', '--help']);
    for (const cmd of ['list', 'reset <id>']) expect(q.stdout).toContain(cmd);
    const v = await atoll(['app', 'version', '--help']);
    for (const cmd of ['list <id>', 'show <id> <version>']) expect(v.stdout).toContain(cmd);
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
    [['app', 'update', '/web'], "missing required argument 'file.json|-'"],
    [['app', 'rollback', '/web'], "missing required argument 'version'"],
    [['app', 'version', 'list'], "missing required argument 'id'"],
    [['app', 'kill'], "missing required argument 'id'"],
    [['deployment', 'rollback'], "missing required argument 'id'"],
    [['deployment', 'stop'], "missing required argument 'id'"],
    [['queue', 'reset'], "missing required argument 'id'"],
    [['group', 'add'], "missing required argument 'file.json|-'"],
    [['group', 'scale', '/g'], "missing required argument 'factor'"],
    [
      ['group', 'scale', '/g', '0'],
      "'0' is invalid for argument 'factor'. It must be a number greater than 0.",
    ],
    [['group', 'scale', '/g', 'twice'], "'twice' is invalid for argument 'factor'"],
    [['group', 'remove'], "missing required argument 'id'"],
    [['queue', 'bogus'], "too many arguments for 'queue'"],
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

type Handler = (input: unknown) => unknown;

/**
 * A fake control for tRPC over HTTP: answers each procedure of a (batched) call from `handlers`;
 * a handler may throw `{ trpcError }` to answer with a tRPC error. Records every call.
 */
function fakeControl(handlers: Record<string, Handler>) {
  const calls: Array<{ path: string; input: unknown }> = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const paths = url.pathname.replace(/^\/api\/trpc\//, '').split(',');
    const raw = init?.method === 'POST' ? String(init.body) : (url.searchParams.get('input') ?? '{}');
    const inputs = JSON.parse(raw) as Record<string, unknown>;
    let status = 200;
    const results = paths.map((path, i) => {
      const callInput = inputs[String(i)];
      calls.push({ path, input: callInput });
      const handler = handlers[path];
      if (!handler) throw new Error(`unexpected call ${path}`);
      try {
        return { result: { data: handler(callInput) } };
      } catch (err) {
        const e = (err as { trpcError?: { code: string; httpStatus: number; message: string } }).trpcError;
        if (!e) throw err;
        status = e.httpStatus;
        return {
          error: {
            message: e.message,
            code: -32009,
            data: { code: e.code, httpStatus: e.httpStatus, issues: null },
          },
        };
      }
    });
    return new Response(JSON.stringify(results), { status, headers: { 'content-type': 'application/json' } });
  };
  return { fetch, calls };
}

describe('commands against a fake control', () => {
  const env = { ATOLL_URL: 'http://control:7700', ATOLL_TOKEN: 'atl_x' };
  const deploymentId = '6b1c2f1e-0000-4000-8000-000000000001';
  const updated = { version: '2025-01-02T03:04:05.678Z', deploymentId, created: false };

  it('app update replaces the definition read from standard input', async () => {
    const control = fakeControl({ 'apps.update': () => updated });
    const r = await atoll(['app', 'update', 'web', '-'], env, {
      fetch: control.fetch,
      readStdin: () => Promise.resolve('{"id":"/web/","cmd":"sleep 10","instances":2}'),
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`Updating app /web to version ${updated.version} (deployment ${deploymentId})\n`);
    expect(control.calls).toEqual([
      {
        path: 'apps.update',
        input: {
          id: 'web',
          definition: { id: '/web/', cmd: 'sleep 10', instances: 2 },
          partial: false,
          force: false,
        },
      },
    ]);
  });

  it('app update --partial --force merges and overrides the lock', async () => {
    const file = path.join(dir, 'patch.json');
    await writeFile(file, '{"cmd":"sleep 20"}');
    const control = fakeControl({ 'apps.update': () => updated });
    const r = await atoll(['--json', 'app', 'update', '/web', file, '--partial', '--force'], env, {
      fetch: control.fetch,
    });
    expect(JSON.parse(r.stdout)).toEqual(updated);
    expect(control.calls[0]!.input).toEqual({
      id: '/web',
      definition: { cmd: 'sleep 20' },
      partial: true,
      force: true,
    });
  });

  it('app update refuses a file for another app', async () => {
    const control = fakeControl({});
    const r = await atoll(['app', 'update', '/web', '-'], env, {
      fetch: control.fetch,
      readStdin: () => Promise.resolve('{"id":"/db"}'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: the definition is for app /db, not /web\n');
    expect(control.calls).toEqual([]);
  });

  it('a lock error prints the API message and says to retry with --force (exit 1)', async () => {
    const message = `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/${deploymentId}'.`;
    const control = fakeControl({
      'apps.restart': () => {
        throw { trpcError: { code: 'CONFLICT', httpStatus: 409, message } };
      },
    });
    const r = await atoll(['app', 'restart', '/web'], env, { fetch: control.fetch });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `error: ${message}\n  retry with --force to override the lock (the running deployment is canceled)\n`,
    );
  });

  it('app kill kills every task of the app', async () => {
    const task = (id: string) => ({ id, appId: '/web' });
    const control = fakeControl({
      'apps.get': () => ({ id: '/web' }),
      'tasks.list': () => [task('web.1'), task('web.2')],
      'tasks.kill': (input) => (input as { taskIds: string[] }).taskIds.map(task),
    });
    const r = await atoll(['app', 'kill', 'web', '--scale'], env, { fetch: control.fetch });
    expect(r.stdout).toBe(
      'Killing task web.1 of /web (scaling the app down)\nKilling task web.2 of /web (scaling the app down)\n',
    );
    expect(control.calls.map((c) => c.path)).toEqual(['apps.get', 'tasks.list', 'tasks.kill']);
    expect(control.calls[1]!.input).toEqual({ appId: '/web' });
    expect(control.calls[2]!.input).toEqual({ taskIds: ['web.1', 'web.2'], scale: true });
  });

  it('deployment rollback and stop take a unique beginning of the id', async () => {
    const control = fakeControl({
      'deployments.list': () => [{ id: deploymentId }, { id: '7c00aaaa-0000-4000-8000-000000000002' }],
      'deployments.cancel': (input) =>
        (input as { force: boolean }).force ? null : { version: 'v2', deploymentId: 'rb-1' },
    });
    const r = await atoll(['deployment', 'rollback', '6b1c'], env, { fetch: control.fetch });
    expect(r.stdout).toBe(`Canceled deployment ${deploymentId}; rolling back (deployment rb-1)\n`);
    expect(control.calls[1]).toEqual({
      path: 'deployments.cancel',
      input: { id: deploymentId, force: false },
    });
    const s = await atoll(['--json', 'deployment', 'stop', '7c'], env, { fetch: control.fetch });
    expect(JSON.parse(s.stdout)).toEqual({ stopped: '7c00aaaa-0000-4000-8000-000000000002' });
    expect(control.calls[3]!.input).toEqual({ id: '7c00aaaa-0000-4000-8000-000000000002', force: true });
  });

  it('group add reads a group definition from standard input', async () => {
    const control = fakeControl({ 'groups.create': () => ({ version: 'v1', deploymentId }) });
    const group = { id: 'sleep-group', groups: [{ id: 'sleep', apps: [{ id: 'a', cmd: 'sleep 10' }] }] };
    const r = await atoll(['group', 'add', '-'], env, {
      fetch: control.fetch,
      readStdin: () => Promise.resolve(JSON.stringify(group)),
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`Created group /sleep-group (deployment ${deploymentId})\n`);
    expect(control.calls).toEqual([{ path: 'groups.create', input: { definition: group } }]);
    const bad = await atoll(['group', 'add', '-'], env, {
      fetch: control.fetch,
      readStdin: () => Promise.resolve('[]'),
    });
    expect(bad.stderr).toBe('error: standard input must hold one group definition (a JSON object)\n');
  });

  it('group show prints the tree with the apps’ status, or the tree as JSON', async () => {
    const member = {
      id: '/g/sub/a',
      instances: 2,
      tasksRunning: 1,
      tasksHealthy: 0,
      tasksUnhealthy: 0,
      cpus: 0.5,
      mem: 64,
      version: 'v1',
    };
    const tree = {
      id: '/g',
      apps: [],
      groups: [{ id: '/g/sub', apps: [member], groups: [], pods: [], dependencies: [], version: 'v1' }],
      pods: [],
      dependencies: [],
      version: 'v1',
    };
    const control = fakeControl({
      'groups.get': () => tree,
      'apps.list': () => [{ ...member, atoll: { status: 'Deploying' } }],
    });
    const r = await atoll(['group', 'show', '/g'], env, { fetch: control.fetch });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        'ID            STATUS     INSTANCES(running/wanted)  HEALTHY  CPUS  MEM  VERSION',
        '/g',
        '  /g/sub',
        '    /g/sub/a  Deploying                        1/2        -   0.5   64  v1',
        '',
      ].join('\n'),
    );
    expect(control.calls[0]).toEqual({ path: 'groups.get', input: { id: '/g' } });
    const j = await atoll(['--json', 'group', 'show'], env, { fetch: control.fetch });
    expect(JSON.parse(j.stdout)).toEqual(tree);
    expect(control.calls[2]).toEqual({ path: 'groups.get', input: { id: '/' } });
  });

  it('group scale sends scaleBy, group remove deletes; both take --force', async () => {
    const control = fakeControl({
      'groups.update': () => ({ version: 'v2', deploymentId }),
      'groups.delete': () => ({ version: 'v3', deploymentId }),
    });
    const s = await atoll(['group', 'scale', 'g/', '1.5', '--force'], env, { fetch: control.fetch });
    expect(s.stdout).toBe(`Scaling group /g by 1.5 (deployment ${deploymentId})\n`);
    expect(control.calls[0]).toEqual({
      path: 'groups.update',
      input: { id: 'g/', definition: { scaleBy: 1.5 }, force: true },
    });
    const d = await atoll(['--json', 'group', 'remove', '/g'], env, { fetch: control.fetch });
    expect(JSON.parse(d.stdout)).toEqual({ version: 'v3', deploymentId });
    expect(control.calls[1]).toEqual({ path: 'groups.delete', input: { id: '/g', force: false } });
  });

  it('a locked group says to retry with --force', async () => {
    const message = `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/${deploymentId}'.`;
    const locked = () => {
      throw { trpcError: { code: 'CONFLICT', httpStatus: 409, message } };
    };
    const control = fakeControl({ 'groups.update': locked, 'groups.delete': locked });
    for (const args of [
      ['group', 'scale', '/g', '2'],
      ['group', 'remove', '/g'],
    ]) {
      const r = await atoll(args, env, { fetch: control.fetch });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `error: ${message}\n  retry with --force to override the lock (the running deployment is canceled)\n`,
      );
    }
  });

  it('queue shows a table, queue reset resets the delay', async () => {
    const control = fakeControl({
      'queue.list': () => [
        {
          app: { id: '/big' },
          count: 1,
          delay: { timeLeftSeconds: 0, overdue: true },
          atoll: { placementIssue: 'no node fits', reasons: { 'insufficient cpus': 1 } },
        },
      ],
      'queue.resetDelay': () => ({ ok: true }),
    });
    const q = await atoll(['queue'], env, { fetch: control.fetch });
    expect(q.stdout).toBe(
      'APP   WAITING  DELAY  REASONS\n/big        1      -  insufficient cpus (1 node)\n',
    );
    const r = await atoll(['queue', 'reset', '/big'], env, { fetch: control.fetch });
    expect(r.stdout).toBe('Reset the launch delay of /big\n');
    expect(control.calls[1]).toEqual({ path: 'queue.resetDelay', input: { id: '/big' } });
  });
});

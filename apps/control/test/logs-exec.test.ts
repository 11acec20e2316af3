import { createHash } from 'node:crypto';
import { containerLabels } from '@atoll/spec';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const skip = await skipWithoutDocker('task logs and exec tests');
const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

interface Task {
  id: string;
  state: string;
}

/** Task logs (last lines, follow, ended tasks), exec and garbage collection with a real agent. */
describe.skipIf(skip)('task logs, exec and garbage collection', () => {
  let cluster: TestCluster;
  const docker = new Docker();
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const auth = () => ({ authorization: `Bearer ${cluster.token}` });
  const running = (appId: string, n: number) =>
    until(
      `${n} running tasks of ${appId}`,
      async () => (await api<{ tasks: Task[] }>('GET', `/v2/apps${appId}/tasks`)).tasks,
      (ts) => ts.filter((t) => t.state === 'TASK_RUNNING').length === n,
    );
  const app = (id: string, cmd: string, extra: Record<string, unknown> = {}) => ({
    id,
    instances: 1,
    cpus: 0.05,
    mem: 16,
    cmd,
    container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
    ...extra,
  });

  beforeAll(async () => {
    cluster = await startTestCluster({
      agents: [
        { hostname: 'logs-node', env: { ATOLL_GC_INTERVAL_SECONDS: '1', ATOLL_GC_KEEP_EXITED_PER_APP: '1' } },
      ],
    });
    await until(
      'a connected node',
      () => api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
      (ns) => ns.some((n) => n.connected),
    );
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it('follows a log: lines written after the request arrive, tagged by stream', async () => {
    await api(
      'POST',
      '/v2/apps',
      app('/logs/counter', 'i=0; while true; do echo line-$i; echo err-$i >&2; i=$((i+1)); sleep 0.2; done'),
    );
    const [task] = await running('/logs/counter', 1);
    // Let some lines accumulate: the tail must be exactly N lines.
    await until(
      '10 lines',
      async () =>
        (
          await (
            await fetch(`${cluster.url}/api/v1/tasks/${task!.id}/logs?lines=all&stream=stdout`, {
              headers: auth(),
            })
          ).text()
        ).split('\n').length,
      (n) => n > 10,
    );
    // `lines` counts the lines of both streams together, as `docker logs --tail` does.
    const last4 = await (
      await fetch(`${cluster.url}/api/v1/tasks/${task!.id}/logs?lines=4`, { headers: auth() })
    ).text();
    expect(last4.trim().split('\n')).toHaveLength(4);
    const errs = await (
      await fetch(`${cluster.url}/api/v1/tasks/${task!.id}/logs?lines=20&stream=stderr`, { headers: auth() })
    ).text();
    expect(errs.trim().split('\n').length).toBeGreaterThan(1);
    expect(
      errs
        .trim()
        .split('\n')
        .every((l) => l.startsWith('err-')),
    ).toBe(true);

    const abort = new AbortController();
    const res = await fetch(
      `${cluster.url}/api/v1/tasks/${task!.id}/logs?lines=1&follow=true&stream=stdout`,
      { headers: auth(), signal: abort.signal },
    );
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const numbers = () => [...text.matchAll(/line-(\d+)/g)].map((m) => Number(m[1]));
    while (numbers().length < 8) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    abort.abort();
    const seen = numbers();
    // The first line is the tail; the rest were written after the request: consecutive and new.
    expect(seen.length).toBeGreaterThanOrEqual(8);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe(seen[i - 1]! + 1);
  }, 120_000);

  it('answers 404 for an unknown task and 400 for bad lines', async () => {
    expect((await fetch(`${cluster.url}/api/v1/tasks/nope/logs`, { headers: auth() })).status).toBe(404);
    const bad = await fetch(`${cluster.url}/api/v1/tasks/nope/logs?lines=-1`, { headers: auth() });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('lines');
    expect((await fetch(`${cluster.url}/api/v1/tasks/nope/logs`)).status).toBe(401);
  });

  const execOnce = (taskId: string, query: string, input?: string, eof = true) =>
    new Promise<{ out: string; err: string; exitCode: number | null }>((resolve, reject) => {
      const ws = new WebSocket(
        `${cluster.url.replace('http', 'ws')}/api/v1/tasks/${encodeURIComponent(taskId)}/exec?${query}`,
        { headers: auth() },
      );
      let out = '';
      let err = '';
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) {
          if (data[0] === 2) err += data.subarray(1).toString();
          else out += data.subarray(1).toString();
          return;
        }
        const msg = JSON.parse(data.toString()) as { type: string; exitCode?: number | null };
        if (msg.type === 'started' && input !== undefined) {
          ws.send(Buffer.from(input), { binary: true });
          if (eof) ws.send(JSON.stringify({ type: 'eof' }));
        }
        if (msg.type === 'exit') resolve({ out, err, exitCode: msg.exitCode ?? null });
      });
      ws.on('unexpected-response', (_req, res) => reject(new Error(`exec refused: ${res.statusCode}`)));
      ws.on('error', reject);
    });

  it('exec runs a command in a task and returns its output and exit code', async () => {
    const [task] = await running('/logs/counter', 1);
    const r = await execOnce(
      task!.id,
      new URLSearchParams([
        ['command', 'sh'],
        ['command', '-c'],
        ['command', 'echo hello; echo oops >&2; exit 3'],
      ]).toString(),
    );
    expect(r).toEqual({ out: 'hello\n', err: 'oops\n', exitCode: 3 });
    // stdin reaches the command.
    const cat = await execOnce(task!.id, 'command=cat', 'piped input\n');
    expect(cat.out).toBe('piped input\n');
    expect(cat.exitCode).toBe(0);
    // With a TTY the shell echoes what is typed.
    const tty = await execOnce(
      task!.id,
      'command=sh&tty=true&cols=80&rows=24',
      'echo hi-$((40+2))\nexit 0\n',
      false,
    );
    // "hi-42" is the shell's output (the echoed keys read "hi-$((40+2))").
    expect(tty.out).toContain('hi-42');
    expect(tty.exitCode).toBe(0);
  }, 60_000);

  it('logs and exec need the operator role: a viewer gets 403 on both, an operator reaches both', async () => {
    // Users with other roles and their API tokens go straight into the database.
    const prisma = cluster.control.db.prisma;
    const tokenOf = async (role: 'viewer' | 'operator') => {
      const user = await prisma.user.create({
        data: { username: `${role}-${Date.now()}`, role, passwordHash: 'unused' },
      });
      const token = `tok_${role}_${Math.random().toString(36).slice(2)}`;
      await prisma.apiToken.create({ data: { name: role, tokenHash: sha256(token), userId: user.id } });
      return token;
    };
    const [task] = await running('/logs/counter', 1);
    const execStatus = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(
          `${cluster.url.replace('http', 'ws')}/api/v1/tasks/${encodeURIComponent(task!.id)}/exec?command=true`,
          { headers: { authorization: `Bearer ${token}`, origin: cluster.url } },
        );
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', reject);
      });
    const logs = (token: string) =>
      fetch(`${cluster.url}/api/v1/tasks/${encodeURIComponent(task!.id)}/logs?lines=1`, {
        headers: { authorization: `Bearer ${token}` },
      });

    const viewer = await tokenOf('viewer');
    expect(await execStatus(viewer)).toBe(403);
    const refused = await logs(viewer);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toMatch(/viewer role/);

    const operator = await tokenOf('operator');
    expect(await execStatus(operator)).toBe(101);
    const read = await logs(operator);
    expect(read.status).toBe(200);
    expect((await read.text()).trim().split('\n')).toHaveLength(1);
  }, 30_000);

  it('exec of an unknown task is refused before the upgrade', async () => {
    await expect(execOnce('nope', 'command=sh')).rejects.toThrow(/404/);
  });

  it('logs of an ended task stay readable; garbage collection keeps the last exited container per app', async () => {
    await api(
      'POST',
      '/v2/apps',
      app('/logs/crash', 'echo crashing-now; exit 1', { backoffSeconds: 1, backoffFactor: 1 }),
    );
    // Several failures later: the app is stopped so no new task exits while we look.
    const failedTasks = () =>
      api<Task[]>(
        'GET',
        `/api/v1/tasks?appId=${encodeURIComponent('/logs/crash')}&includeTerminal=true`,
      ).then((ts) => ts.filter((t) => t.state === 'TASK_FAILED').map((t) => t.id));
    await until('3 failed tasks', failedTasks, (ids) => ids.length >= 3, 90_000);
    await api('PUT', '/v2/apps/logs/crash?force=true', { instances: 0 });
    const lastFailed = await failedTasks();
    const containers = await until(
      'garbage collected',
      () =>
        docker.listContainers({
          all: true,
          filters: { label: [`${containerLabels.appId}=/logs/crash`], status: ['exited'] },
        }),
      (cs) => cs.length <= 1,
      30_000,
    );
    expect(containers).toHaveLength(1);
    const kept = containers[0]!.Labels[containerLabels.taskId]!;
    expect(lastFailed.length).toBeGreaterThanOrEqual(3);
    const text = await (
      await fetch(`${cluster.url}/api/v1/tasks/${encodeURIComponent(kept)}/logs?lines=all`, {
        headers: auth(),
      })
    ).text();
    expect(text).toContain('crashing-now');
    await api('DELETE', '/v2/apps/logs/crash?force=true');
  }, 150_000);

  // Last: it stops the agent.
  it("a follower ends when the task's node disconnects; later requests answer 409", async () => {
    const [task] = await running('/logs/counter', 1);
    const url = `${cluster.url}/api/v1/tasks/${encodeURIComponent(task!.id)}/logs?lines=1&follow=true`;
    const res = await fetch(url, { headers: auth() });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const first = await reader.read();
    text += decoder.decode(first.value, { stream: true });
    expect(text).toMatch(/(line|err)-\d+/);
    // The agent goes away (its containers keep running); the follower is told and ends.
    await cluster.stopAgent(0);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toContain('[atoll: the log ended: the node disconnected]');
    const again = await fetch(url, { headers: auth() });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toMatch(
      /not connected to any control replica/,
    );
  }, 60_000);
});

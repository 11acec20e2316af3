import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const run = promisify(execFile);
const skip = await skipWithoutDocker('VIP tests');

interface Task {
  id: string;
  host: string;
  ports: number[];
  state: string;
  healthCheckResults: Array<{ alive: boolean }>;
}

interface Vip {
  name: string | null;
  ip: string;
  port: number;
  protocol: string;
  appId: string;
  mode: string;
  backends: Array<{
    taskId: string;
    host: string;
    port: number;
    healthy: boolean;
    activeConnections: number;
    totalConnections: number;
    errors: number;
  }>;
  totalConnections: number;
  errors: number;
}

/** One HTTP GET from the host (no keep-alive): the body, or an Error saying why it failed. */
function get(url: string, timeoutMs = 3_000): Promise<string | Error> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body : new Error(`status ${res.statusCode}`)));
      res.on('error', (err) => resolve(err));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(err));
  });
}

const loAddresses = async () => (await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo'])).stdout;

/**
 * A named VIP in front of 3 busybox httpd tasks with the real parts: control allocates the address,
 * the agent puts it on lo and balances in userspace; clients in a container (through the Docker
 * bridge and the host) and on the host reach the tasks through it, also while a task dies.
 */
describe.skipIf(skip)('named VIPs', () => {
  let cluster: TestCluster;
  let vipIp = '';
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const tasks = async () => (await api<{ tasks: Task[] }>('GET', '/v2/apps/vip/web/tasks')).tasks;
  const healthyTasks = (ts: Task[]) =>
    ts.filter((t) => t.state === 'TASK_RUNNING' && t.healthCheckResults[0]?.alive === true);

  beforeAll(async () => {
    cluster = await startTestCluster({
      agents: [{ hostname: 'vip-node', env: { ATOLL_VIP_STATS_INTERVAL_SECONDS: '1' } }],
    });
    await until(
      'a connected node',
      () => api<Array<{ connected: boolean }>>('GET', '/api/v1/nodes'),
      (ns) => ns.some((n) => n.connected),
    );
  }, 120_000);

  afterAll(async () => {
    await api('DELETE', '/v2/apps/vip/web?force=true').catch(() => undefined);
    await cluster?.stop();
    // The agent removed the address it added when it stopped.
    if (vipIp) expect(await loAddresses()).not.toContain(`${vipIp}/32`);
  }, 120_000);

  it('allocates an address from 11.0.0.0/8, publishes its names, and spreads 300 requests from a container over the 3 tasks', async () => {
    await api('POST', '/v2/apps', {
      id: '/vip/web',
      instances: 3,
      cpus: 0.05,
      mem: 32,
      cmd: 'mkdir -p /www && echo $HOSTNAME > /www/index.html && exec httpd -f -p 8080 -h /www',
      container: {
        type: 'DOCKER',
        docker: { image: TEST_IMAGE },
        portMappings: [{ containerPort: 8080, hostPort: 0, labels: { VIP_0: '/web:80' } }],
      },
      networks: [{ mode: 'container/bridge' }],
      healthChecks: [{ protocol: 'TCP', portIndex: 0, intervalSeconds: 1, gracePeriodSeconds: 10 }],
    });
    const running = await until('three healthy tasks', tasks, (ts) => healthyTasks(ts).length === 3);
    const vip = (
      await until(
        'the VIP with its three backends',
        () => api<Vip[]>('GET', '/api/v1/network/vips'),
        (vs) => vs.length === 1 && vs[0]!.backends.filter((b) => b.healthy).length === 3,
        30_000,
      )
    )[0]!;
    vipIp = vip.ip;
    expect(vip).toMatchObject({
      name: 'web',
      port: 80,
      protocol: 'tcp',
      appId: '/vip/web',
      mode: 'userspace',
    });
    expect(vip.ip).toMatch(/^11\.\d+\.\d+\.\d+$/);
    expect(vip.ip).not.toMatch(/\.(0|255)$/);
    expect(vip.backends.map((b) => b.taskId).sort()).toEqual(running.map((t) => t.id).sort());
    for (const name of ['web.marathon.l4lb.thisdcos.directory', 'web.atoll.vip']) {
      const answer = await until(
        `the DNS name ${name}`,
        () => api<{ kind: string; addresses?: string[] }>('GET', `/api/v1/network/resolve?name=${name}`),
        (a) => a.kind === 'a',
        15_000,
      );
      expect(answer.addresses).toEqual([vip.ip]);
    }
    await until('the VIP address on lo', loAddresses, (out) => out.includes(`${vip.ip}/32`), 15_000);

    // 300 requests from inside a container: to 11.x through the bridge to the host, which holds it.
    const { stdout } = await run(
      'docker',
      [
        'run',
        '--rm',
        TEST_IMAGE,
        'sh',
        '-c',
        `for i in $(seq 300); do wget -q -O - http://${vip.ip}:80/ || echo FAILED; done`,
      ],
      { maxBuffer: 1 << 20 },
    );
    const answers = stdout.trim().split('\n');
    expect(answers).toHaveLength(300);
    expect(answers.filter((a) => a === 'FAILED')).toHaveLength(0);
    const counts = new Map<string, number>();
    for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
    expect(counts.size).toBe(3);
    // Round-robin: an even share each (the health checks do not go through the VIP).
    for (const n of counts.values()) expect(n).toBeGreaterThanOrEqual(80);

    const counted = await until(
      'the counters of the 300 connections',
      () => api<Vip[]>('GET', '/api/v1/network/vips'),
      (vs) => (vs[0]?.totalConnections ?? 0) >= 300,
      15_000,
    );
    for (const b of counted[0]!.backends) expect(b.totalConnections).toBeGreaterThanOrEqual(80);
    expect(counted[0]!.errors).toBe(0);
  }, 180_000);

  it('keeps answering while a task is killed and while one dies: nothing fails after one health interval', async () => {
    const url = `http://${vipIp}:80/`;
    const before = healthyTasks(await tasks());
    expect(before).toHaveLength(3);

    // Requests from the host, continuously, while (1) a task is killed through Marathon's API and
    // (2) another task's container dies under the agent (the view learns of it only afterwards).
    const results: Array<{ at: number; ok: boolean; error?: string }> = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const at = Date.now();
        const r = await get(url);
        results.push(r instanceof Error ? { at, ok: false, error: r.message } : { at, ok: true });
        // ~100 requests a second: enough to see any gap, without running the host out of ports.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    /** When the VIP view stopped offering a task (polled beside the requests): an event, not a clock. */
    const droppedAt = async (taskId: string) => {
      for (;;) {
        const vs = await api<Vip[]>('GET', '/api/v1/network/vips');
        if (!vs[0]!.backends.some((b) => b.taskId === taskId && b.healthy)) return Date.now();
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const killedAt = Date.now();
    await api('DELETE', `/v2/apps/vip/web/tasks/${encodeURIComponent(before[0]!.id)}?scale=false`);
    const killedDropped = await droppedAt(before[0]!.id);
    await new Promise((r) => setTimeout(r, 2_000));
    const crashedAt = Date.now();
    const containers = await run('docker', [
      'ps',
      '-q',
      '--filter',
      `label=io.atoll.task-id=${before[1]!.id}`,
    ]);
    await run('docker', ['kill', containers.stdout.trim()]);
    const crashedDropped = await droppedAt(before[1]!.id);
    await new Promise((r) => setTimeout(r, 3_000));
    stop = true;
    await loop;

    // Once the view has dropped a backend (and the agents got it: one stats interval, 1 s), no
    // request fails; before that, a refused connection is retried on another backend.
    const pushed = 1_000;
    // The window after the kill ends when the second container is killed: a request in flight to
    // a container that dies is cut (socket hang up), and that is the crash's window, not the kill's.
    const failuresAfter = (from: number, until = Infinity) =>
      results
        .filter((r) => r.at > from + pushed && r.at < until && !r.ok)
        .map((r) => `+${r.at - from} ms: ${r.error}`);
    expect(results.length).toBeGreaterThan(50);
    expect(failuresAfter(killedDropped, crashedAt)).toEqual([]);
    expect(failuresAfter(crashedDropped)).toEqual([]);
    console.log(
      `VIP view dropped the killed task ${killedDropped - killedAt} ms after the kill, the crashed one ${crashedDropped - crashedAt} ms after the crash (health interval 1 s); failed requests: ${results.filter((r) => !r.ok).length} of ${results.length}`,
    );

    // The dead backend cost retries (errors on it), not failed requests; the app recovers to 3.
    await until('three healthy tasks again', tasks, (ts) => healthyTasks(ts).length === 3);
    const vips = await until(
      'the view with the replacements',
      () => api<Vip[]>('GET', '/api/v1/network/vips'),
      (vs) => vs[0]!.backends.filter((b) => b.healthy).length === 3,
      30_000,
    );
    expect(vips[0]!.backends.map((b) => b.taskId)).not.toContain(before[0]!.id);
    const answers = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await get(url);
      expect(r).not.toBeInstanceOf(Error);
      answers.add(String(r));
    }
    expect(answers.size).toBe(3);
  }, 180_000);
});

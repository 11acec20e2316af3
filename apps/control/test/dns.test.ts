import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, waitForNodes, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const run = promisify(execFile);
const skip = await skipWithoutDocker('DNS tests');

interface Task {
  id: string;
  host: string;
  ports: number[];
  state: string;
}

/**
 * Service discovery with the real parts: control's DNS server asked by dig (Debian's dnsutils), and
 * a task in a container that resolves and reaches another service by its .marathon.mesos name
 * through the node's DNS server.
 */
describe.skipIf(skip)('cluster DNS', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const dig = async (args: string[]) =>
    (
      await run('dig', [
        '@127.0.0.1',
        '-p',
        String(cluster.control.dns!.port),
        '+time=2',
        '+tries=1',
        ...args,
      ])
    ).stdout;

  beforeAll(async () => {
    cluster = await startTestCluster({ agents: [{ hostname: 'dns-node', env: { ATOLL_DNS: 'on' } }] });
    await waitForNodes(cluster);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it('answers A and SRV records that match the running tasks, and NXDOMAIN for unknown names', async () => {
    await api('POST', '/v2/apps', {
      id: '/dns/web',
      instances: 2,
      cpus: 0.05,
      mem: 32,
      cmd: 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www',
      container: {
        type: 'DOCKER',
        docker: { image: TEST_IMAGE },
        portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }],
      },
      networks: [{ mode: 'container/bridge' }],
      healthChecks: [{ protocol: 'TCP', portIndex: 0, intervalSeconds: 1, gracePeriodSeconds: 10 }],
    });
    const tasks = await until(
      'two healthy tasks',
      async () =>
        (
          await api<{ tasks: Array<Task & { healthCheckResults: Array<{ alive: boolean }> }> }>(
            'GET',
            '/v2/apps/dns/web/tasks',
          )
        ).tasks,
      (ts) => ts.length === 2 && ts.every((t) => t.healthCheckResults[0]?.alive === true),
    );
    const ips = [...new Set(tasks.map((t) => t.host))].sort();
    await until(
      'the A record',
      async () => (await dig(['+short', 'web-dns.marathon.mesos'])).trim().split('\n').filter(Boolean).sort(),
      (got) => JSON.stringify(got) === JSON.stringify(ips),
      30_000,
    );
    const srv = await dig(['+short', '_web-dns._tcp.marathon.mesos', 'SRV']);
    const ports = srv
      .trim()
      .split('\n')
      .map((l) => Number(l.split(' ')[2]))
      .sort();
    expect(ports).toEqual(tasks.map((t) => t.ports[0]!).sort());
    expect((await dig(['+short', '+tcp', 'web.dns.atoll'])).trim().split('\n').sort()).toEqual(ips);
    expect(await dig(['no-such-app.marathon.mesos'])).toMatch(/status: NXDOMAIN/);

    // Mesos-DNS's HTTP API answers from the same view.
    const hosts = await api<Array<{ host: string; ip: string }>>('GET', '/v1/hosts/web-dns.marathon.mesos');
    expect(hosts.map((h) => h.ip).sort()).toEqual(ips);
    const services = await api<Array<{ port: string }>>('GET', '/v1/services/_web-dns._tcp.marathon.mesos');
    expect(services.map((x) => Number(x.port)).sort()).toEqual(ports);
    const resolved = await api<{ kind: string; addresses: string[] }>(
      'GET',
      '/api/v1/network/resolve?name=web-dns.marathon.mesos',
    );
    expect(resolved).toMatchObject({ kind: 'a', addresses: ips });
  }, 120_000);

  it('a task resolves another service by its .marathon.mesos name and reaches it (busybox nslookup and wget)', async () => {
    const port = (await api<{ tasks: Task[] }>('GET', '/v2/apps/dns/web/tasks')).tasks[0]!.ports[0]!;
    await api('POST', '/v2/apps', {
      id: '/dns/client',
      cpus: 0.05,
      mem: 32,
      cmd: `mkdir -p /tmp; while true; do nslookup web-dns.marathon.mesos > /tmp/ns 2>&1; wget -q -O - http://web-dns.marathon.mesos:${port}/ > /tmp/page 2>&1; sleep 1; done`,
      container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
      networks: [{ mode: 'container/bridge' }],
    });
    const client = await until(
      'the client running',
      async () => (await api<{ tasks: Task[] }>('GET', '/v2/apps/dns/client/tasks')).tasks,
      (ts) => ts[0]?.state === 'TASK_RUNNING',
    );
    const exec = async (cmd: string) => {
      const docker = await run('docker', ['ps', '-q', '--filter', `label=io.atoll.task-id=${client[0]!.id}`]);
      return (await run('docker', ['exec', docker.stdout.trim(), 'sh', '-c', cmd])).stdout;
    };
    const page = await until(
      'the page fetched by name',
      () => exec('cat /tmp/page 2>&1 || true'),
      (p) => p.includes('hello-from-web'),
      60_000,
    );
    expect(page).toContain('hello-from-web');
    const ns = await exec('cat /tmp/ns');
    expect(ns).toMatch(/Name:\s+web-dns\.marathon\.mesos/);
    const resolv = await exec('cat /etc/resolv.conf');
    expect(resolv).toMatch(/nameserver \d+\.\d+\.\d+\.\d+/);
    await api('DELETE', '/v2/apps/dns/client?force=true');
    await api('DELETE', '/v2/apps/dns/web?force=true');
  }, 120_000);
});

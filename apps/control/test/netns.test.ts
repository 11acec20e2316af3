import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, waitForNodes, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const run = promisify(execFile);

function netnsMissing(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns unavailable: ${r.stderr || r.error?.message}`;
  if (spawnSync('dig', ['-v']).status !== 0) return 'dig missing';
  return null;
}
const missing = netnsMissing();
if (missing) {
  if (process.env.CI)
    throw new Error(`network namespace tests need root, iproute2 and dig in CI: ${missing}`);
  console.warn(`\n!!! SKIPPING network namespace tests: ${missing}\n`);
}
const skip = (await skipWithoutDocker('network namespace tests')) || missing !== null;

/**
 * Two agents, each in a network namespace with its own address, so the nodes really differ: the
 * cluster DNS publishes each task at its own node's address.
 */
describe.skipIf(skip)('nodes with their own addresses (network namespaces)', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const suffix = `${process.pid % 1000}${Math.floor(Math.random() * 100)}`;
  const third = Math.floor(Math.random() * 120) + 1;
  const nodes = [0, 1].map((i) => ({
    ns: `atoll-nn${i}-${suffix}`,
    vethHost: `anh${i}${suffix}`.slice(0, 15),
    vethNs: `ann${i}${suffix}`.slice(0, 15),
    hostIp: `10.253.${third + i * 120}.1`,
    nsIp: `10.253.${third + i * 120}.2`,
  }));
  const ip = (...args: string[]) => run('ip', args);

  beforeAll(async () => {
    for (const n of nodes) {
      await ip('netns', 'add', n.ns);
      await ip('link', 'add', n.vethHost, 'type', 'veth', 'peer', 'name', n.vethNs);
      await ip('link', 'set', n.vethNs, 'netns', n.ns);
      await ip('addr', 'add', `${n.hostIp}/30`, 'dev', n.vethHost);
      await ip('link', 'set', n.vethHost, 'up');
      await ip('netns', 'exec', n.ns, 'ip', 'addr', 'add', `${n.nsIp}/30`, 'dev', n.vethNs);
      await ip('netns', 'exec', n.ns, 'ip', 'link', 'set', n.vethNs, 'up');
      await ip('netns', 'exec', n.ns, 'ip', 'link', 'set', 'lo', 'up');
    }
    cluster = await startTestCluster({
      bind: '0.0.0.0',
      agents: nodes.map((n, i) => ({
        hostname: `ns-node-${i}`,
        netns: { name: n.ns, controlHost: n.hostIp },
      })),
    });
    await waitForNodes(cluster, 2);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    for (const n of nodes) {
      await ip('link', 'del', n.vethHost).catch(() => undefined);
      await ip('netns', 'del', n.ns).catch(() => undefined);
    }
  }, 120_000);

  it('each node joins from its own address, and DNS publishes each task at its node', async () => {
    const list = await api<Array<{ address: string; hostname: string }>>('GET', '/api/v1/nodes');
    expect(list.map((n) => n.address).sort()).toEqual(nodes.map((n) => n.nsIp).sort());
    await api('POST', '/v2/apps', {
      id: '/spread',
      instances: 2,
      cpus: 0.05,
      mem: 32,
      cmd: 'exec sleep 3600',
      constraints: [['hostname', 'UNIQUE']],
      container: {
        type: 'DOCKER',
        docker: { image: TEST_IMAGE },
        portMappings: [{ containerPort: 80, hostPort: 0 }],
      },
      networks: [{ mode: 'container/bridge' }],
    });
    await until(
      'two running tasks',
      async () => (await api<{ tasks: Array<{ state: string }> }>('GET', '/v2/apps/spread/tasks')).tasks,
      (ts) => ts.filter((t) => t.state === 'TASK_RUNNING').length === 2,
    );
    const dig = async (args: string[]) =>
      (await run('dig', ['@127.0.0.1', '-p', String(cluster.control.dns!.port), '+short', ...args])).stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .sort();
    const addresses = await until(
      'both node addresses in DNS',
      () => dig(['spread.marathon.mesos']),
      (a) => a.length === 2,
      30_000,
    );
    expect(addresses).toEqual(nodes.map((n) => n.nsIp).sort());
    // Each SRV target resolves to its own node.
    const targets = (await dig(['_spread._tcp.marathon.mesos', 'SRV'])).map((l) => l.split(' ')[3]!);
    const perTarget = await Promise.all(targets.map((t) => dig([t])));
    expect(perTarget.flat().sort()).toEqual(nodes.map((n) => n.nsIp).sort());
    await api('DELETE', '/v2/apps/spread?force=true');
  }, 120_000);
});

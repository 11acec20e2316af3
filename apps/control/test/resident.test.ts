import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, waitForNodes, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const run = promisify(execFile);
const skip = await skipWithoutDocker('resident app tests');

interface Task {
  id: string;
  slaveId: string;
  state: string;
}

/**
 * An app with a persistent volume is resident: its replaced task goes back to the node holding the
 * volume, even when bin-packing alone would pick the other node.
 */
describe.skipIf(skip)('resident apps', () => {
  let cluster: TestCluster;
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const tasks = async (id: string) => (await api<{ tasks: Task[] }>('GET', `/v2/apps${id}/tasks`)).tasks;
  const running = (id: string) =>
    until(
      `${id} running`,
      () => tasks(id),
      (ts) => ts.length === 1 && ts[0]!.state === 'TASK_RUNNING',
    );

  beforeAll(async () => {
    cluster = await startTestCluster({ agents: 2 });
    await waitForNodes(cluster, 2);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it('replaces a dead task on the node that holds its volume', async () => {
    await api('POST', '/v2/apps', {
      id: '/resident/db',
      cpus: 0.1,
      mem: 32,
      cmd: 'mkdir -p /data && exec sleep 3600',
      container: {
        type: 'DOCKER',
        docker: { image: TEST_IMAGE },
        volumes: [
          { containerPath: 'data', mode: 'RW', persistent: { size: 16 } },
          { containerPath: '/data', hostPath: 'data', mode: 'RW' },
        ],
      },
    });
    const [first] = await running('/resident/db');
    const nodes = await api<Array<{ id: string; hostname: string }>>('GET', '/api/v1/nodes');
    const other = nodes.find((n) => n.id !== first!.slaveId)!;
    // Make the other node the bin-packing favourite: fuller, with room left.
    await api('POST', '/v2/apps', {
      id: '/resident/filler',
      cpus: 1,
      mem: 256,
      cmd: 'exec sleep 3600',
      constraints: [['hostname', 'LIKE', other.hostname]],
      container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
    });
    await running('/resident/filler');

    const container = (
      await run('docker', ['ps', '-q', '--filter', `label=io.atoll.task-id=${first!.id}`])
    ).stdout.trim();
    await run('docker', ['kill', container]);
    const [replacement] = await until(
      'the replacement running',
      () => tasks('/resident/db'),
      (ts) => ts.length === 1 && ts[0]!.id !== first!.id && ts[0]!.state === 'TASK_RUNNING',
    );
    expect(replacement!.slaveId).toBe(first!.slaveId);
    await api('DELETE', '/v2/apps/resident/filler?force=true');
    await api('DELETE', '/v2/apps/resident/db?force=true');
  }, 120_000);
});

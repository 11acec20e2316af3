/**
 * `npm run bench:failover`: time from an agent's SIGKILL to its task RUNNING on another node, with
 * the default settings (heartbeat every 2 s, unreachable after 6 s of silence, Marathon's default
 * unreachableStrategy: replace at once). Two real agents on this machine, real Docker.
 */
import { startTestCluster } from '@atoll/control/testing';

const IMAGE = 'atoll-test-busybox:latest';
const ROUNDS = Number(process.env.ROUNDS ?? 3);

async function main(): Promise<void> {
  const cluster = await startTestCluster({ agents: 2, heartbeatIntervalMs: 2000, heartbeatTimeoutMs: 6000 });
  const headers = { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' };
  const get = async <T>(p: string): Promise<T> =>
    (await (await fetch(cluster.url + p, { headers })).json()) as T;
  const until = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 6000; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('timed out');
  };
  const nodes = () => get<Array<{ id: string; hostname: string; connected: boolean }>>('/api/v1/nodes');
  const tasks = async () =>
    (await get<{ tasks: Array<{ state: string; slaveId: string }> }>('/v2/apps/bench/failover/tasks')).tasks;
  try {
    await until(async () => (await nodes()).filter((n) => n.connected).length === 2);
    // A new leader waits for agents to reconnect before it judges nodes; let that pass.
    await new Promise((r) => setTimeout(r, 21_000));
    await fetch(`${cluster.url}/v2/apps`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        id: '/bench/failover',
        cmd: 'sleep 3600',
        cpus: 0.05,
        mem: 16,
        container: { docker: { image: IMAGE } },
      }),
    });
    const results: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await until(async () => (await tasks()).filter((t) => t.state === 'TASK_RUNNING').length === 1);
      const [task] = await tasks();
      const agentIndex = (await cluster.nodeIdOf(0)) === task!.slaveId ? 0 : 1;
      const t0 = performance.now();
      await cluster.stopAgent(agentIndex, 'SIGKILL');
      await until(async () =>
        (await tasks()).some((t) => t.state === 'TASK_RUNNING' && t.slaveId !== task!.slaveId),
      );
      results.push(performance.now() - t0);
      await cluster.startAgent(agentIndex);
      await until(async () => (await nodes()).filter((n) => n.connected).length === 2);
    }
    const sorted = [...results].sort((a, b) => a - b);
    console.log(
      `failover, SIGKILL → replacement RUNNING elsewhere (${ROUNDS} rounds): ${results.map((r) => (r / 1000).toFixed(1) + ' s').join(', ')}; median ${(sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(1)} s`,
    );
    console.log(
      'settings: heartbeat 2 s, unreachable after 6 s without heartbeat, unreachableStrategy 0/0 (Marathon default)',
    );
  } finally {
    await cluster.stop();
  }
}

await main();

/**
 * `npm run bench:deploy`: time from "deploy" (POST /v2/apps) to the task being RUNNING, against
 * `docker run -d` of the same image measured in the same run; and the agent's idle RSS.
 * Prints ratios; absolute times on a shared machine are noise.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startTestCluster } from '@atoll/control/testing';

const IMAGE = 'atoll-test-busybox:latest';
const ROUNDS = Number(process.env.ROUNDS ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const cluster = await startTestCluster({ agent: true });
  const auth = { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' };
  try {
    // Wait for the node.
    for (let i = 0; i < 100; i++) {
      const nodes = (await (await fetch(`${cluster.url}/api/v1/nodes`, { headers: auth })).json()) as Array<{
        connected: boolean;
      }>;
      if (nodes[0]?.connected) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const atoll: number[] = [];
    const docker: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // docker run -d: the baseline (returns once the container is started).
      let t0 = performance.now();
      const id = execFileSync('docker', ['run', '-d', '-p', '0:8080', IMAGE, 'httpd', '-f', '-p', '8080'])
        .toString()
        .trim();
      docker.push(performance.now() - t0);
      execFileSync('docker', ['rm', '-f', id]);

      const appId = `/bench/web-${round}`;
      t0 = performance.now();
      const res = await fetch(`${cluster.url}/v2/apps`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          id: appId,
          cmd: 'httpd -f -p 8080',
          cpus: 0.1,
          mem: 32,
          container: { docker: { image: IMAGE }, portMappings: [{ containerPort: 8080, hostPort: 0 }] },
          networks: [{ mode: 'container/bridge' }],
        }),
      });
      if (res.status !== 201) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
      for (;;) {
        const { tasks } = (await (
          await fetch(`${cluster.url}/v2/apps${appId}/tasks`, { headers: auth })
        ).json()) as {
          tasks: Array<{ state: string }>;
        };
        if (tasks[0]?.state === 'TASK_RUNNING') break;
        await new Promise((r) => setTimeout(r, 10));
      }
      atoll.push(performance.now() - t0);
      await fetch(`${cluster.url}/v2/apps${appId}`, { method: 'DELETE', headers: auth });
    }
    // Idle RSS of the agent process after the apps are gone.
    await new Promise((r) => setTimeout(r, 5000));
    const pid = cluster.agent!.process.pid!;
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    const a = median(atoll);
    const d = median(docker);
    console.log(
      `deploy → RUNNING (median of ${ROUNDS}): atoll ${a.toFixed(0)} ms, docker run -d ${d.toFixed(0)} ms, ratio ${(a / d).toFixed(2)}×`,
    );
    console.log(
      `agent idle RSS: ${(rssKb / 1024).toFixed(1)} MiB (pid ${pid}, run through tsx, not bundled)`,
    );
  } finally {
    await cluster.stop();
  }
}

await main();

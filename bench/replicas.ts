/**
 * `npm run bench:replicas`: twenty replicas of one image, started three ways in the same run on the
 * same Docker Engine, each timed from the request to all twenty running:
 *
 * - Atoll: `POST /v2/apps` of one app with 20 instances on a real control and its local agent →
 *   all 20 tasks TASK_RUNNING (as `/v2/apps/<id>/tasks` reports them);
 * - Docker Swarm: `docker service create --replicas 20 --detach` → 20 tasks in state `running`
 *   (the swarm is initialised here if the engine is not in one, and left again at the end);
 * - 20 `docker run -d` at once (the CLI, all in parallel) → all 20 containers running.
 *
 * `ROUNDS` (default 3) rounds, interleaved; prints the medians and the ratios Atoll/Swarm and
 * Atoll/docker run. Absolute times on a shared machine are noise; the ratios are the figure.
 * Everything started here (app, service, containers, the swarm if this run created it) is removed,
 * also on failure.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestCluster, type TestCluster } from '@atoll/control/testing';
import Docker from 'dockerode';

const IMAGE = process.env.IMAGE ?? 'atoll-test-busybox:latest';
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const REPLICAS = Number(process.env.REPLICAS ?? 20);
const CMD = ['sleep', '3600'];
const CPUS = 0.05;
const MEM_MIB = 16;
/** Label on every container and service this run starts, so cleanup finds exactly those. */
const RUN_LABEL = 'atoll-bench-replicas';
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const POLL_MS = 25;
const TIMEOUT_MS = 180_000;

const run = promisify(execFile);
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + TIMEOUT_MS;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

// ---- Atoll ------------------------------------------------------------------------------------

/** Times from the request, in ms: all placed (tasks exist), the first running, all running. */
interface Phases {
  placed: number;
  first: number;
  all: number;
}

/** Polls `count` (tasks existing, tasks running) until all `REPLICAS` run, noting when each phase was reached. */
async function phasesUntilRunning(
  what: string,
  t0: number,
  count: () => Promise<{ placed: number; running: number }>,
): Promise<Phases> {
  let placed: number | undefined;
  let first: number | undefined;
  await until(what, async () => {
    const c = await count();
    const at = performance.now() - t0;
    if (placed === undefined && c.placed >= REPLICAS) placed = at;
    if (first === undefined && c.running > 0) first = at;
    return c.running === REPLICAS;
  });
  const all = performance.now() - t0;
  return { placed: placed ?? all, first: first ?? all, all };
}

async function atollRound(cluster: TestCluster, round: number): Promise<Phases> {
  const headers = { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' };
  const appId = `/bench/replicas-${round}`;
  const count = async () => {
    const res = await fetch(`${cluster.url}/v2/apps${appId}/tasks`, { headers });
    if (res.status !== 200) return { placed: 0, running: 0 };
    const { tasks } = (await res.json()) as { tasks: Array<{ state: string }> };
    return { placed: tasks.length, running: tasks.filter((t) => t.state === 'TASK_RUNNING').length };
  };
  const t0 = performance.now();
  const res = await fetch(`${cluster.url}/v2/apps`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      id: appId,
      cmd: CMD.join(' '),
      instances: REPLICAS,
      cpus: CPUS,
      mem: MEM_MIB,
      taskKillGracePeriodSeconds: 1,
      container: { docker: { image: IMAGE } },
    }),
  });
  if (res.status !== 201) throw new Error(`POST /v2/apps answered ${res.status}: ${await res.text()}`);
  const phases = await phasesUntilRunning(`${REPLICAS} Atoll tasks RUNNING`, t0, count);
  // Gone before the next round, so rounds do not overlap.
  await fetch(`${cluster.url}/v2/apps${appId}?force=true`, { method: 'DELETE', headers });
  await until('the Atoll app to be deleted', async () => {
    const r = await fetch(`${cluster.url}/v2/apps${appId}`, { headers });
    return r.status === 404;
  });
  return phases;
}

// ---- Docker Swarm -----------------------------------------------------------------------------

const GW_BRIDGE = 'docker_gwbridge';
let hadGwBridge = true;

/** Joins this engine to a new single-node swarm unless it is in one; true if this run created it. */
async function ensureSwarm(): Promise<boolean> {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string } };
  const state = info.Swarm?.LocalNodeState ?? 'inactive';
  if (state === 'active') return false;
  if (state !== 'inactive') throw new Error(`the engine's swarm state is '${state}'`);
  hadGwBridge = await docker
    .getNetwork(GW_BRIDGE)
    .inspect()
    .then(() => true)
    .catch(() => false);
  await run('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  return true;
}

/** Leaves the swarm this run created, with the bridge `swarm init` added (`leave` keeps it). */
async function leaveSwarm(): Promise<void> {
  await run('docker', ['swarm', 'leave', '--force']);
  if (!hadGwBridge)
    await docker
      .getNetwork(GW_BRIDGE)
      .remove()
      .catch(() => undefined);
}

async function swarmRound(round: number): Promise<Phases> {
  const name = `atoll-bench-replicas-${RUN_ID}-${round}`;
  const t0 = performance.now();
  await run('docker', [
    'service',
    'create',
    '--detach',
    '--quiet',
    '--name',
    name,
    '--label',
    `${RUN_LABEL}=${RUN_ID}`,
    '--container-label',
    `${RUN_LABEL}=${RUN_ID}`,
    '--replicas',
    String(REPLICAS),
    // No registry is reachable here: use the local image as it is (Atoll does not pull it either).
    '--no-resolve-image',
    '--limit-cpu',
    String(CPUS),
    '--reserve-cpu',
    String(CPUS),
    '--limit-memory',
    `${MEM_MIB}M`,
    '--reserve-memory',
    `${MEM_MIB}M`,
    '--stop-grace-period',
    '1s',
    IMAGE,
    ...CMD,
  ]);
  const phases = await phasesUntilRunning(`${REPLICAS} Swarm tasks running`, t0, async () => {
    const tasks = (await docker.listTasks({ filters: { service: [name] } })) as Array<{
      Status?: { State?: string; ContainerStatus?: { ContainerID?: string } };
    }>;
    return {
      // A task has a container once the node took it.
      placed: tasks.filter((t) => t.Status?.ContainerStatus?.ContainerID).length,
      running: tasks.filter((t) => t.Status?.State === 'running').length,
    };
  });
  await removeServices();
  return phases;
}

/** Removes this run's services and waits until their containers are gone. */
async function removeServices(): Promise<void> {
  const services = await docker.listServices({ filters: { label: [`${RUN_LABEL}=${RUN_ID}`] } });
  for (const s of services) await docker.getService(s.ID).remove();
  await until('the Swarm containers to be removed', async () => (await ourContainers()).length === 0);
}

// ---- docker run -d ----------------------------------------------------------------------------

async function dockerRunRound(): Promise<number> {
  const t0 = performance.now();
  const ids = await Promise.all(
    Array.from({ length: REPLICAS }, async () => {
      const { stdout } = await run('docker', [
        'run',
        '-d',
        '--label',
        `${RUN_LABEL}=${RUN_ID}`,
        '--cpus',
        String(CPUS),
        '--memory',
        `${MEM_MIB}m`,
        IMAGE,
        ...CMD,
      ]);
      return stdout.trim();
    }),
  );
  // `docker run -d` returns once the container is started; confirm all run.
  await until(`${REPLICAS} containers running`, async () => {
    const running = await docker.listContainers({
      filters: { label: [`${RUN_LABEL}=${RUN_ID}`], status: ['running'] },
    });
    return ids.every((id) => running.some((c) => c.Id === id));
  });
  const ms = performance.now() - t0;
  await removeContainers();
  return ms;
}

async function ourContainers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${RUN_ID}`] } });
}

async function removeContainers(): Promise<void> {
  await Promise.all(
    (await ourContainers()).map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

// ---- the run ----------------------------------------------------------------------------------

function line(label: string, xs: number[]): string {
  return `${label.padEnd(16)} median ${(median(xs) / 1000).toFixed(2)} s  (${xs.map((x) => (x / 1000).toFixed(2)).join(', ')})`;
}

function phaseLine(label: string, placedLabel: string, ps: Phases[]): string {
  const m = (f: (p: Phases) => number) => (median(ps.map(f)) / 1000).toFixed(2);
  return `${label} phases (medians): ${placedLabel} ${m((p) => p.placed)} s, first running ${m((p) => p.first)} s, all running ${m((p) => p.all)} s`;
}

async function main(): Promise<void> {
  let cluster: TestCluster | undefined;
  let createdSwarm = false;
  let swarmError: string | undefined;
  const atoll: Phases[] = [];
  const swarm: Phases[] = [];
  const dockerRun: number[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      if (swarmError === undefined)
        await removeServices().catch((err: unknown) => console.error('removing services failed:', err));
      await removeContainers().catch((err: unknown) => console.error('removing containers failed:', err));
      if (createdSwarm)
        await leaveSwarm().catch((err: unknown) => console.error('docker swarm leave failed:', err));
      await cluster?.stop();
    })());
  // Interrupted (Ctrl-C): the same cleanup, then out.
  const interrupted = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    try {
      createdSwarm = await ensureSwarm();
    } catch (err) {
      swarmError = err instanceof Error ? err.message : String(err);
      console.log(`docker swarm init failed, Swarm is left out: ${swarmError}`);
    }
    cluster = await startTestCluster({ agent: true });
    const c = cluster;
    await until('the agent to connect', async () => {
      const res = await fetch(`${c.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${c.token}` } });
      const nodes = (await res.json()) as Array<{ connected: boolean }>;
      return nodes[0]?.connected === true;
    });
    for (let round = 0; round < ROUNDS; round++) {
      // The order turns each round, so none always runs first on a warm or cold engine.
      const steps: Array<() => Promise<void>> = [
        async () => void atoll.push(await atollRound(c, round)),
        async () => {
          if (swarmError === undefined) swarm.push(await swarmRound(round));
        },
        async () => void dockerRun.push(await dockerRunRound()),
      ];
      for (let i = 0; i < steps.length; i++) await steps[(i + round) % steps.length]!();
      console.log(
        `round ${round + 1}/${ROUNDS}: atoll ${(atoll.at(-1)!.all / 1000).toFixed(2)} s` +
          (swarmError === undefined ? `, swarm ${(swarm.at(-1)!.all / 1000).toFixed(2)} s` : '') +
          `, docker run ${(dockerRun.at(-1)! / 1000).toFixed(2)} s`,
      );
    }
    console.log(
      `\n${REPLICAS} replicas of ${IMAGE} (${CMD.join(' ')}; cpus ${CPUS}, mem ${MEM_MIB} MiB) → all running, ${ROUNDS} rounds:`,
    );
    console.log(
      line(
        'atoll /v2 app',
        atoll.map((p) => p.all),
      ),
    );
    if (swarmError === undefined)
      console.log(
        line(
          'docker service',
          swarm.map((p) => p.all),
        ),
      );
    console.log(line('docker run -d ×' + REPLICAS, dockerRun));
    const a = median(atoll.map((p) => p.all));
    if (swarmError === undefined)
      console.log(
        `ratio atoll/swarm ${(a / median(swarm.map((p) => p.all))).toFixed(2)}× (target < 1: faster than Swarm)`,
      );
    console.log(`ratio atoll/docker run ${(a / median(dockerRun)).toFixed(2)}×`);
    // Where the time goes, so a slower side can be looked into.
    console.log(phaseLine('atoll', 'all tasks placed (STAGING)', atoll));
    if (swarmError === undefined) console.log(phaseLine('swarm', 'all containers created', swarm));
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await cleanUp();
  }
}

await main();

import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { containerLabels } from '@atoll/spec';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../src/testing';
import { restClient, skipWithoutDocker, TEST_IMAGE, until } from './support';

const run = promisify(execFile);

/** Network namespaces need root and iproute2; without them the test says so and is skipped. */
function netnsMissing(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns unavailable: ${r.stderr || r.error?.message}`;
  if (spawnSync('curl', ['--version']).status !== 0) return 'curl missing';
  return null;
}

const skip = (await skipWithoutDocker('install script tests')) || netnsMissing() !== null;
if (netnsMissing()) console.warn(`install script tests skipped: ${netnsMissing()}`);

/**
 * A stand-in for systemctl (systemd does not run in this sandbox): enough for the install script.
 * `start` runs the unit's ExecStart with its EnvironmentFile, in the background, inside whatever
 * namespace the script runs in; `stop` signals it and waits.
 */
const SYSTEMCTL = `#!/bin/sh
ROOT="\${ATOLL_INSTALL_ROOT:?}"
RUN="$ROOT/run"
mkdir -p "$RUN"
unit="$2"
file="$ROOT/etc/systemd/system/$unit"
start() {
  env_file=$(sed -n 's/^EnvironmentFile=//p' "$file")
  cmd=$(sed -n 's/^ExecStart=//p' "$file")
  ( set -a; . "$env_file"; set +a; exec $cmd >>"$RUN/$unit.log" 2>&1 ) &
  echo $! > "$RUN/$unit.pid"
}
stop() {
  [ -f "$RUN/$unit.pid" ] || return 0
  pid=$(cat "$RUN/$unit.pid")
  kill "$pid" 2>/dev/null || true
  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$RUN/$unit.pid"
}
echo "$*" >> "$RUN/systemctl.calls"
case "$1" in
  daemon-reload|enable|disable) ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  is-active) [ -f "$RUN/$unit.pid" ] && kill -0 "$(cat "$RUN/$unit.pid")" 2>/dev/null ;;
  *) echo "systemctl stand-in: $1 not supported" >&2; exit 1 ;;
esac
`;

/**
 * The install script for real, on a "host" that is a network namespace with its own IP and an
 * install root of its own (ATOLL_INSTALL_ROOT), with a systemctl stand-in: fetched from control
 * with curl over the namespace's network, piped to sh, as the install line does.
 */
describe.skipIf(skip)('the node install script', () => {
  let cluster: TestCluster;
  const docker = new Docker();
  const api = restClient(
    () => cluster.url,
    () => cluster.token,
  );
  const suffix = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  const ns = `atoll-it-${suffix}`;
  const vethHost = `ath${suffix}`.slice(0, 15);
  const vethNs = `atn${suffix}`.slice(0, 15);
  // A /30 from 10.254.0.0/16, chosen per run so parallel runs do not collide.
  const third = Math.floor(Math.random() * 250) + 1;
  const hostIp = `10.254.${third}.1`;
  const nsIp = `10.254.${third}.2`;
  let work: string;
  let port: number;
  const roots: string[] = [];

  const ip = (...args: string[]) => run('ip', args);

  beforeAll(async () => {
    cluster = await startTestCluster({ agents: 0, bind: '0.0.0.0' });
    port = Number(new URL(cluster.url).port);
    await ip('netns', 'add', ns);
    await ip('link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethNs);
    await ip('link', 'set', vethNs, 'netns', ns);
    await ip('addr', 'add', `${hostIp}/30`, 'dev', vethHost);
    await ip('link', 'set', vethHost, 'up');
    await ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', vethNs);
    await ip('netns', 'exec', ns, 'ip', 'link', 'set', vethNs, 'up');
    await ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    work = await mkdtemp(path.join(os.tmpdir(), 'atoll-install-'));
    await writeFile(path.join(work, 'systemctl'), SYSTEMCTL);
    await chmod(path.join(work, 'systemctl'), 0o755);
  }, 120_000);

  afterAll(async () => {
    for (const root of roots) {
      const pid = await readFile(path.join(root, 'run', 'atoll-agent.service.pid'), 'utf8').catch(() => '');
      if (pid.trim()) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await cluster?.stop();
    await ip('link', 'del', vethHost).catch(() => undefined);
    await ip('netns', 'del', ns).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
    for (const root of roots) await rm(root, { recursive: true, force: true });
  }, 120_000);

  /** The install line, run inside the namespace with the given root. */
  async function install(
    root: string,
    args: string[],
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const line = `curl -fsSL http://${hostIp}:${port}/install/agent.sh | sh -s -- ${args.map((a) => `'${a}'`).join(' ')}`;
    return new Promise((resolve) => {
      execFile(
        'ip',
        ['netns', 'exec', ns, 'sh', '-c', line],
        {
          env: { ...process.env, PATH: `${work}:${process.env.PATH ?? ''}`, ATOLL_INSTALL_ROOT: root },
          timeout: 180_000,
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  const newRoot = async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'atoll-root-'));
    roots.push(root);
    return root;
  };
  const token = (body: Record<string, unknown> = {}) =>
    api<{ id: string; token: string; installLine: string }>('POST', '/api/v1/nodes/join-tokens', {
      singleUse: true,
      ...body,
    });

  it('installs the agent: the node joins from its own address and runs a task; again upgrades in place; uninstall leaves containers', async () => {
    const root = await newRoot();
    const t = await token({ attributes: { rack: 'ns1' } });
    const first = await install(root, [
      '--token',
      t.token,
      '--address',
      nsIp,
      '--reserve-cpus',
      '0.5',
      '--reserve-mem',
      '256',
    ]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const nodeId = first.stdout.trim().split('\n').at(-1)!;
    expect(nodeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.stdout).toContain(`joined; node ${nodeId}`);

    // Files where the issue says, the settings readable by root only.
    expect((await stat(path.join(root, 'etc/atoll/agent.env'))).mode & 0o777).toBe(0o600);
    expect(await readFile(path.join(root, 'etc/atoll/agent.env'), 'utf8')).toContain(
      `ATOLL_CONTROL_URL=http://${hostIp}:${port}`,
    );
    expect(await readFile(path.join(root, 'etc/systemd/system/atoll-agent.service'), 'utf8')).toContain(
      `ExecStart=${root}/opt/atoll/node --max-semi-space-size=1 --lite-mode ${root}/opt/atoll/atoll-agent.mjs`,
    );
    expect((await stat(path.join(root, 'opt/atoll/atoll-agent.mjs'))).isFile()).toBe(true);
    expect((await stat(path.join(root, 'var/lib/atoll/node.json'))).mode & 0o777).toBe(0o600);

    const node = await until(
      'the node connected',
      () =>
        api<{ connected: boolean; address: string; attributes: Record<string, string> }>(
          'GET',
          `/api/v1/nodes/${nodeId}`,
        ),
      (n) => n.connected,
    );
    expect(node.address).toBe(nsIp);
    expect(node.attributes).toMatchObject({ rack: 'ns1' });

    await api('POST', '/v2/apps', {
      id: '/installed/web',
      instances: 1,
      cpus: 0.01,
      mem: 8,
      cmd: 'exec sleep 3600',
      container: { type: 'DOCKER', docker: { image: TEST_IMAGE } },
    });
    const [task] = await until(
      'a running task on the installed node',
      async () =>
        (
          await api<{ tasks: Array<{ id: string; state: string; host: string; slaveId: string }> }>(
            'GET',
            '/v2/apps/installed/web/tasks',
          )
        ).tasks,
      (ts) => ts[0]?.state === 'TASK_RUNNING',
    );
    expect(task!.slaveId).toBe(nodeId);
    expect(task!.host).toBe(nsIp);

    // Again: an upgrade in place, the same node.
    const again = await install(root, []);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`upgraded; node ${nodeId}`);
    await until(
      'reconnected after the upgrade',
      () => api<{ connected: boolean }>('GET', `/api/v1/nodes/${nodeId}`),
      (n) => n.connected,
    );

    // Uninstall: the agent goes, its container stays.
    const removed = await install(root, ['--uninstall']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('containers keep running');
    await expect(stat(path.join(root, 'opt/atoll'))).rejects.toThrow();
    const containers = await docker.listContainers({
      filters: { label: [`${containerLabels.taskId}=${task!.id}`] },
    });
    expect(containers.map((c) => c.State)).toEqual(['running']);
    await until(
      'the node disconnected',
      () => api<{ connected: boolean }>('GET', `/api/v1/nodes/${nodeId}`),
      (n) => !n.connected,
      30_000,
    );

    // --purge removes the node's containers too.
    const purged = await install(root, ['--uninstall', '--purge']);
    expect(purged.code).toBe(0);
    expect(
      await docker.listContainers({ all: true, filters: { label: [`${containerLabels.nodeId}=${nodeId}`] } }),
    ).toEqual([]);
    await api('DELETE', '/v2/apps/installed/web?force=true');
  }, 300_000);

  it('refuses a revoked, an expired and an unknown token before installing anything', async () => {
    const revoked = await token();
    await api('DELETE', `/api/v1/nodes/join-tokens/${revoked.id}`);
    const root = await newRoot();
    const r = await install(root, ['--token', revoked.token]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('join token was revoked');
    await expect(stat(path.join(root, 'opt/atoll'))).rejects.toThrow();

    const listed = await api<Array<{ id: string; status: string }>>('GET', '/api/v1/nodes/join-tokens');
    expect(listed.find((x) => x.id === revoked.id)?.status).toBe('revoked');

    const expired = await token({ expiresInSeconds: 60 });
    await cluster.control.db.pool.query(
      `UPDATE join_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [expired.id],
    );
    const e = await install(await newRoot(), ['--token', expired.token]);
    expect(e.code).not.toBe(0);
    expect(e.stderr).toContain('join token has expired');

    const bogus = await install(await newRoot(), ['--token', 'join_not-a-token']);
    expect(bogus.stderr).toContain('unknown join token');
  }, 120_000);
});

import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { makeTaskSpec } from '../../test/factories';
import {
  applyDockerParameters,
  CHECKS_LABEL,
  CONTAINER_NAME_LABEL,
  containerName,
  dockerCommand,
  dockerCreateOptions,
  observedPodFromInspect,
  observedTaskFromInspect,
  POD_INDEX_LABEL,
  POD_SANDBOX,
  podContainerCreateOptions,
  podVolumeName,
  portProtocols,
  PORTS_LABEL,
  pullFailureMessage,
  resolvePorts,
} from './docker-options';

describe('containerName', () => {
  it.each([
    { taskId: 'web.1234-abcd', want: 'atoll-web.1234-abcd' },
    { taskId: 'group/app:v1 x', want: 'atoll-group_app_v1_x' },
  ])('$taskId', ({ taskId, want }) => {
    expect(containerName(taskId)).toBe(want);
  });
});

describe('dockerCommand', () => {
  it.each([
    {
      name: 'cmd replaces the entrypoint with sh -c',
      spec: { cmd: 'echo hi && sleep 1' },
      want: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi && sleep 1'] },
    },
    {
      name: 'args keep the image entrypoint',
      spec: { args: ['--port', '80'] },
      want: { Cmd: ['--port', '80'] },
    },
    { name: 'neither runs the image as built', spec: {}, want: {} },
    { name: 'empty args run the image as built', spec: { args: [] }, want: {} },
  ])('$name', ({ spec, want }) => {
    expect(dockerCommand(spec)).toEqual(want);
  });
});

describe('dockerCreateOptions', () => {
  it('maps a bridge task completely', () => {
    const spec = makeTaskSpec({
      taskId: 'web.abc',
      appId: '/shop/web',
      appVersion: 'v7',
      image: 'nginx:1.27',
      cmd: 'nginx -g "daemon off;"',
      env: { PORT0: '31000', A: 'b=c' },
      cpus: 0.5,
      mem: 256,
      user: 'www-data',
      ports: [
        { hostPort: 31000, containerPort: 80, protocol: 'tcp', name: 'http' },
        { hostPort: 0, containerPort: 53, protocol: 'udp,tcp', name: 'dns' },
      ],
      labels: { team: 'shop', 'io.atoll.task-id': 'forged' },
      killGracePeriodSeconds: 7,
      privileged: false,
    });
    const opts = dockerCreateOptions(spec, 'node-1');
    expect(opts).toEqual({
      name: 'atoll-web.abc',
      Image: 'nginx:1.27',
      Env: ['PORT0=31000', 'A=b=c'],
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['nginx -g "daemon off;"'],
      User: 'www-data',
      Labels: {
        team: 'shop',
        'io.atoll.task-id': 'web.abc',
        'io.atoll.app-id': '/shop/web',
        'io.atoll.node-id': 'node-1',
        'io.atoll.app-version': 'v7',
        [PORTS_LABEL]: JSON.stringify(spec.ports),
      },
      StopTimeout: 7,
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '53/tcp': {} },
      HostConfig: {
        NetworkMode: 'bridge',
        Privileged: false,
        RestartPolicy: { Name: 'no' },
        AutoRemove: false,
        NanoCpus: 500_000_000,
        Memory: 256 * 1024 * 1024,
        PortBindings: {
          '80/tcp': [{ HostPort: '31000' }],
          '53/udp': [{ HostPort: '' }],
          '53/tcp': [{ HostPort: '' }],
        },
      },
    });
  });

  it('uses host networking without port bindings', () => {
    const opts = dockerCreateOptions(
      makeTaskSpec({ network: 'host', ports: [{ hostPort: 31001, protocol: 'tcp' }] }),
      'n',
    );
    expect(opts.HostConfig?.NetworkMode).toBe('host');
    expect(opts.HostConfig?.PortBindings).toBeUndefined();
    expect(opts.ExposedPorts).toBeUndefined();
  });

  it('publishes a bridge port without containerPort on the same port', () => {
    const opts = dockerCreateOptions(makeTaskSpec({ ports: [{ hostPort: 31002, protocol: 'tcp' }] }), 'n');
    expect(opts.HostConfig?.PortBindings).toEqual({ '31002/tcp': [{ HostPort: '31002' }] });
  });

  it.each([
    { name: 'below the Docker minimum is raised to 6 MiB', mem: 1, want: 6 * 1024 * 1024 },
    { name: 'fractional MiB are rounded to bytes', mem: 64.5, want: 64.5 * 1024 * 1024 },
    { name: '0 means no limit', mem: 0, want: undefined },
  ])('memory: $name', ({ mem, want }) => {
    expect(dockerCreateOptions(makeTaskSpec({ mem }), 'n').HostConfig?.Memory).toBe(want);
  });

  it.each([
    { cpus: 0, want: undefined },
    { cpus: 0.25, want: 250_000_000 },
    { cpus: 2, want: 2_000_000_000 },
  ])('cpus $cpus → NanoCpus $want', ({ cpus, want }) => {
    expect(dockerCreateOptions(makeTaskSpec({ cpus }), 'n').HostConfig?.NanoCpus).toBe(want);
  });

  it('rounds a fractional grace period up', () => {
    expect(dockerCreateOptions(makeTaskSpec({ killGracePeriodSeconds: 1.2 }), 'n').StopTimeout).toBe(2);
  });

  it('passes privileged through', () => {
    expect(dockerCreateOptions(makeTaskSpec({ privileged: true }), 'n').HostConfig?.Privileged).toBe(true);
  });

  it('refuses a task without image', () => {
    expect(() => dockerCreateOptions(makeTaskSpec({ image: undefined }), 'n')).toThrow(/image/);
  });

  it('refuses an unknown port protocol', () => {
    expect(() =>
      dockerCreateOptions(makeTaskSpec({ ports: [{ hostPort: 1, protocol: 'quic' }] }), 'n'),
    ).toThrow(/quic/);
  });
});

describe('portProtocols', () => {
  it.each([
    { protocol: 'tcp', want: ['tcp'] },
    { protocol: 'UDP', want: ['udp'] },
    { protocol: 'udp,tcp', want: ['udp', 'tcp'] },
    { protocol: 'tcp, tcp', want: ['tcp'] },
    { protocol: '', want: ['tcp'] },
  ])('"$protocol"', ({ protocol, want }) => {
    expect(portProtocols({ hostPort: 1, protocol })).toEqual(want);
  });
});

describe('resolvePorts', () => {
  it('reads host ports Docker chose', () => {
    const ports = [
      { hostPort: 0, containerPort: 8080, protocol: 'tcp', name: 'http' },
      { hostPort: 31005, containerPort: 53, protocol: 'udp' },
    ];
    const map = {
      '8080/tcp': [
        { HostIp: '0.0.0.0', HostPort: '49153' },
        { HostIp: '::', HostPort: '49153' },
      ],
      '53/udp': [{ HostIp: '0.0.0.0', HostPort: '31005' }],
    };
    expect(resolvePorts(ports, 'bridge', map)).toEqual([
      { hostPort: 49153, containerPort: 8080, protocol: 'tcp', name: 'http' },
      { hostPort: 31005, containerPort: 53, protocol: 'udp' },
    ]);
  });

  it('keeps host ports under host networking', () => {
    const ports = [{ hostPort: 31000, protocol: 'tcp' }];
    expect(resolvePorts(ports, 'host', null)).toEqual(ports);
  });
});

describe('observedTaskFromInspect', () => {
  function inspect(
    state: Partial<Docker.ContainerInspectInfo['State']>,
    labels: Record<string, string> = {},
  ): Docker.ContainerInspectInfo {
    return {
      Id: 'c0ffee',
      Created: '2024-01-01T00:00:00Z',
      State: {
        Status: 'exited',
        Running: false,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: 0,
        ExitCode: 0,
        Error: '',
        StartedAt: '2024-01-01T00:00:01Z',
        FinishedAt: '2024-01-01T00:00:09Z',
        ...state,
      },
      Config: {
        Labels: {
          'io.atoll.task-id': 't1',
          'io.atoll.app-id': '/a',
          'io.atoll.node-id': 'n',
          [PORTS_LABEL]: '[]',
          ...labels,
        },
      },
      HostConfig: { NetworkMode: 'bridge', Memory: 64 * 1024 * 1024 },
      NetworkSettings: { Ports: {} },
    } as unknown as Docker.ContainerInspectInfo;
  }

  it.each([
    {
      name: 'running',
      state: { Status: 'running', Running: true },
      killed: false,
      want: { state: 'TASK_RUNNING', at: '2024-01-01T00:00:01Z' },
    },
    {
      name: 'created, never started',
      state: { Status: 'created' },
      killed: false,
      want: { state: 'TASK_STARTING', at: '2024-01-01T00:00:00Z' },
    },
    { name: 'exit 0', state: { ExitCode: 0 }, killed: false, want: { state: 'TASK_FINISHED', exitCode: 0 } },
    {
      name: 'exit 2',
      state: { ExitCode: 2 },
      killed: false,
      want: { state: 'TASK_FAILED', exitCode: 2, message: 'exited with code 2' },
    },
    {
      name: 'stopped on request',
      state: { ExitCode: 143 },
      killed: true,
      want: { state: 'TASK_KILLED', exitCode: 143 },
    },
    {
      name: 'OOM-killed',
      state: { ExitCode: 137, OOMKilled: true },
      killed: false,
      want: {
        state: 'TASK_FAILED',
        exitCode: 137,
        message: 'OOM-killed: the task exceeded its memory limit of 64 MiB (exited with code 137)',
      },
    },
  ])('$name', ({ state, killed, want }) => {
    expect(observedTaskFromInspect(inspect(state), killed)).toMatchObject({
      taskId: 't1',
      appId: '/a',
      runtimeId: 'c0ffee',
      ...want,
    });
  });

  it('ignores containers without a task label', () => {
    const info = inspect({});
    info.Config.Labels = {};
    expect(observedTaskFromInspect(info, false)).toBeUndefined();
  });

  it('reads the checks back from their label, and ignores a broken one', () => {
    const checks = {
      healthChecks: [
        {
          protocol: 'COMMAND',
          path: '/',
          command: 'true',
          gracePeriodSeconds: 1,
          intervalSeconds: 1,
          timeoutSeconds: 1,
          maxConsecutiveFailures: 2,
          delaySeconds: 0,
          ignoreHttp1xx: false,
        },
      ],
      readinessChecks: [],
      killGracePeriodSeconds: 4,
    };
    const running = { Status: 'running', Running: true };
    expect(
      observedTaskFromInspect(inspect(running, { [CHECKS_LABEL]: JSON.stringify(checks) }), false),
    ).toMatchObject({
      state: 'TASK_RUNNING',
      checks,
    });
    expect(
      observedTaskFromInspect(inspect(running, { [CHECKS_LABEL]: '{oops' }), false)?.checks,
    ).toBeUndefined();
    expect(observedTaskFromInspect(inspect(running), false)?.checks).toBeUndefined();
  });
});

describe('checks label', () => {
  it('carries the health and readiness checks and the kill grace period, only when there are checks', () => {
    const healthChecks = [
      {
        protocol: 'HTTP' as const,
        path: '/health',
        port: 31000,
        gracePeriodSeconds: 300,
        intervalSeconds: 60,
        timeoutSeconds: 20,
        maxConsecutiveFailures: 3,
        delaySeconds: 15,
        ignoreHttp1xx: false,
      },
    ];
    const withChecks = dockerCreateOptions(makeTaskSpec({ healthChecks, killGracePeriodSeconds: 5 }), 'n');
    expect(JSON.parse(withChecks.Labels?.[CHECKS_LABEL] ?? 'null')).toEqual({
      healthChecks,
      readinessChecks: [],
      killGracePeriodSeconds: 5,
    });
    expect(dockerCreateOptions(makeTaskSpec(), 'n').Labels?.[CHECKS_LABEL]).toBeUndefined();
  });
});

describe('pullFailureMessage', () => {
  it('says the image is missing and keeps the first line of the Docker error', () => {
    expect(
      pullFailureMessage(
        'nginx:1.27',
        '\nGet "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host\nmore',
      ),
    ).toBe(
      'image nginx:1.27 not found and no registry reachable: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host',
    );
    expect(pullFailureMessage('x', '')).toBe('image x not found and no registry reachable');
  });
});

describe('podContainerCreateOptions', () => {
  const spec = makeTaskSpec({
    taskId: 'pod/web.1',
    image: undefined,
    cmd: 'ignored',
    env: { A: 'task', B: 'task' },
    ports: [{ hostPort: 0, containerPort: 8080, protocol: 'tcp', name: 'http' }],
    labels: { team: 'x' },
    killGracePeriodSeconds: 4,
    volumes: [{ name: 'shared' }, { name: 'logs', host: '/var/log/app' }],
    containers: [
      {
        name: 'ct1',
        image: 'img1',
        cmd: 'echo one',
        env: { B: 'ct1' },
        cpus: 0.5,
        mem: 64,
        volumeMounts: [
          { name: 'shared', mountPath: './test-v1', readOnly: false },
          { name: 'logs', mountPath: '/logs', readOnly: true },
        ],
      },
      {
        name: 'ct2',
        image: 'img2',
        env: {},
        cpus: 0.25,
        mem: 32,
        volumeMounts: [{ name: 'shared', mountPath: 'data', readOnly: false }],
      },
    ],
  });

  it('gives the first container the network and the instance ports', () => {
    const o = podContainerCreateOptions(spec, 'n1', 0);
    expect(o.name).toBe('atoll-pod_web.1-ct1');
    expect(o.Image).toBe('img1');
    expect(o).toMatchObject({ Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo one'], WorkingDir: POD_SANDBOX });
    expect(o.Env).toEqual(expect.arrayContaining(['A=task', 'B=ct1']));
    expect(o.Env).not.toContain('B=task');
    expect(o.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(o.HostConfig).toMatchObject({
      NetworkMode: 'bridge',
      PortBindings: { '8080/tcp': [{ HostPort: '' }] },
      NanoCpus: 500_000_000,
      Memory: 64 * 1024 * 1024,
      Mounts: [
        {
          Type: 'volume',
          Source: podVolumeName('pod/web.1', 'shared'),
          Target: '/mnt/mesos/sandbox/test-v1',
          ReadOnly: false,
        },
        { Type: 'bind', Source: '/var/log/app', Target: '/logs', ReadOnly: true },
      ],
    });
    expect(o.Labels).toMatchObject({
      team: 'x',
      'io.atoll.task-id': 'pod/web.1',
      'io.atoll.node-id': 'n1',
      [CONTAINER_NAME_LABEL]: 'ct1',
      [PORTS_LABEL]: JSON.stringify(spec.ports),
    });
  });

  it('joins the others to the first container network without ports', () => {
    const o = podContainerCreateOptions(spec, 'n1', 1, 'abc123');
    expect(o.name).toBe('atoll-pod_web.1-ct2');
    expect(o.Image).toBe('img2');
    expect(o.Cmd).toBeUndefined();
    expect(o.ExposedPorts).toBeUndefined();
    expect(o.HostConfig?.PortBindings).toBeUndefined();
    expect(o.HostConfig).toMatchObject({ NetworkMode: 'container:abc123', NanoCpus: 250_000_000 });
    expect(o.HostConfig?.Mounts).toEqual([
      {
        Type: 'volume',
        Source: 'atoll-pod_web.1-shared',
        Target: '/mnt/mesos/sandbox/data',
        ReadOnly: false,
      },
    ]);
    expect(o.Labels?.[CONTAINER_NAME_LABEL]).toBe('ct2');
  });

  it('uses host networking on the first container of a host-network pod', () => {
    const o = podContainerCreateOptions({ ...spec, network: 'host' }, 'n1', 0);
    expect(o.HostConfig?.NetworkMode).toBe('host');
    expect(o.HostConfig?.PortBindings).toBeUndefined();
  });

  it('rejects a container without image and an unknown volume', () => {
    const noImage = { ...spec, containers: [{ ...spec.containers![0]!, image: undefined }] };
    expect(() => podContainerCreateOptions(noImage, 'n1', 0)).toThrow(/needs an image/);
    const unknownVolume = { ...spec, volumes: [] };
    expect(() => podContainerCreateOptions(unknownVolume, 'n1', 0)).toThrow(/unknown volume shared/);
  });
});

describe('observedPodFromInspect', () => {
  function ct(
    name: string,
    index: number,
    state: Partial<Docker.ContainerInspectInfo['State']>,
  ): Docker.ContainerInspectInfo {
    return {
      Id: `id-${name}`,
      Created: '2024-01-01T00:00:00Z',
      State: {
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: 1,
        ExitCode: 0,
        Error: '',
        StartedAt: '2024-01-01T00:00:01Z',
        FinishedAt: '0001-01-01T00:00:00Z',
        ...state,
      },
      Config: {
        Labels: {
          'io.atoll.task-id': 'p1',
          'io.atoll.app-id': '/p',
          [PORTS_LABEL]: '[]',
          [CONTAINER_NAME_LABEL]: name,
          [POD_INDEX_LABEL]: String(index),
        },
      },
      HostConfig: { NetworkMode: index === 0 ? 'bridge' : 'container:id-ct1' },
      NetworkSettings: { Ports: {} },
    } as unknown as Docker.ContainerInspectInfo;
  }
  const exited = (code: number) => ({
    Status: 'exited',
    Running: false,
    ExitCode: code,
    FinishedAt: '2024-01-01T00:00:09Z',
  });

  it('is running when all containers run, with the network owner as runtime id', () => {
    const t = observedPodFromInspect([ct('ct2', 1, {}), ct('ct1', 0, {})], false);
    expect(t).toMatchObject({ taskId: 'p1', state: 'TASK_RUNNING', runtimeId: 'id-ct1', appId: '/p' });
  });

  it('fails with the first non-zero exit, naming the container', () => {
    const t = observedPodFromInspect([ct('ct1', 0, exited(137)), ct('ct2', 1, exited(3))], false);
    expect(t).toMatchObject({ state: 'TASK_FAILED', exitCode: 137 });
    expect(t?.message).toContain('container ct1 exited with 137');
  });

  it('fails while a sibling still runs after another exited', () => {
    const t = observedPodFromInspect([ct('ct1', 0, {}), ct('ct2', 1, exited(3))], false);
    expect(t).toMatchObject({ state: 'TASK_FAILED', exitCode: 3 });
    expect(t?.message).toContain('container ct2 exited with 3');
  });

  it('is finished when all exited 0 and killed on request', () => {
    expect(observedPodFromInspect([ct('ct1', 0, exited(0)), ct('ct2', 1, exited(0))], false)).toMatchObject({
      state: 'TASK_FINISHED',
      exitCode: 0,
    });
    expect(
      observedPodFromInspect([ct('ct1', 0, exited(143)), ct('ct2', 1, exited(137))], true),
    ).toMatchObject({
      state: 'TASK_KILLED',
    });
  });
});

describe('mounts and docker parameters', () => {
  it('binds host paths and labels persistent volumes with their app and node', () => {
    const opts = dockerCreateOptions(
      makeTaskSpec({
        appId: '/db',
        mounts: [
          { target: '/data', source: { type: 'volume', name: 'atoll-db-data' }, readOnly: false },
          { target: '/etc/x', source: { type: 'host', path: '/srv/x' }, readOnly: true },
        ],
      }),
      'node-1',
    );
    expect(opts.HostConfig?.Mounts).toEqual([
      expect.objectContaining({
        Type: 'volume',
        Source: 'atoll-db-data',
        Target: '/data',
        VolumeOptions: expect.objectContaining({
          Labels: { 'io.atoll.app-id': '/db', 'io.atoll.node-id': 'node-1' },
        }),
      }),
      { Type: 'bind', Source: '/srv/x', Target: '/etc/x', ReadOnly: true },
    ]);
  });

  it('applies the docker run options Marathon passed through, and ignores the rest', () => {
    const hostConfig: Docker.HostConfig = {};
    const labels = applyDockerParameters(hostConfig, [
      { key: 'cap-add', value: 'NET_ADMIN' },
      { key: 'cap-add', value: 'IPC_LOCK' },
      { key: 'ulimit', value: 'nofile=1024:2048' },
      { key: 'sysctl', value: 'net.ipv4.ip_forward=1' },
      { key: 'shm-size', value: '64m' },
      { key: 'label', value: 'team=data' },
      { key: 'volume-driver', value: 'rexray' },
    ]);
    expect(hostConfig).toEqual({
      CapAdd: ['NET_ADMIN', 'IPC_LOCK'],
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      Sysctls: { 'net.ipv4.ip_forward': '1' },
      ShmSize: 64 * 1024 * 1024,
    });
    expect(labels).toEqual({ team: 'data' });
  });
});

describe('the bridge gateway from a subnet', () => {
  it('is the first host address, as Docker assigns it', async () => {
    const { firstHost } = await import('./docker');
    expect(firstHost('172.17.0.0/16')).toBe('172.17.0.1');
    expect(firstHost('10.200.3.0/24')).toBe('10.200.3.1');
    expect(firstHost('192.168.1.77/24')).toBe('192.168.1.1');
    expect(firstHost(undefined)).toBeNull();
    expect(firstHost('fd00::/64')).toBeNull();
  });
});

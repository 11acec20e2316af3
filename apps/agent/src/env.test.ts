import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AgentConfigError,
  defaultNodeAddress,
  loadAgentConfig,
  parseAttributes,
  parsePortRange,
} from './env';

const base = { ATOLL_CONTROL_URL: 'http://control.example:7700' };

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadAgentConfig(env);
  } catch (err) {
    if (err instanceof AgentConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadAgentConfig', () => {
  it('fills defaults', () => {
    const c = loadAgentConfig({ ...base, ATOLL_NODE_ADDRESS: '10.0.0.5' });
    expect(c).toMatchObject({
      controlUrl: 'http://control.example:7700',
      joinToken: undefined,
      stateDir: path.resolve('.atoll/agent'),
      runtime: 'auto',
      nodeAddress: '10.0.0.5',
      portRange: [10000, 20000],
      attributes: {},
      logLevel: 'info',
      dockerSocketPath: '/var/run/docker.sock',
    });
    expect(c.execPath).toContain('/bin');
    expect(c.nodeHostname).toBe(os.hostname());
    expect(c.imagePullTimeoutMs).toBe(60_000);
  });

  it('takes the reported hostname and the pull timeout from the environment', () => {
    const c = loadAgentConfig({
      ...base,
      ATOLL_NODE_HOSTNAME: 'node-2.test',
      ATOLL_IMAGE_PULL_TIMEOUT_SECONDS: '2.5',
    });
    expect(c.nodeHostname).toBe('node-2.test');
    expect(c.imagePullTimeoutMs).toBe(2_500);
  });

  it('reads every setting', () => {
    const c = loadAgentConfig({
      ATOLL_CONTROL_URL: 'https://atoll.example/prefix/',
      ATOLL_JOIN_TOKEN: 'tok',
      ATOLL_AGENT_STATE_DIR: 'var/agent',
      ATOLL_RUNTIME: 'exec',
      ATOLL_NODE_ADDRESS: 'node1.example',
      ATOLL_PORT_RANGE: '31000-32000',
      ATOLL_NODE_ATTRIBUTES: 'rack=r1, zone=a=b',
      ATOLL_LOG_LEVEL: 'debug',
      PATH: '/bin',
    });
    expect(c).toMatchObject({
      controlUrl: 'https://atoll.example/prefix',
      joinToken: 'tok',
      stateDir: path.resolve('var/agent'),
      runtime: 'exec',
      nodeAddress: 'node1.example',
      portRange: [31000, 32000],
      attributes: { rack: 'r1', zone: 'a=b' },
      logLevel: 'debug',
      execPath: '/bin',
    });
  });

  it('reads more control replicas from ATOLL_CONTROL_URLS', () => {
    expect(loadAgentConfig(base).controlUrls).toBeUndefined();
    expect(
      loadAgentConfig({ ...base, ATOLL_CONTROL_URLS: ' http://c2.example:7700/, https://c3.example ' })
        .controlUrls,
    ).toEqual(['http://c2.example:7700', 'https://c3.example']);
  });

  it('treats empty strings as unset', () => {
    expect(loadAgentConfig({ ...base, ATOLL_JOIN_TOKEN: '', ATOLL_RUNTIME: '' }).runtime).toBe('auto');
  });

  it('does not modify the object it is given', () => {
    const env = { ...base, ATOLL_JOIN_TOKEN: '' };
    loadAgentConfig(env);
    expect(env).toEqual({ ...base, ATOLL_JOIN_TOKEN: '' });
  });

  it.each([
    { name: 'missing control URL', env: {}, bad: 'ATOLL_CONTROL_URL' },
    { name: 'control URL not http', env: { ATOLL_CONTROL_URL: 'ftp://x' }, bad: 'ATOLL_CONTROL_URL' },
    { name: 'control URL not a URL', env: { ATOLL_CONTROL_URL: 'control:7700' }, bad: 'ATOLL_CONTROL_URL' },
    { name: 'unknown runtime', env: { ...base, ATOLL_RUNTIME: 'podman' }, bad: 'ATOLL_RUNTIME' },
    {
      name: 'a replica URL not http',
      env: { ...base, ATOLL_CONTROL_URLS: 'http://c2.example,ftp://c3' },
      bad: 'ATOLL_CONTROL_URLS',
    },
    {
      name: 'reversed port range',
      env: { ...base, ATOLL_PORT_RANGE: '20000-10000' },
      bad: 'ATOLL_PORT_RANGE',
    },
    {
      name: 'port range beyond 65535',
      env: { ...base, ATOLL_PORT_RANGE: '1-70000' },
      bad: 'ATOLL_PORT_RANGE',
    },
    {
      name: 'attribute without =',
      env: { ...base, ATOLL_NODE_ATTRIBUTES: 'rack' },
      bad: 'ATOLL_NODE_ATTRIBUTES',
    },
    { name: 'unknown log level', env: { ...base, ATOLL_LOG_LEVEL: 'loud' }, bad: 'ATOLL_LOG_LEVEL' },
    {
      name: 'hostname with spaces',
      env: { ...base, ATOLL_NODE_HOSTNAME: 'a b' },
      bad: 'ATOLL_NODE_HOSTNAME',
    },
    {
      name: 'pull timeout not a number',
      env: { ...base, ATOLL_IMAGE_PULL_TIMEOUT_SECONDS: 'soon' },
      bad: 'ATOLL_IMAGE_PULL_TIMEOUT_SECONDS',
    },
    {
      name: 'pull timeout of 0',
      env: { ...base, ATOLL_IMAGE_PULL_TIMEOUT_SECONDS: '0' },
      bad: 'ATOLL_IMAGE_PULL_TIMEOUT_SECONDS',
    },
  ])('refuses $name and names the setting', ({ env, bad }) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${bad}: `));
  });

  it('names every bad setting at once', () => {
    const problems = problemsOf({ ATOLL_RUNTIME: 'x', ATOLL_PORT_RANGE: 'y' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'ATOLL_CONTROL_URL',
      'ATOLL_PORT_RANGE',
      'ATOLL_RUNTIME',
    ]);
  });

  it('never echoes the join token', () => {
    const problems = problemsOf({ ATOLL_CONTROL_URL: 'nope', ATOLL_JOIN_TOKEN: 'secret-token' });
    expect(problems.join(' ')).not.toContain('secret-token');
  });
});

describe('parsePortRange', () => {
  it.each([
    { value: '10000-20000', want: [10000, 20000] },
    { value: ' 5 - 5 ', want: [5, 5] },
    { value: '0-10', want: undefined },
    { value: '10', want: undefined },
    { value: 'a-b', want: undefined },
  ])('$value', ({ value, want }) => {
    expect(parsePortRange(value)).toEqual(want);
  });
});

describe('parseAttributes', () => {
  it.each([
    { value: '', want: {} },
    { value: 'a=1,b=2', want: { a: '1', b: '2' } },
    { value: 'a=,', want: { a: '' } },
    { value: '=x', want: undefined },
  ])('"$value"', ({ value, want }) => {
    expect(parseAttributes(value)).toEqual(want);
  });
});

describe('defaultNodeAddress', () => {
  const lo = {
    address: '127.0.0.1',
    netmask: '255.0.0.0',
    family: 'IPv4',
    mac: '00:00:00:00:00:00',
    internal: true,
    cidr: '127.0.0.1/8',
  } as const;
  const v6 = {
    address: 'fe80::1',
    netmask: 'ffff::',
    family: 'IPv6',
    mac: 'aa:bb:cc:dd:ee:ff',
    internal: false,
    cidr: 'fe80::1/64',
    scopeid: 2,
  } as const;
  const eth = {
    address: '192.168.1.20',
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: 'aa:bb:cc:dd:ee:ff',
    internal: false,
    cidr: '192.168.1.20/24',
  } as const;

  it('takes the first non-internal IPv4 address', () => {
    expect(defaultNodeAddress({ lo: [lo], eth0: [v6, eth] })).toBe('192.168.1.20');
  });
  it('falls back to loopback', () => {
    expect(defaultNodeAddress({ lo: [lo], eth0: [v6] })).toBe('127.0.0.1');
  });
});

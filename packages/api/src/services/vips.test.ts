import { describe, expect, it } from 'vitest';
import {
  allocateIp,
  appVipPorts,
  buildVipDetails,
  combineModes,
  inCidr,
  parseCidr,
  parseVipLabel,
  summarize,
  toViewEntries,
  vipLabelsOf,
} from './vips';

describe('VIP labels', () => {
  it('parses named and address VIPs as DC/OS did', () => {
    expect(parseVipLabel('/web:80')).toEqual({ kind: 'named', name: 'web', port: 80 });
    expect(parseVipLabel('/kafka/broker:9092')).toEqual({ kind: 'named', name: 'kafka/broker', port: 9092 });
    expect(parseVipLabel('db:5432')).toEqual({ kind: 'named', name: 'db', port: 5432 });
    expect(parseVipLabel('10.1.2.3:5000')).toEqual({ kind: 'ip', ip: '10.1.2.3', port: 5000 });
    for (const bad of ['/web', '/web:', '/web:0', '/web:70000', ':80', '/:80', '/we b:80', '/web:8o']) {
      expect(parseVipLabel(bad), bad).toBeNull();
    }
  });

  it('takes every VIP_n label of a port, in numeric order, and ignores other labels', () => {
    expect(
      vipLabelsOf({
        VIP_10: '/c:3',
        VIP_0: '/a:1',
        VIP_2: '10.0.0.9:2',
        VIP_X: '/x:1',
        OTHER: '/y:1',
        VIP_3: 'bad',
      }),
    ).toEqual([
      { kind: 'named', name: 'a', port: 1 },
      { kind: 'ip', ip: '10.0.0.9', port: 2 },
      { kind: 'named', name: 'c', port: 3 },
    ]);
    expect(vipLabelsOf(undefined)).toEqual([]);
  });

  it('finds VIPs on port mappings (bridge) and port definitions (host) with their task port index', () => {
    const bridged = appVipPorts({
      networks: [{ mode: 'container/bridge' }],
      container: {
        portMappings: [
          { hostPort: 0, protocol: 'tcp' },
          { hostPort: 0, protocol: 'udp,tcp', labels: { VIP_0: '/dns:53', VIP_1: '/dns2:53' } },
        ],
      },
    });
    expect(bridged).toEqual([
      { label: { kind: 'named', name: 'dns', port: 53 }, protocols: ['tcp', 'udp'], taskPortIndex: 1 },
      { label: { kind: 'named', name: 'dns2', port: 53 }, protocols: ['tcp', 'udp'], taskPortIndex: 1 },
    ]);
    // On a user network a mapping without hostPort has no host port (and no task port index).
    const user = appVipPorts({
      networks: [{ mode: 'container' }],
      container: {
        portMappings: [
          { protocol: 'tcp', labels: { VIP_0: '/a:1' } },
          { hostPort: 0, protocol: 'tcp', labels: { VIP_0: '/b:2' } },
        ],
      },
    });
    expect(user.map((u) => u.taskPortIndex)).toEqual([null, 0]);
    const host = appVipPorts({
      networks: [{ mode: 'host' }],
      portDefinitions: [{ protocol: 'tcp' }, { protocol: 'tcp', labels: { VIP_0: '11.1.1.1:80' } }],
    });
    expect(host).toEqual([
      { label: { kind: 'ip', ip: '11.1.1.1', port: 80 }, protocols: ['tcp'], taskPortIndex: 1 },
    ]);
  });
});

describe('VIP addresses', () => {
  it('allocates the first free address of the range, never .0 or .255', () => {
    const cidr = parseCidr('11.0.0.0/8');
    expect(allocateIp(cidr, new Set())).toBe('11.0.0.1');
    expect(allocateIp(cidr, new Set(['11.0.0.1', '11.0.0.2']))).toBe('11.0.0.3');
    const used = new Set(Array.from({ length: 254 }, (_, i) => `11.0.0.${i + 1}`));
    expect(allocateIp(cidr, used)).toBe('11.0.1.1');
  });

  it('normalises the network, knows its members, and says when the range is full', () => {
    const cidr = parseCidr('192.168.7.9/30');
    expect(cidr).toEqual({ base: parseCidr('192.168.7.8/30').base, bits: 30, size: 4 });
    expect(inCidr(cidr, '192.168.7.10')).toBe(true);
    expect(inCidr(cidr, '192.168.7.12')).toBe(false);
    expect(allocateIp(cidr, new Set())).toBe('192.168.7.8');
    expect(
      allocateIp(cidr, new Set(['192.168.7.8', '192.168.7.9', '192.168.7.10', '192.168.7.11'])),
    ).toBeNull();
    expect(
      allocateIp(parseCidr('10.0.0.252/30'), new Set(['10.0.0.252', '10.0.0.253', '10.0.0.254'])),
    ).toBeNull();
    expect(() => parseCidr('11.0.0.0')).toThrow(/CIDR/);
    expect(() => parseCidr('11.0.0.0/31')).toThrow(/prefix/);
    expect(() => parseCidr('300.0.0.0/8')).toThrow(/CIDR/);
  });
});

describe('the VIP view', () => {
  const web = {
    id: '/web',
    hasHealthChecks: true,
    definition: {
      networks: [{ mode: 'container/bridge' }],
      container: { portMappings: [{ hostPort: 0, protocol: 'tcp', labels: { VIP_0: '/web:80' } }] },
    },
  };
  const other = {
    id: '/web-canary',
    hasHealthChecks: false,
    definition: {
      networks: [{ mode: 'host' }],
      portDefinitions: [{ protocol: 'tcp', labels: { VIP_0: '/web:80' } }],
    },
  };
  const tasks = [
    { id: 'w1', appId: '/web', host: '10.0.0.1', healthy: true, ports: [{ hostPort: 31001 }] },
    { id: 'w2', appId: '/web', host: '10.0.0.2', healthy: false, ports: [{ hostPort: 31002 }] },
    { id: 'w3', appId: '/web', host: '10.0.0.2', healthy: null, ports: [{ hostPort: 31003 }] },
    { id: 'c1', appId: '/web-canary', host: '10.0.0.3', healthy: null, ports: [{ hostPort: 31004 }] },
  ];

  it('merges apps sharing a name; only healthy tasks (or all, without health checks) get traffic', () => {
    const details = buildVipDetails({ apps: [web, other], tasks, names: new Map([['web', '11.0.0.1']]) });
    expect(details).toHaveLength(1);
    expect(details[0]).toMatchObject({
      name: 'web',
      ip: '11.0.0.1',
      port: 80,
      protocol: 'tcp',
      appIds: ['/web', '/web-canary'],
    });
    expect(details[0]!.endpoints.map((e) => [e.taskId, e.healthy])).toEqual([
      ['c1', true],
      ['w1', true],
      ['w2', false],
      ['w3', false],
    ]);
    expect(toViewEntries(details)[0]!.backends).toEqual([
      { taskId: 'c1', host: '10.0.0.3', port: 31004 },
      { taskId: 'w1', host: '10.0.0.1', port: 31001 },
    ]);
  });

  it('skips named VIPs without an address yet', () => {
    expect(buildVipDetails({ apps: [web], tasks, names: new Map() })).toEqual([]);
  });

  it('sums the agents’ counters over nodes and reports the mode', () => {
    const details = buildVipDetails({ apps: [web], tasks, names: new Map([['web', '11.0.0.1']]) });
    const node = (active: number, total: number, errors: number) => ({
      at: '',
      mode: 'userspace',
      vips: [
        {
          ip: '11.0.0.1',
          port: 80,
          protocol: 'tcp' as const,
          failed: 1,
          backends: [
            {
              taskId: 'w1',
              host: '10.0.0.1',
              port: 31001,
              activeConnections: active,
              totalConnections: total,
              errors,
            },
          ],
        },
      ],
    });
    const [s] = summarize(details, [node(1, 10, 0), node(2, 5, 3)]);
    expect(s).toMatchObject({
      appId: '/web',
      mode: 'userspace',
      dnsNames: ['web.marathon.l4lb.thisdcos.directory', 'web.atoll.vip'],
      totalConnections: 15,
      activeConnections: 3,
      errors: 3,
      failedConnections: 2,
    });
    expect(s!.backends[0]).toMatchObject({
      taskId: 'w1',
      activeConnections: 3,
      totalConnections: 15,
      errors: 3,
    });
    expect(s!.backends[1]).toMatchObject({ taskId: 'w2', healthy: false, totalConnections: 0 });
  });

  it('combines the nodes’ modes', () => {
    expect(combineModes([])).toMatch(/unknown/);
    expect(combineModes(['userspace', 'userspace'])).toBe('userspace');
    expect(combineModes(['userspace', 'off: x', 'userspace'])).toBe('userspace (2 nodes); off: x (1 node)');
  });
});

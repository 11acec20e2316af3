import { describe, expect, it } from 'vitest';
import { atollName, buildView, lookup, mesosName } from './view';

const task = (
  id: string,
  appId: string,
  ip: string,
  extra: Partial<Parameters<typeof buildView>[0]['tasks'][number]> = {},
) => ({
  id,
  appId,
  ip,
  nodeId: `node-${ip}`,
  running: true,
  healthy: null,
  ports: [{ hostPort: 31000, name: 'http', protocol: 'tcp' }],
  ...extra,
});

describe('names as Mesos-DNS gave them', () => {
  it('turns /group/app into app-group, and Atoll’s form into app.group.atoll', () => {
    expect(mesosName('/web')).toBe('web');
    expect(mesosName('/prod/db/Primary_1')).toBe('primary-1-db-prod');
    expect(atollName('/prod/db', 'atoll')).toBe('db.prod.atoll');
  });

  it('publishes A records of the nodes running tasks, only healthy ones when the app has health checks', () => {
    const view = buildView({
      apps: [
        { id: '/kafka/broker-0', hasHealthChecks: true },
        { id: '/web', hasHealthChecks: false },
      ],
      tasks: [
        task('broker-0.a1', '/kafka/broker-0', '10.0.0.1', { healthy: true }),
        task('broker-0.b2', '/kafka/broker-0', '10.0.0.2', { healthy: false }),
        task('web.c3', '/web', '10.0.0.3'),
        task('web.d4', '/web', '10.0.0.3'),
        task('web.e5', '/web', '10.0.0.4', { running: false }),
      ],
      controlIps: ['10.0.0.9'],
    });
    expect(lookup(view, 'broker-0-kafka.marathon.mesos.', 'A')).toEqual({
      kind: 'a',
      name: 'broker-0-kafka.marathon.mesos',
      addresses: ['10.0.0.1'],
    });
    expect(view.a['web.marathon.mesos']).toEqual(['10.0.0.3']);
    expect(view.a['broker-0.kafka.atoll']).toEqual(['10.0.0.1']);
    expect(view.a['leader.mesos']).toEqual(['10.0.0.9']);
    expect(view.a['master.mesos']).toEqual(['10.0.0.9']);
  });

  it('publishes SRV records with host ports, named ports, and A records of their targets', () => {
    const view = buildView({
      apps: [{ id: '/web', hasHealthChecks: false }],
      tasks: [
        task('web.aaaaa', '/web', '10.0.0.3'),
        task('web.bbbbb', '/web', '10.0.0.4', { ports: [{ hostPort: 31001 }] }),
      ],
      controlIps: [],
    });
    const srv = lookup(view, '_web._tcp.marathon.mesos', 'SRV');
    expect(srv.kind).toBe('srv');
    if (srv.kind !== 'srv') return;
    expect(srv.targets.map((t) => [t.port, t.addresses])).toEqual([
      [31000, ['10.0.0.3']],
      [31001, ['10.0.0.4']],
    ]);
    expect(srv.targets[0]!.target).toMatch(/^web-aaaaa-[a-z0-9]+\.marathon\.mesos$/);
    expect(lookup(view, '_http._web._tcp.marathon.mesos', 'SRV').kind).toBe('srv');
  });

  it('answers NXDOMAIN inside its zones, no data for another type, and forwards the rest', () => {
    const view = buildView({
      apps: [{ id: '/web', hasHealthChecks: false }],
      tasks: [task('web.aaaaa', '/web', '10.0.0.3')],
      controlIps: [],
      vips: [{ name: '/db', ip: '11.0.0.1' }],
    });
    expect(lookup(view, 'nope.marathon.mesos', 'A').kind).toBe('nxdomain');
    expect(lookup(view, 'web.marathon.mesos', 'AAAA').kind).toBe('nodata');
    expect(lookup(view, 'marathon.mesos', 'A').kind).toBe('nodata');
    expect(lookup(view, 'example.org', 'A').kind).toBe('forward');
    expect(view.a['db.marathon.l4lb.thisdcos.directory']).toEqual(['11.0.0.1']);
    expect(view.a['db.atoll.vip']).toEqual(['11.0.0.1']);
  });
});

import { describe, expect, it } from 'vitest';
import {
  buildRoutingTable,
  matchServicePath,
  normalizeHost,
  parseVhosts,
  requestedServiceName,
  serviceLinkOf,
  serviceRouteOf,
  upstreamPath,
  type RouteAppInput,
  type RouteTaskInput,
} from './service-routes';

const app = (
  id: string,
  labels: Record<string, string> = {},
  extra: Partial<RouteAppInput['definition']> = {},
): RouteAppInput => ({
  id,
  definition: { labels, healthChecks: [], ...extra },
});

let seq = 0;
const task = (appId: string, ports: number[], extra: Partial<RouteTaskInput> = {}): RouteTaskInput => ({
  id: `${appId.replace(/\//g, '_')}.${++seq}`,
  appId,
  state: 'TASK_RUNNING',
  host: '10.0.0.1',
  ports: ports.map((hostPort) => ({ hostPort, protocol: 'tcp' })),
  healthy: null,
  ...extra,
});

describe('service routes', () => {
  it('reads the DC/OS labels, with their defaults', () => {
    const plain = serviceRouteOf(app('/web'), []);
    expect(plain).toMatchObject({
      serviceName: null,
      path: '/service/web/',
      scheme: 'http',
      portIndex: 0,
      rewriteRequestUrls: true,
      vhosts: [],
    });
    const labelled = serviceRouteOf(
      app('/prod/jenkins', {
        DCOS_SERVICE_NAME: 'jenkins',
        DCOS_SERVICE_PORT_INDEX: '1',
        DCOS_SERVICE_SCHEME: 'HTTPS',
        DCOS_SERVICE_REWRITE_REQUEST_URLS: 'false',
        HAPROXY_0_VHOST: 'CI.example.com, ci.example.com:80 ,build.example.com.',
      }),
      [task('/prod/jenkins', [31000, 31001])],
    );
    expect(labelled).toMatchObject({
      serviceName: 'jenkins',
      path: '/service/jenkins/',
      scheme: 'https',
      portIndex: 1,
      rewriteRequestUrls: false,
      vhosts: ['ci.example.com', 'build.example.com'],
    });
    expect(labelled.endpoints.map((e) => e.port)).toEqual([31001]);
    expect(labelled.vhostEndpoints.map((e) => e.port)).toEqual([31000]);
  });

  it('ignores a service name with a slash and a bad port index', () => {
    const r = serviceRouteOf(app('/a/b', { DCOS_SERVICE_NAME: 'a/b', DCOS_SERVICE_PORT_INDEX: 'x' }), []);
    expect(r.serviceName).toBeNull();
    expect(r.portIndex).toBe(0);
    expect(r.path).toBe('/service/a/b/');
  });

  it('balances over running tasks only, and only healthy ones when the app has health checks', () => {
    const tasks = [
      task('/web', [1001]),
      task('/web', [1002], { state: 'TASK_STAGING' }),
      task('/web', [1003], { killRequestedAt: new Date() }),
      task('/web', [], {}),
      task('/other', [1004]),
    ];
    expect(serviceRouteOf(app('/web'), tasks).endpoints.map((e) => e.port)).toEqual([1001]);

    const checked = app('/api', {}, { healthChecks: [{ protocol: 'HTTP' }] });
    const apiTasks = [
      task('/api', [2001], { healthy: true }),
      task('/api', [2002], { healthy: false }),
      task('/api', [2003], { healthy: null }),
    ];
    expect(serviceRouteOf(checked, apiTasks).endpoints.map((e) => e.port)).toEqual([2001]);
  });

  it('finds a path by DCOS_SERVICE_NAME first, then by the longest app id', () => {
    const table = buildRoutingTable(
      [app('/tools/web', { DCOS_SERVICE_NAME: 'web' }), app('/group'), app('/group/app'), app('/web')],
      [],
    );
    const named = matchServicePath(table, 'web/index.html');
    expect(named).toMatchObject({ prefix: '/service/web', rest: '/index.html' });
    expect(named!.route.appId).toBe('/tools/web');

    const nested = matchServicePath(table, 'group/app/x/y');
    expect(nested!.route.appId).toBe('/group/app');
    expect(nested).toMatchObject({ prefix: '/service/group/app', rest: '/x/y' });

    expect(matchServicePath(table, 'group/app/')).toMatchObject({ prefix: '/service/group/app', rest: '/' });
    expect(matchServicePath(table, 'group/app')).toMatchObject({ prefix: '/service/group/app', rest: '' });
    expect(matchServicePath(table, 'group/other/x')!.route.appId).toBe('/group');
    expect(matchServicePath(table, 'tools/web/')!.route.appId).toBe('/tools/web');
    expect(matchServicePath(table, 'nothing/')).toBeNull();
    expect(matchServicePath(table, '')).toBeNull();
  });

  it('gives a duplicated name or vhost to the first app by id', () => {
    const table = buildRoutingTable(
      [
        app('/b', { DCOS_SERVICE_NAME: 'x', HAPROXY_0_VHOST: 'x.test' }),
        app('/a', { DCOS_SERVICE_NAME: 'x', HAPROXY_0_VHOST: 'x.test' }),
      ],
      [],
    );
    expect(table.byName.get('x')!.appId).toBe('/a');
    expect(table.byHost.get('x.test')!.appId).toBe('/a');
  });

  it('strips the prefix unless DCOS_SERVICE_REWRITE_REQUEST_URLS is false', () => {
    const table = buildRoutingTable(
      [
        app('/a', { DCOS_SERVICE_NAME: 'a' }),
        app('/b', { DCOS_SERVICE_NAME: 'b', DCOS_SERVICE_REWRITE_REQUEST_URLS: 'false' }),
      ],
      [],
    );
    expect(upstreamPath(matchServicePath(table, 'a/x/y')!, 'q=1')).toBe('/x/y?q=1');
    expect(upstreamPath(matchServicePath(table, 'a/')!, '')).toBe('/');
    expect(upstreamPath(matchServicePath(table, 'b/x')!, '')).toBe('/service/b/x');
    expect(upstreamPath(matchServicePath(table, 'b/')!, 'a=b')).toBe('/service/b/?a=b');
  });

  it('normalises hosts and vhost lists', () => {
    expect(normalizeHost('Web.Example.TEST:8080')).toBe('web.example.test');
    expect(normalizeHost('[::1]:80')).toBe('[::1]');
    expect(normalizeHost(undefined)).toBe('');
    expect(parseVhosts(' a.test ,, B.test,a.test ')).toEqual(['a.test', 'b.test']);
    expect(requestedServiceName('my%20svc/x')).toBe('my svc');
  });

  it('links a service with a name, a vhost or a web port, and nothing else', () => {
    expect(serviceLinkOf(app('/web', { DCOS_SERVICE_NAME: 'web' }))).toEqual({
      name: 'web',
      path: '/service/web/',
      vhosts: [],
    });
    expect(serviceLinkOf(app('/g/site', { HAPROXY_0_VHOST: 'site.test' }))).toEqual({
      name: 'g/site',
      path: '/service/g/site/',
      vhosts: ['site.test'],
    });
    expect(serviceLinkOf(app('/ui', {}, { portDefinitions: [{ name: 'http' }] }))).toMatchObject({
      path: '/service/ui/',
    });
    expect(serviceLinkOf(app('/db', {}, { portDefinitions: [{ name: 'postgres' }] }))).toBeNull();
    expect(serviceLinkOf(app('/worker'))).toBeNull();
  });
});

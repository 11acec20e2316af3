import type { Services } from '@atoll/api';
import type { FastifyInstance } from 'fastify';

/**
 * Mesos-DNS's HTTP API (`/v1/hosts/{host}`, `/v1/services/{service}`, `/v1/enumerate`,
 * `/v1/version`, `/v1/config`), answered from the same view as the DNS servers. Behind the same
 * login as the rest of control's API (DC/OS put it behind Admin Router too).
 */
export function registerMesosDnsRoutes(
  app: FastifyInstance,
  s: Services,
  info: () => { port: number | null },
): void {
  // What any task can ask the cluster's DNS server anyway: readable in every scope.
  const dnsRoute = { config: { access: 'read', scope: 'cluster' } } as const;
  app.get('/v1/version', dnsRoute, async () => ({
    Service: 'Mesos-DNS',
    URL: 'https://github.com/mesosphere/mesos-dns',
    Version: `atoll-${s.config.version}`,
  }));

  app.get('/v1/config', dnsRoute, async () => ({
    Domain: 'mesos',
    AtollSuffix: s.dns.view.suffix,
    TTL: s.dns.view.ttl,
    Port: info().port,
    HTTPOn: true,
    ExternalOn: true,
  }));

  app.get('/v1/hosts/:host', dnsRoute, async (req) => {
    const { host } = req.params as { host: string };
    const found = s.dns.resolve(host, 'A');
    if (found.kind !== 'a') return [{ host: '', ip: '' }];
    return found.addresses.map((ip) => ({ host: `${found.name}.`, ip }));
  });

  app.get('/v1/services/:service', dnsRoute, async (req) => {
    const { service } = req.params as { service: string };
    const found = s.dns.resolve(service, 'SRV');
    if (found.kind !== 'srv') return [{ service: '', host: '', ip: '', port: '' }];
    return found.targets.flatMap((t) =>
      (t.addresses.length > 0 ? t.addresses : ['']).map((ip) => ({
        service: found.name,
        host: `${t.target}.`,
        ip,
        port: String(t.port),
      })),
    );
  });

  app.get('/v1/enumerate', dnsRoute, async () => {
    const view = s.dns.view;
    const records = [
      ...Object.entries(view.a).flatMap(([name, ips]) =>
        ips.map((host) => ({ name: `${name}.`, host, rtype: 'A' })),
      ),
      ...Object.entries(view.srv).flatMap(([name, ts]) =>
        ts.map((t) => ({ name: `${name}.`, host: `${t.target}:${t.port}`, rtype: 'SRV' })),
      ),
    ];
    return { frameworks: [{ frameworkname: 'marathon', tasks: [{ name: 'all', id: 'all', records }] }] };
  });
}

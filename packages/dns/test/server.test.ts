import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildView, startDnsServer, type DnsServer, type DnsView } from '../src';

const run = promisify(execFile);
const DIG = '/usr/bin/dig';
const missing = !existsSync(DIG);
if (missing) {
  if (process.env.CI) throw new Error('dig (Debian dnsutils) missing in CI');
  console.warn('\n!!! SKIPPING DNS server tests: no dig (apt install dnsutils)\n');
}

/** A real resolver (dig) against the server over UDP and TCP; an upstream of our own for forwarding. */
describe.skipIf(missing)('the DNS server', () => {
  let upstream: DnsServer;
  let server: DnsServer;
  let view: DnsView = buildView({
    apps: [{ id: '/prod/web', hasHealthChecks: false }],
    tasks: [
      {
        id: 'prod_web.aaaaa',
        appId: '/prod/web',
        ip: '10.1.0.1',
        nodeId: 'n1',
        running: true,
        healthy: null,
        ports: [{ hostPort: 31005 }],
      },
    ],
    controlIps: ['10.1.0.9'],
  });
  const dig = async (args: string[]) =>
    (await run(DIG, ['@127.0.0.1', '-p', String(server.port), '+time=2', '+tries=1', ...args])).stdout;

  beforeAll(async () => {
    upstream = await startDnsServer({
      view: () => buildView({ apps: [], tasks: [], controlIps: ['192.0.2.7'], suffix: 'example' }),
      upstreams: [],
      address: '127.0.0.1',
      port: 0,
    });
    server = await startDnsServer({
      view: () => view,
      upstreams: [`127.0.0.1:${upstream.port}`],
      address: '127.0.0.1',
      port: 0,
    });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  it('answers A over UDP and TCP with the view’s TTL, authoritatively', async () => {
    const out = await dig(['web-prod.marathon.mesos', 'A', '+noall', '+answer', '+comments']);
    expect(out).toMatch(/web-prod\.marathon\.mesos\.\s+5\s+IN\s+A\s+10\.1\.0\.1/);
    expect(out).toMatch(/flags: qr aa rd ra/);
    expect((await dig(['+tcp', '+short', 'web.prod.atoll'])).trim()).toBe('10.1.0.1');
    expect((await dig(['+short', 'leader.mesos'])).trim()).toBe('10.1.0.9');
  });

  it('answers SRV with the host port and the target’s address as additional', async () => {
    const out = await dig(['_web-prod._tcp.marathon.mesos', 'SRV', '+noall', '+answer', '+additional']);
    expect(out).toMatch(
      /_web-prod\._tcp\.marathon\.mesos\.\s+5\s+IN\s+SRV\s+0 0 31005 web-prod-aaaaa-n1\.marathon\.mesos\./,
    );
    expect(out).toMatch(/web-prod-aaaaa-n1\.marathon\.mesos\.\s+5\s+IN\s+A\s+10\.1\.0\.1/);
  });

  it('answers NXDOMAIN for an unknown cluster name, and a new view at once', async () => {
    expect(await dig(['nope.marathon.mesos'])).toMatch(/status: NXDOMAIN/);
    view = buildView({
      apps: [{ id: '/nope', hasHealthChecks: false }],
      tasks: [
        {
          id: 'nope.x',
          appId: '/nope',
          ip: '10.1.0.2',
          nodeId: 'n',
          running: true,
          healthy: null,
          ports: [],
        },
      ],
      controlIps: [],
    });
    expect((await dig(['+short', 'nope.marathon.mesos'])).trim()).toBe('10.1.0.2');
  });

  it('forwards other names to the upstream resolver', async () => {
    expect((await dig(['+short', 'leader.example'])).trim()).toBe('192.0.2.7');
  });
});

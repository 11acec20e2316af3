import { describe, expect, it } from 'vitest';
import { formatAnswer } from './dns';

describe('atoll dns output', () => {
  it('prints A and SRV records as tables and says why there is none', () => {
    expect(
      formatAnswer({ kind: 'a', name: 'web.marathon.mesos', addresses: ['10.0.0.1', '10.0.0.2'] }),
    ).toMatch(/web\.marathon\.mesos\s+A\s+10\.0\.0\.1\n.*10\.0\.0\.2/);
    expect(
      formatAnswer({
        kind: 'srv',
        name: '_web._tcp.marathon.mesos',
        targets: [{ target: 'web-a-b.marathon.mesos', port: 31000, addresses: ['10.0.0.1'] }],
      }),
    ).toMatch(/SRV\s+web-a-b\.marathon\.mesos\s+31000\s+10\.0\.0\.1/);
    expect(formatAnswer({ kind: 'nxdomain', name: 'x.marathon.mesos' })).toContain('NXDOMAIN');
    expect(formatAnswer({ kind: 'forward', name: 'example.org' })).toContain('forward');
  });
});

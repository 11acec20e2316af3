import { describe, expect, it } from 'vitest';
import { formatVips, type VipRow } from './vip';

const row = (over: Partial<VipRow> = {}): VipRow => ({
  name: 'web',
  ip: '11.0.0.1',
  port: 80,
  protocol: 'tcp',
  appId: '/web',
  appIds: ['/web'],
  mode: 'userspace',
  backends: [
    { taskId: 'a', host: '10.0.0.1', port: 31000, healthy: true, activeConnections: 1, totalConnections: 10 },
    { taskId: 'b', host: '10.0.0.2', port: 31001, healthy: false, activeConnections: 0, totalConnections: 2 },
  ],
  activeConnections: 1,
  totalConnections: 12,
  errors: 1,
  failedConnections: 0,
  ...over,
});

describe('atoll vip list output', () => {
  it('prints one line per VIP and the balancing mode', () => {
    const out = formatVips([
      row(),
      row({ name: null, ip: '10.9.9.9', port: 53, protocol: 'udp', backends: [] }),
    ]);
    expect(out).toMatch(/NAME\s+VIP\s+APP\s+BACKENDS\s+CONNECTIONS\s+ERRORS/);
    expect(out).toMatch(/\/web\s+11\.0\.0\.1:80\s+\/web\s+1 of 2 healthy\s+1 open, 12 total\s+1/);
    expect(out).toMatch(/-\s+10\.9\.9\.9:53\/udp/);
    expect(out).toMatch(/balancing: userspace$/);
  });

  it('says how to get a VIP when there is none', () => {
    expect(formatVips([])).toContain('VIP_0');
  });
});

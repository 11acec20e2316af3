import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressPermissionError } from './loopback';
import { MODE_USERSPACE, MODE_USERSPACE_IPVS_UNUSED, VipManager } from './manager';

const log = pino({ level: 'silent' });
const isRoot = process.getuid?.() === 0;
/** Addresses from the benchmarking range (198.18.0.0/15), away from the VIP range tests use. */
const IP = `198.18.${Math.floor(Math.random() * 200) + 20}.${Math.floor(Math.random() * 200) + 20}`;

const loAddresses = () => execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo']).toString();

async function server(name: string): Promise<net.Server> {
  const s = net.createServer((c) => c.end(name));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}

function fetchName(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let data = '';
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.on('end', () => resolve(data));
    s.on('error', () => resolve(null));
  });
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('VipManager', () => {
  it('reports the mode from the kernel: userspace, and says when IPVS is there but unused', async () => {
    const plain = new VipManager({ strategy: 'round-robin', log, ipvs: async () => false });
    await plain.start();
    expect(plain.mode).toBe(MODE_USERSPACE);
    const withIpvs = new VipManager({ strategy: 'round-robin', log, ipvs: async () => true });
    await withIpvs.start();
    expect(withIpvs.mode).toBe(MODE_USERSPACE_IPVS_UNUSED);
    const off = new VipManager({ strategy: 'round-robin', log, disabled: true });
    await off.start();
    await off.apply([{ name: 'x', ip: IP, port: 80, protocol: 'tcp', appIds: ['/x'], backends: [] }]);
    expect(off.mode).toMatch(/^off/);
    expect(off.stats().vips).toEqual([]);
  });

  it('without permission to add addresses it turns itself off and says why', async () => {
    const m = new VipManager({
      strategy: 'round-robin',
      log,
      ipvs: async () => false,
      addresses: {
        add: () => Promise.reject(new AddressPermissionError('RTNETLINK answers: Operation not permitted')),
        remove: () => Promise.resolve(),
      },
    });
    await m.start();
    await m.apply([{ name: 'x', ip: IP, port: 80, protocol: 'tcp', appIds: ['/x'], backends: [] }]);
    expect(m.mode).toMatch(/^off: no permission/);
    expect(m.active).toBe(false);
  });

  it.skipIf(!isRoot)(
    'puts the VIP on lo, balances, follows view changes and removes the address',
    async () => {
      const a = await server('a');
      const b = await server('b');
      cleanups.push(
        () => void a.close(),
        () => void b.close(),
      );
      const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
      const m = new VipManager({ strategy: 'round-robin', log, ipvs: async () => false });
      cleanups.push(() => m.stop());
      await m.start();
      const vip = (backends: net.Server[]) => ({
        name: 'web',
        ip: IP,
        port: 8080,
        protocol: 'tcp' as const,
        appIds: ['/web'],
        backends: backends.map((s, i) => ({ taskId: `t${i}`, host: '127.0.0.1', port: port(s) })),
      });
      await m.apply([vip([a, b]), { ...vip([a]), protocol: 'udp' }]);
      expect(loAddresses()).toContain(`${IP}/32`);
      const got = [];
      for (let i = 0; i < 4; i++) got.push(await fetchName(IP, 8080));
      expect(got.sort()).toEqual(['a', 'a', 'b', 'b']);
      expect(m.stats().vips).toEqual([
        expect.objectContaining({
          ip: IP,
          port: 8080,
          protocol: 'tcp',
          failed: 0,
          backends: expect.any(Array),
        }),
      ]);

      await m.apply([vip([b])]);
      expect(await fetchName(IP, 8080)).toBe('b');

      await m.apply([]);
      expect(loAddresses()).not.toContain(`${IP}/32`);
      expect(m.active).toBe(false);

      await m.apply([vip([a])]);
      expect(await fetchName(IP, 8080)).toBe('a');
      await m.stop();
      expect(loAddresses()).not.toContain(`${IP}/32`);
    },
  );
});

describe.skipIf(!isRoot)('VipManager after a crash', () => {
  it('removes the addresses a previous run recorded and left on lo', async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atoll-vip-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const stateFile = path.join(dir, 'vip-addresses.json');
    execFileSync('ip', ['addr', 'add', `${IP}/32`, 'dev', 'lo']);
    cleanups.push(() => {
      if (loAddresses().includes(`${IP}/32`)) execFileSync('ip', ['addr', 'del', `${IP}/32`, 'dev', 'lo']);
    });
    await writeFile(stateFile, JSON.stringify([IP]));
    const m = new VipManager({ strategy: 'round-robin', log, ipvs: async () => false, stateFile });
    await m.start();
    expect(loAddresses()).not.toContain(`${IP}/32`);
    await m.stop();
  });
});

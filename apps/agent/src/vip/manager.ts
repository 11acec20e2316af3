import { readFile, rename, writeFile } from 'node:fs/promises';
import type { VipEntry, VipStatsMessage } from '@atoll/spec';
import type { Logger } from '../logger';
import type { BalanceStrategy } from './balancer';
import { AddressPermissionError, ipvsAvailable, iprouteAddresses, type AddressCommands } from './loopback';
import { VipProxy } from './proxy';

export interface VipManagerOptions {
  strategy: BalanceStrategy;
  log: Logger;
  /** How VIP addresses are put on the host (default: `ip addr … dev lo`). */
  addresses?: AddressCommands;
  /** Whether the kernel has IPVS (default: /proc/net/ip_vs exists). */
  ipvs?: () => Promise<boolean>;
  connectTimeoutMs?: number;
  /** Off by configuration (ATOLL_VIP=off): the view is accepted and nothing is balanced. */
  disabled?: boolean;
  /**
   * Where the addresses the agent added are recorded, so a restart after a crash removes the ones
   * it left behind (they would otherwise look like the host's own and stay forever).
   */
  stateFile?: string;
}

export const MODE_USERSPACE = 'userspace';
export const MODE_USERSPACE_IPVS_UNUSED = 'userspace (ipvs available, not used)';

/**
 * The node's layer-4 load balancer (DC/OS's Minuteman): for every TCP VIP in control's view, the
 * VIP address on `lo` and a userspace proxy listening on `ip:port` that balances over the VIP's
 * backends. Processes on the host reach the address directly; containers on the Docker bridge reach
 * it through the host (their default route), which holds the address. Views are applied one at a
 * time, in order; addresses the agent added are removed when their last VIP goes and on stop.
 *
 * UDP VIPs are not balanced (logged once per VIP). Without permission to add addresses (not root,
 * no CAP_NET_ADMIN) the manager says so once and stays off; the agent keeps running.
 */
export class VipManager {
  private readonly proxies = new Map<string, VipProxy>();
  /** VIP addresses on the host, and whether the agent added them (and so removes them). */
  private readonly addresses = new Map<string, { owned: boolean }>();
  private readonly warnedUdp = new Set<string>();
  private readonly addressCommands: AddressCommands;
  private chain: Promise<void> = Promise.resolve();
  private modeText: string;
  private off: boolean;
  private stopped = false;
  private view: VipEntry[] = [];

  constructor(private readonly opts: VipManagerOptions) {
    this.addressCommands = opts.addresses ?? iprouteAddresses('lo');
    this.off = opts.disabled === true;
    this.modeText = this.off ? 'off (ATOLL_VIP=off)' : MODE_USERSPACE;
  }

  /** How VIPs are balanced on this node: 'userspace', 'userspace (ipvs available, not used)' or 'off: …'. */
  get mode(): string {
    return this.modeText;
  }

  /** Detects the mode (IPVS present or not) and logs it. */
  async start(): Promise<void> {
    if (this.off) {
      this.opts.log.info('VIP load balancing is off (ATOLL_VIP=off)');
      return;
    }
    await this.removeLeftovers();
    const ipvs = await (this.opts.ipvs ?? (() => ipvsAvailable()))();
    this.modeText = ipvs ? MODE_USERSPACE_IPVS_UNUSED : MODE_USERSPACE;
    this.opts.log.info(
      { mode: this.modeText, strategy: this.opts.strategy },
      ipvs
        ? 'VIP load balancing: userspace proxy (the kernel has IPVS; Atoll does not program it yet)'
        : 'VIP load balancing: userspace proxy (the kernel has no IPVS)',
    );
  }

  /** Applies a view from control (queued behind any earlier one). */
  apply(vips: VipEntry[]): Promise<void> {
    this.view = vips;
    const next = this.chain
      .then(() => this.reconcile())
      .catch((err: unknown) => this.opts.log.error({ err }, 'applying the VIP view failed'));
    this.chain = next;
    return next;
  }

  /** The counters of every VIP balanced here. */
  stats(at = new Date()): VipStatsMessage {
    return {
      type: 'vipStats',
      at: at.toISOString(),
      mode: this.modeText,
      vips: [...this.proxies.values()].map((p) => ({
        ip: p.ip,
        port: p.port,
        protocol: 'tcp' as const,
        ...p.stats(),
      })),
    };
  }

  /** Whether any VIP is balanced here now. */
  get active(): boolean {
    return this.proxies.size > 0;
  }

  /** Closes every proxy and removes the addresses the agent added. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.view = [];
    this.chain = this.chain.then(() => this.teardown());
    await this.chain;
  }

  /** Addresses a previous run added and did not remove (it crashed): removed now. */
  private async removeLeftovers(): Promise<void> {
    if (!this.opts.stateFile) return;
    let recorded: unknown;
    try {
      recorded = JSON.parse(await readFile(this.opts.stateFile, 'utf8'));
    } catch {
      return;
    }
    const ips = Array.isArray(recorded) ? recorded.filter((x): x is string => typeof x === 'string') : [];
    for (const ip of ips) {
      await this.addressCommands
        .remove(ip)
        .catch((err: unknown) => this.opts.log.warn({ err, ip }, 'removing a left-over VIP address failed'));
    }
    if (ips.length > 0) this.opts.log.info({ ips }, 'removed VIP addresses a previous run left on lo');
    await this.saveOwned();
  }

  private async saveOwned(): Promise<void> {
    if (!this.opts.stateFile) return;
    const owned = [...this.addresses].filter(([, a]) => a.owned).map(([ip]) => ip);
    try {
      await writeFile(`${this.opts.stateFile}.tmp`, JSON.stringify(owned), { mode: 0o600 });
      await rename(`${this.opts.stateFile}.tmp`, this.opts.stateFile);
    } catch (err) {
      this.opts.log.warn({ err }, 'recording the VIP addresses failed');
    }
  }

  private async teardown(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    this.proxies.clear();
    for (const [ip, a] of this.addresses) {
      if (a.owned) {
        await this.addressCommands
          .remove(ip)
          .catch((err: unknown) => this.opts.log.warn({ err, ip }, 'removing a VIP address failed'));
      }
    }
    this.addresses.clear();
    await this.saveOwned();
  }

  private async reconcile(): Promise<void> {
    if (this.off) return;
    const wanted = new Map<string, VipEntry>();
    for (const v of this.stopped ? [] : this.view) {
      const key = `${v.ip}:${v.port}`;
      if (v.protocol !== 'tcp') {
        if (!this.warnedUdp.has(key)) {
          this.warnedUdp.add(key);
          this.opts.log.warn(
            { vip: key, name: v.name },
            'UDP VIPs are not balanced by this agent (TCP only); the VIP is skipped',
          );
        }
        continue;
      }
      wanted.set(key, v);
    }

    // Gone VIPs first, so their ports and addresses are free for new ones.
    for (const [key, proxy] of this.proxies) {
      if (wanted.has(key)) continue;
      this.proxies.delete(key);
      await proxy.close();
      this.opts.log.info({ vip: key }, 'VIP removed');
    }
    const ips = new Set([...wanted.values()].map((v) => v.ip));
    for (const [ip, a] of this.addresses) {
      if (ips.has(ip)) continue;
      this.addresses.delete(ip);
      if (a.owned) {
        await this.addressCommands
          .remove(ip)
          .catch((err: unknown) => this.opts.log.warn({ err, ip }, 'removing a VIP address failed'));
      }
    }

    for (const ip of ips) {
      if (this.addresses.has(ip)) continue;
      try {
        const r = await this.addressCommands.add(ip);
        this.addresses.set(ip, { owned: r === 'added' });
      } catch (err) {
        if (err instanceof AddressPermissionError) {
          this.off = true;
          this.modeText =
            'off: no permission to add VIP addresses (run the agent as root or with CAP_NET_ADMIN)';
          this.opts.log.warn(
            { err: err.message },
            'VIPs are off: the agent may not add addresses to lo (it needs root or CAP_NET_ADMIN); everything else keeps working',
          );
          await this.teardown();
          return;
        }
        this.opts.log.warn({ err, ip }, 'adding a VIP address failed; its VIPs are skipped');
      }
    }

    await this.saveOwned();

    for (const [key, v] of wanted) {
      if (!this.addresses.has(v.ip)) continue;
      let proxy = this.proxies.get(key);
      if (!proxy) {
        const created = new VipProxy(v.ip, v.port, {
          strategy: this.opts.strategy,
          ...(this.opts.connectTimeoutMs !== undefined
            ? { connectTimeoutMs: this.opts.connectTimeoutMs }
            : {}),
          onBackendError: (b, err) =>
            this.opts.log.debug(
              { vip: key, backend: `${b.host}:${b.port}`, err: err.message },
              'VIP backend failed; retrying the next',
            ),
        });
        try {
          await created.listen();
        } catch (err) {
          this.opts.log.warn(
            { err, vip: key },
            'listening on a VIP failed (is the address:port taken?); the VIP is skipped',
          );
          await created.close().catch(() => undefined);
          continue;
        }
        proxy = created;
        this.proxies.set(key, proxy);
        this.opts.log.info({ vip: key, name: v.name, backends: v.backends.length }, 'VIP balancing');
      }
      proxy.setBackends(v.backends);
    }
  }
}

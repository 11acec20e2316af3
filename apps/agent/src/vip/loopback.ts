import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';

export interface AddressCommands {
  /** Adds `ip/32` to the device; 'present' when the host already had it (then it is not ours to remove). */
  add(ip: string): Promise<'added' | 'present'>;
  remove(ip: string): Promise<void>;
}

/** Thrown when the agent may not change the host's addresses (not root, no CAP_NET_ADMIN). */
export class AddressPermissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressPermissionError';
  }
}

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const text = `${String(stderr).trim() || err.message}`;
      if (/not permitted|permission denied/i.test(text)) reject(new AddressPermissionError(text));
      else if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        reject(new Error('the `ip` command (iproute2) is not installed'));
      else reject(new Error(`ip ${args.join(' ')}: ${text}`));
    });
  });
}

/** VIP addresses on a device of the host (`lo` by default) through iproute2's `ip addr`. */
export function iprouteAddresses(device = 'lo'): AddressCommands {
  return {
    async add(address) {
      try {
        await ip(['addr', 'add', `${address}/32`, 'dev', device]);
        return 'added';
      } catch (err) {
        if (err instanceof Error && /File exists|already assigned/i.test(err.message)) return 'present';
        throw err;
      }
    },
    async remove(address) {
      try {
        await ip(['addr', 'del', `${address}/32`, 'dev', device]);
      } catch (err) {
        if (err instanceof Error && /Cannot assign requested address|not found/i.test(err.message)) return;
        throw err;
      }
    },
  };
}

/** Whether the kernel has IPVS (the ip_vs module loaded or built in). */
export async function ipvsAvailable(procFile = '/proc/net/ip_vs'): Promise<boolean> {
  try {
    await access(procFile);
    return true;
  } catch {
    return false;
  }
}

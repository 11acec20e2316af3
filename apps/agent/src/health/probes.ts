import type { HealthCheckSpec, ReadinessCheckSpec } from '@atoll/spec';
import { commandProbe, type CommandRunner } from './command';
import { httpGet, httpHealthVerdict } from './http';
import type { ReadinessCheckResult } from './readiness';
import { readyStatus } from './readiness';
import type { ProbeOutcome } from './state';
import { tcpConnect } from './tcp';

export interface ProbeTarget {
  /** Host port to probe at 127.0.0.1 (network checks); undefined when none could be resolved. */
  port: number | undefined;
  timeoutMs: number;
}

/** One probe of a check. Implementations never reject. */
export interface Probes {
  health(check: HealthCheckSpec, target: ProbeTarget): Promise<ProbeOutcome>;
  readiness(check: ReadinessCheckSpec, target: ProbeTarget): Promise<ReadinessCheckResult>;
}

/** The real probers: HTTP(S) and TCP against 127.0.0.1, COMMAND through the task's runtime. */
export function createProbes(runCommand: CommandRunner, host = '127.0.0.1'): Probes {
  return {
    async health(check, target) {
      if (check.protocol === 'COMMAND') {
        if (!check.command) return { kind: 'unhealthy', message: 'COMMAND health check without a command' };
        const r = await commandProbe(runCommand, check.command, target.timeoutMs);
        return r.ok ? { kind: 'healthy' } : { kind: 'unhealthy', message: r.error };
      }
      if (target.port === undefined)
        return { kind: 'unhealthy', message: `${check.protocol} health check has no port to probe` };
      if (check.protocol === 'TCP' || check.protocol === 'MESOS_TCP') {
        const r = await tcpConnect(target.port, target.timeoutMs, host);
        return r.ok ? { kind: 'healthy' } : { kind: 'unhealthy', message: r.error };
      }
      const scheme = check.protocol === 'HTTPS' || check.protocol === 'MESOS_HTTPS' ? 'https' : 'http';
      const r = await httpGet({
        scheme,
        port: target.port,
        path: check.path,
        timeoutMs: target.timeoutMs,
        host,
      });
      if (!r.ok) {
        if (check.ignoreHttp1xx && r.informational !== undefined)
          return { kind: 'ignored', message: `HTTP ${r.informational} without a final response` };
        return { kind: 'unhealthy', message: r.error };
      }
      const verdict = httpHealthVerdict(r.status, check.ignoreHttp1xx);
      if (verdict === 'healthy') return { kind: 'healthy' };
      if (verdict === 'ignored') return { kind: 'ignored', message: `HTTP ${r.status}` };
      return { kind: 'unhealthy', message: `HTTP ${r.status}` };
    },

    async readiness(check, target) {
      if (target.port === undefined)
        return { name: check.name, ready: false, error: 'readiness check has no port to probe' };
      const r = await httpGet({
        scheme: check.protocol === 'HTTPS' ? 'https' : 'http',
        port: target.port,
        path: check.path,
        timeoutMs: target.timeoutMs,
        host,
      });
      if (!r.ok) return { name: check.name, ready: false, error: r.error };
      return {
        name: check.name,
        ready: readyStatus(r.status, check.httpStatusCodesForReady),
        lastResponse: { status: r.status },
      };
    },
  };
}

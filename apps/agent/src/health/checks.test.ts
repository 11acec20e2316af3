import { describe, expect, it } from 'vitest';
import { absolutePath, parseTaskChecks, probePort, taskChecksOf } from './checks';
import { healthCheckSpecSchema, taskSpecSchema } from '@atoll/spec';

const hc = healthCheckSpecSchema.parse({
  protocol: 'HTTP',
  path: '/health',
  port: 31000,
  gracePeriodSeconds: 5,
  intervalSeconds: 1,
  timeoutSeconds: 1,
  maxConsecutiveFailures: 2,
});

describe('task checks', () => {
  it('takes the checks of a spec, and nothing when it has none', () => {
    const base = {
      taskId: 't1',
      appId: '/a',
      appVersion: 'v1',
      env: {},
      cpus: 0,
      mem: 0,
      disk: 0,
      network: 'host',
      ports: [],
      labels: {},
      killGracePeriodSeconds: 7,
    };
    expect(taskChecksOf(taskSpecSchema.parse(base))).toBeUndefined();
    expect(taskChecksOf(taskSpecSchema.parse({ ...base, healthChecks: [hc] }))).toEqual({
      healthChecks: [hc],
      readinessChecks: [],
      killGracePeriodSeconds: 7,
    });
  });

  it('parses persisted checks and refuses garbage', () => {
    const checks = { healthChecks: [hc], readinessChecks: [], killGracePeriodSeconds: 1 };
    expect(parseTaskChecks(JSON.stringify(checks))).toEqual(checks);
    expect(parseTaskChecks(checks)).toEqual(checks);
    expect(parseTaskChecks('{not json')).toBeUndefined();
    expect(parseTaskChecks(JSON.stringify({ healthChecks: [{ protocol: 'GOPHER' }] }))).toBeUndefined();
    expect(parseTaskChecks(JSON.stringify({ healthChecks: [], readinessChecks: [] }))).toBeUndefined();
  });

  it('probes the resolved port, or the first bound port when control left it at 0', () => {
    const ports = [{ hostPort: 32001, containerPort: 80, protocol: 'tcp' }];
    expect(probePort({ port: 31000 }, ports)).toBe(31000);
    expect(probePort({ port: 0 }, ports)).toBe(32001);
    expect(probePort({ port: undefined }, ports)).toBe(32001);
    expect(probePort({ port: 0 }, [])).toBeUndefined();
  });

  it('gives a path a leading slash', () => {
    expect(absolutePath('health')).toBe('/health');
    expect(absolutePath('/health')).toBe('/health');
    expect(absolutePath(undefined)).toBe('/');
  });
});

import { describe, expect, it } from 'vitest';
import { CliError } from '../errors';
import { matchDeploymentId, outcomeOf } from './deployment';

const a = { id: '6b1c2f1e-0000-4000-8000-000000000001' };
const b = { id: '6b1d0000-0000-4000-8000-000000000002' };

describe('matchDeploymentId', () => {
  it('takes a full id or a unique beginning of a running one', () => {
    expect(matchDeploymentId([a, b], a.id)).toBe(a.id);
    expect(matchDeploymentId([a, b], '6B1C')).toBe(a.id);
    expect(matchDeploymentId([a, b], '6b1d')).toBe(b.id);
  });

  it('passes anything else on as is', () => {
    expect(matchDeploymentId([a], 'ffff')).toBe('ffff');
    expect(matchDeploymentId([], a.id)).toBe(a.id);
    expect(matchDeploymentId([a], '')).toBe('');
  });

  it('refuses an ambiguous beginning', () => {
    expect(() => matchDeploymentId([a, b], '6b1')).toThrow(CliError);
    expect(() => matchDeploymentId([a, b], '6b1')).toThrow(/matches several deployments/);
  });
});

describe('outcomeOf', () => {
  it('reads deployment_success and deployment_failed, with its reason', () => {
    expect(outcomeOf({ eventType: 'deployment_success', data: { id: 'd', affectedApps: ['/a'] } })).toEqual({
      id: 'd',
      ok: true,
    });
    expect(outcomeOf({ eventType: 'deployment_failed', data: { id: 'd', reason: 'stopped' } })).toEqual({
      id: 'd',
      ok: false,
      reason: 'stopped',
    });
    expect(outcomeOf({ eventType: 'deployment_failed', data: { id: 'd' } })?.reason).toBe('failed');
  });

  it('is null for other events', () => {
    expect(outcomeOf({ eventType: 'deployment_info', data: { id: 'd' } })).toBeNull();
    expect(outcomeOf({ eventType: 'deployment_success', data: {} })).toBeNull();
  });
});

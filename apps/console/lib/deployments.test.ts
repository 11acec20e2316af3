import { describe, expect, it } from 'vitest';
import { actionLabel, deploymentsOf, isLockMessage, progressLabel, progressPercent } from './deployments';

describe('deployments helpers', () => {
  it('recognises the lock message', () => {
    expect(
      isLockMessage(
        "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/x'.",
      ),
    ).toBe(true);
    expect(isLockMessage('An app with id [/x] already exists.')).toBe(false);
  });

  it('names actions in words', () => {
    expect(actionLabel('RestartApplication')).toBe('Restart');
    expect(actionLabel('SomethingNewHere')).toBe('Something New Here');
  });

  it('measures progress on the wanted instances', () => {
    expect(progressPercent({ appId: '/a', instances: 4, updated: 1, old: 3, healthy: 4 })).toBe(25);
    expect(progressPercent({ appId: '/a', instances: 0, updated: 0, old: 2, healthy: 0 })).toBe(0);
    expect(progressPercent({ appId: '/a', instances: 0, updated: 0, old: 0, healthy: 0 })).toBe(100);
    expect(progressLabel({ appId: '/a', instances: 2, updated: 1, old: 1, healthy: 2 })).toBe(
      '1 of 2 updated · 1 old task remaining',
    );
    expect(progressLabel({ appId: '/a', instances: 2, updated: 2, old: 0, healthy: 2 })).toBe(
      '2 of 2 updated',
    );
  });

  it('filters deployments by affected app', () => {
    const list = [
      { id: '1', affectedApps: ['/a'] },
      { id: '2', affectedApps: ['/b', '/a'] },
      { id: '3', affectedApps: ['/b'] },
    ];
    expect(deploymentsOf(list, '/a').map((d) => d.id)).toEqual(['1', '2']);
  });
});

import { describe, expect, it } from 'vitest';
import type { AuthUser } from '../context';
import {
  assertAccess,
  assertInScope,
  filterVisible,
  inScope,
  jobPath,
  roleAllows,
  scopeOf,
  visibleTo,
  withActor,
} from './access';

const user = (role: string, scope: string | null = null): AuthUser => ({
  id: 'u',
  username: 'alice',
  role,
  scope,
  kind: 'user',
});

describe('roles', () => {
  it.each([
    ['viewer', 'read', true],
    ['viewer', 'operate', false],
    ['operator', 'operate', true],
    ['operator', 'admin', false],
    ['admin', 'admin', true],
    ['root', 'read', false],
  ] as const)('%s reaches %s: %s', (role, level, allowed) => {
    expect(roleAllows(role, level)).toBe(allowed);
  });

  it('assertAccess: 401 without a user, 403 saying what the role may not do', () => {
    expect(() => assertAccess(null, 'read')).toThrow(/authentication required/);
    expect(() => assertAccess(user('viewer'), 'operate')).toThrow(/the viewer role may not change workloads/);
    expect(() => assertAccess(user('operator', '/team-a'), 'operate', '/team-b/web')).toThrow(
      /\/team-b\/web is outside alice's scope \/team-a/,
    );
  });
});

describe('scopes', () => {
  it.each([
    ['/team-a', '/team-a', true],
    ['/team-a', '/team-a/web', true],
    ['/team-a', 'team-a/web', true],
    ['/team-a/', '/team-a/web', true],
    ['/team-a', '/team-ab/web', false],
    ['/team-a', '/team-b/web', false],
    ['/team-a', '/', false],
    [null, '/anything', true],
    ['/', '/anything', true],
  ] as const)('scope %s holds %s: %s', (scope, path, held) => {
    expect(inScope(scope, path)).toBe(held);
  });

  it('a Metronome job id is a path with dots', () => {
    expect(jobPath('team-a.backup')).toBe('/team-a/backup');
    expect(jobPath('nightly')).toBe('/nightly');
    expect(inScope('/team-a', jobPath('team-a.backup'))).toBe(true);
    expect(inScope('/team-a', jobPath('team-ab.backup'))).toBe(false);
  });

  it('the services act for their user; none (the system) and admins are unscoped', () => {
    const services = { db: 'db' };
    expect(scopeOf(services)).toBeNull();
    expect(scopeOf(withActor(services, user('admin', '/team-a')))).toBeNull();
    const scoped = withActor(services, user('operator', '/team-a'));
    expect(scoped.db).toBe('db');
    expect(scopeOf(scoped)).toBe('/team-a');
    expect(visibleTo(scoped, '/team-a/web')).toBe(true);
    expect(visibleTo(scoped, '/team-b/web')).toBe(false);
    expect(visibleTo(scoped, null)).toBe(false);
    expect(visibleTo(services, null)).toBe(true);
    expect(filterVisible(scoped, ['/team-a/x', '/team-b/y', '/team-a'], (p) => p)).toEqual([
      '/team-a/x',
      '/team-a',
    ]);
    expect(() => assertInScope(scoped, '/team-b/y')).toThrow(/\/team-b\/y is outside alice's scope \/team-a/);
    expect(() => assertInScope(services, '/team-b/y')).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { loginAttempts, wantsSecureCookie } from './login-guard';

describe('loginAttempts', () => {
  it.each([
    ['REST login', 'POST', '/api/v1/auth/login', 1],
    ['REST login, trailing slash', 'POST', '/api/v1/auth/login/', 1],
    ["DC/OS's login", 'POST', '/acs/api/v1/auth/login', 1],
    ['tRPC login', 'POST', '/api/trpc/auth.login', 1],
    ['a tRPC batch of three logins', 'POST', '/api/trpc/auth.login,auth.me,auth.login,auth.login', 3],
    ['an encoded tRPC batch', 'POST', '/api/trpc/auth.login%2Cauth.login', 2],
    ['another procedure', 'POST', '/api/trpc/auth.logout', 0],
    ['a GET', 'GET', '/api/v1/auth/login', 0],
    ['a broken escape', 'POST', '/api/trpc/auth.login%E0%A4%A', 0],
  ])('%s → %i', (_name, method, path, n) => {
    expect(loginAttempts(method, path)).toBe(n);
  });
});

describe('wantsSecureCookie', () => {
  const req = (headers: Record<string, string | string[]> = {}, protocol: 'http' | 'https' = 'http') => ({
    headers,
    protocol,
  });
  const plain = { publicUrl: 'http://control:7700' };

  it.each([
    ['plain HTTP', req(), plain, false],
    ['behind an https edge', req({ 'x-forwarded-proto': 'https' }), plain, true],
    ['the first of chained proxies', req({ 'x-forwarded-proto': 'https, http' }), plain, true],
    ['an http edge', req({ 'x-forwarded-proto': 'http' }), plain, false],
    ['TLS on control itself', req({}, 'https'), plain, true],
    ['an https public URL', req(), { publicUrl: 'https://atoll.example' }, true],
    ['secureCookies set', req(), { ...plain, secureCookies: true }, true],
  ])('%s', (_name, r, opts, secure) => {
    expect(wantsSecureCookie(r, opts)).toBe(secure);
  });
});

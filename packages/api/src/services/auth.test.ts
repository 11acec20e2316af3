import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import {
  assertPasswordRules,
  generatePassword,
  isLocked,
  LOCKOUT_MS,
  lockoutAfter,
  LoginRateLimiter,
  MAX_FAILED_LOGINS,
  passwordProblem,
  SESSION_IDLE_MS,
  SESSION_TTL_MS,
  sessionDeadline,
  sessionTouch,
} from './auth';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe('password rules', () => {
  it.each([
    ['too short', 'Ab3$efgh9', 'alice', 'must have at least 10 characters'],
    ['the username', 'Alice.Admin', 'alice.admin', 'must not be the username'],
    ['a common password', 'Password123', 'alice', 'is too common; choose another'],
    ['one character repeated', 'aaaaaaaaaaaa', 'alice', 'must not be one character repeated'],
    ['too long', 'x'.repeat(1025) + 'y', 'alice', 'must have at most 1024 characters'],
  ])('refuses %s', (_name, password, username, problem) => {
    expect(passwordProblem(password, username)).toBe(problem);
  });

  it.each([
    ['ten characters', 'q8#Lm2!vZp', 'alice'],
    ['a passphrase', 'correct horse battery staple', 'alice'],
    ['the username inside a longer one', 'alice-in-wonderland-42', 'alice'],
  ])('accepts %s', (_name, password, username) => {
    expect(passwordProblem(password, username)).toBeNull();
  });

  it('a refusal is a 422 naming the field', () => {
    let err: unknown;
    try {
      assertPasswordRules('short', 'bob', 'newPassword');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    const e = err as AppError;
    expect(e.httpStatus).toBe(422);
    expect(e.issues).toEqual([
      { path: 'newPassword', message: 'newPassword must have at least 10 characters' },
    ]);
  });

  it('generated passwords follow the rules and differ', () => {
    const a = generatePassword();
    expect(a).toHaveLength(20);
    expect(passwordProblem(a, 'alice')).toBeNull();
    expect(generatePassword()).not.toBe(a);
  });
});

describe('lockout arithmetic', () => {
  it.each([1, 2, 3, 4])('%i consecutive failures do not lock', (n) => {
    expect(lockoutAfter(n, t0)).toBeNull();
  });

  it(`the ${MAX_FAILED_LOGINS}th failure locks for 15 minutes`, () => {
    expect(LOCKOUT_MS).toBe(15 * 60 * 1000);
    expect(lockoutAfter(MAX_FAILED_LOGINS, t0)).toEqual(at(LOCKOUT_MS));
  });

  it('a lock holds until its time, not at it', () => {
    const until = at(LOCKOUT_MS);
    expect(isLocked(until, at(LOCKOUT_MS - 1))).toBe(true);
    expect(isLocked(until, until)).toBe(false);
    expect(isLocked(null, t0)).toBe(false);
  });
});

describe('session expiry', () => {
  it('a new session ends after the idle time', () => {
    expect(sessionDeadline(t0, t0)).toEqual(at(SESSION_IDLE_MS));
  });

  it('use moves the idle deadline, never past 7 days after login', () => {
    expect(sessionDeadline(t0, at(SESSION_TTL_MS - 1000))).toEqual(at(SESSION_TTL_MS));
  });

  it('is written at most once a minute while in use', () => {
    const expires = sessionDeadline(t0, t0);
    expect(sessionTouch(t0, expires, at(59_999))).toBeNull();
    expect(sessionTouch(t0, expires, at(60_000))).toEqual(at(60_000 + SESSION_IDLE_MS));
  });

  it('is not written once capped by the absolute end', () => {
    const capped = at(SESSION_TTL_MS);
    expect(sessionTouch(t0, capped, at(SESSION_TTL_MS - 3600_000))).toBeNull();
  });
});

describe('login rate limit per address', () => {
  it('allows 20 attempts a minute, then answers when to retry', () => {
    const limiter = new LoginRateLimiter(20, 60_000);
    for (let i = 0; i < 20; i++) expect(limiter.hit('10.0.0.1', i * 1000).allowed).toBe(true);
    expect(limiter.hit('10.0.0.1', 20_000)).toEqual({ allowed: false, retryAfterSeconds: 40 });
    // Another address has its own count.
    expect(limiter.hit('10.0.0.2', 20_000).allowed).toBe(true);
    // Once the first attempt leaves the window, one more is allowed.
    expect(limiter.hit('10.0.0.1', 60_001).allowed).toBe(true);
    expect(limiter.hit('10.0.0.1', 60_002).allowed).toBe(false);
  });

  it('counts every login of a batch', () => {
    const limiter = new LoginRateLimiter(20, 60_000);
    expect(limiter.hit('10.0.0.3', 0, 15).allowed).toBe(true);
    expect(limiter.hit('10.0.0.3', 1, 6).allowed).toBe(false);
    expect(limiter.hit('10.0.0.3', 2, 5).allowed).toBe(true);
    expect(limiter.hit('10.0.0.3', 3).allowed).toBe(false);
  });

  it('check does not count', () => {
    const limiter = new LoginRateLimiter(2, 60_000);
    expect(limiter.check('10.0.0.4', 0).allowed).toBe(true);
    limiter.hit('10.0.0.4', 0);
    expect(limiter.check('10.0.0.4', 1).allowed).toBe(true);
    limiter.hit('10.0.0.4', 1);
    expect(limiter.check('10.0.0.4', 2)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(limiter.check('10.0.0.4', 60_001).allowed).toBe(true);
  });

  it('forgets the least recently used addresses beyond its size', () => {
    const limiter = new LoginRateLimiter(1, 60_000, 2);
    limiter.hit('a', 0);
    limiter.hit('b', 0);
    limiter.hit('c', 0);
    // 'a' was forgotten, so it may try again; 'c' may not.
    expect(limiter.hit('a', 1).allowed).toBe(true);
    expect(limiter.hit('c', 1).allowed).toBe(false);
  });
});

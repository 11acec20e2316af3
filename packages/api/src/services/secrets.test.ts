import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  appSecretUse,
  jobSecretUse,
  newSecretKeyEntry,
  parseSecretKeys,
  SecretKeyError,
  SecretKeyring,
  secretPathIssue,
  undeclaredSecretIssues,
} from './secrets';

const keyText = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

describe('secret keyring (AES-256-GCM, AAD = path)', () => {
  it('round-trips any value up to 64 KiB with a fresh IV each time', () => {
    const ring = SecretKeyring.random('k1');
    fc.assert(
      fc.property(
        fc.string({ maxLength: 2000 }),
        fc.constantFrom('/a', '/team-a/db-password'),
        (value, path) => {
          const a = ring.encrypt(path, value);
          const b = ring.encrypt(path, value);
          expect(a.keyId).toBe('k1');
          expect(a.iv).toHaveLength(12);
          expect(a.iv.equals(b.iv)).toBe(false);
          expect(ring.decrypt(path, a)).toBe(value);
        },
      ),
    );
    const big = 'x'.repeat(64 * 1024);
    expect(ring.decrypt('/big', ring.encrypt('/big', big))).toBe(big);
  });

  it('refuses a wrong key, another path (AAD), an altered ciphertext or tag, an unknown key id', () => {
    const ring = SecretKeyring.random('k1');
    const other = SecretKeyring.random('k1');
    const e = ring.encrypt('/team-a/db', 'hunter2');
    expect(() => other.decrypt('/team-a/db', e)).toThrow(SecretKeyError);
    expect(() => ring.decrypt('/team-b/db', e)).toThrow(/does not decrypt/);
    const flipped = Buffer.from(e.ciphertext);
    flipped[0] = flipped[0]! ^ 1;
    expect(() => ring.decrypt('/team-a/db', { ...e, ciphertext: flipped })).toThrow(SecretKeyError);
    expect(() => ring.decrypt('/team-a/db', { ...e, tag: randomBytes(16) })).toThrow(SecretKeyError);
    expect(() => ring.decrypt('/team-a/db', { ...e, keyId: 'gone' })).toThrow(
      /key gone, which is not configured/,
    );
  });

  it('rotation: a new first key encrypts, the old one still decrypts; the ciphertext never holds the value', () => {
    const k1 = keyText('k1');
    const k2 = keyText('k2');
    const before = SecretKeyring.fromText(k1);
    const e = before.encrypt('/p', 'plain-value-123');
    expect(e.ciphertext.toString('utf8')).not.toContain('plain-value-123');
    const after = SecretKeyring.fromText(`${k2},${k1}`);
    expect(after.currentId).toBe('k2');
    expect(after.decrypt('/p', e)).toBe('plain-value-123');
    const again = after.encrypt('/p', after.decrypt('/p', e));
    expect(again.keyId).toBe('k2');
    expect(SecretKeyring.fromText(k2).decrypt('/p', again)).toBe('plain-value-123');
  });

  it('parses key lists and files, naming what is wrong', () => {
    const file = `# keys\n${keyText('new')}\n\n${keyText('old')}\n`;
    expect(parseSecretKeys(file).map((k) => k.id)).toEqual(['new', 'old']);
    expect(parseSecretKeys(newSecretKeyEntry(new Date('2026-12-05T18:00:00Z')))[0]?.id).toBe(
      'k20261205T180000',
    );
    expect(() => parseSecretKeys('')).toThrow(/no key/);
    expect(() => parseSecretKeys('k1:c2hvcnQ=')).toThrow(/32 bytes/);
    expect(() => parseSecretKeys(randomBytes(32).toString('base64'))).toThrow(/id:base64/);
    const k = keyText('dup');
    expect(() => parseSecretKeys(`${k},${k}`)).toThrow(/twice/);
  });
});

describe('secret paths', () => {
  it.each([
    ['/team-a/db-password', null],
    ['/a', null],
    ['/A.b_c-d/e', null],
    ['team-a/db', 'starts with /'],
    ['/', 'segments'],
    ['/a//b', 'segments'],
    ['/a/', 'segments'],
    ['/a/../b', 'no . or ..'],
    ['/a b', 'segments'],
    ['/a/é', 'segments'],
    [`/${'a'.repeat(255)}`, 'at most 255'],
  ])('%s', (path, issue) => {
    const got = secretPathIssue(path);
    if (issue === null) expect(got).toBeNull();
    else expect(got).toContain(issue);
  });

  it('accepts exactly the paths of valid segments (property)', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), (segs) => {
        expect(secretPathIssue(`/${segs.join('/')}`)).toBeNull();
      }),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        const issue = secretPathIssue(s);
        const valid =
          s.startsWith('/') &&
          s.length <= 255 &&
          s
            .slice(1)
            .split('/')
            .every((x) => /^[A-Za-z0-9._-]+$/.test(x) && x !== '.' && x !== '..');
        expect(issue === null).toBe(valid);
      }),
    );
  });
});

describe('secret references of apps, pods and jobs', () => {
  it('finds env and file references and the undeclared ones', () => {
    const app = {
      secrets: { s1: { source: '/team-a/db' } },
      env: { PLAIN: 'x', DB: { secret: 's1' }, NOPE: { secret: 's2' } },
      container: {
        volumes: [
          { containerPath: '/run/secrets/db', secret: 's1' },
          { containerPath: '/d', hostPath: '/tmp' },
        ],
      },
    };
    const use = appSecretUse(app);
    expect(use).toEqual({
      secrets: { s1: { source: '/team-a/db' } },
      env: { DB: 's1', NOPE: 's2' },
      files: { '/run/secrets/db': 's1' },
    });
    expect(undeclaredSecretIssues(use).map((i) => i.path)).toEqual(['env.NOPE.secret']);
    const pod = appSecretUse({
      pod: {
        secrets: { p: { source: '/x' } },
        environment: { A: { secret: 'p' } },
        containers: [{ environment: { B: { secret: 'p' } } }],
      },
    });
    expect(pod.env).toEqual({ A: 'p', B: 'p' });
    const job = jobSecretUse({
      secrets: { j: { source: '/y' } },
      env: { J: { secret: 'j' } },
      volumes: [{ containerPath: '/run/j', secret: 'j' }],
    });
    expect(job).toEqual({ secrets: { j: { source: '/y' } }, env: { J: 'j' }, files: { '/run/j': 'j' } });
  });
});

import { describe, expect, it } from 'vitest';
import { loadRepoDir } from './builtin';
import { optionAt, secretOptionPaths, withOption } from './secret-options';

describe('secret options (x-atoll-secret)', () => {
  it('finds the marked properties at any depth', () => {
    const config = {
      type: 'object',
      properties: {
        db: {
          type: 'object',
          properties: { password: { type: 'string', 'x-atoll-secret': true }, user: { type: 'string' } },
        },
        token: { type: 'string', 'x-atoll-secret': true },
        plain: { type: 'string', 'x-atoll-secret': 'yes' },
      },
    };
    expect(secretOptionPaths(config)).toEqual(['db.password', 'token']);
    expect(secretOptionPaths(null)).toEqual([]);
  });

  it('reads and replaces a dotted option without touching the original', () => {
    const options = { db: { password: 'p', user: 'u' } };
    expect(optionAt(options, 'db.password')).toBe('p');
    expect(optionAt(options, 'db.none.x')).toBeUndefined();
    const changed = withOption(options, 'db.password', { secret: '/x/db.password' });
    expect(changed).toEqual({ db: { password: { secret: '/x/db.password' }, user: 'u' } });
    expect(options.db.password).toBe('p');
    expect(withOption({}, 'a.b', 1)).toEqual({ a: { b: 1 } });
  });

  it("marks the built-in elasticsearch's password", async () => {
    const es = (await loadRepoDir()).find((p) => p.pkg.metadata.name === 'elasticsearch');
    expect(secretOptionPaths(es!.pkg.config)).toEqual(['elasticsearch.password']);
  });
});

import { describe, expect, it } from 'vitest';
import { secretEnvRows, withoutSecretEnv, withSecretEnv } from './secret-env';

describe('secret env variables of the service form', () => {
  it('adds a variable from a secret, reusing a declaration of the same path', () => {
    const a = withSecretEnv({ id: '/web', env: { A: '1' } }, 'DB_PASSWORD', '/team-a/db');
    expect(a).toEqual({
      id: '/web',
      env: { A: '1', DB_PASSWORD: { secret: 'team-a-db' } },
      secrets: { 'team-a-db': { source: '/team-a/db' } },
    });
    const b = withSecretEnv(a, 'DB_PASSWORD_AGAIN', '/team-a/db');
    expect(b.secrets).toEqual({ 'team-a-db': { source: '/team-a/db' } });
    expect(secretEnvRows(b)).toEqual([
      { key: 'DB_PASSWORD', name: 'team-a-db', source: '/team-a/db' },
      { key: 'DB_PASSWORD_AGAIN', name: 'team-a-db', source: '/team-a/db' },
    ]);
  });

  it('removes a variable, and its declaration once nothing uses it', () => {
    const def = withSecretEnv(withSecretEnv({}, 'X', '/p'), 'Y', '/p');
    const one = withoutSecretEnv(def, 'X');
    expect(one.secrets).toEqual({ p: { source: '/p' } });
    const none = withoutSecretEnv(one, 'Y');
    expect(none).toEqual({ env: {}, secrets: {} });
    expect(secretEnvRows({ env: { Z: { secret: 'undeclared' } } })).toEqual([
      { key: 'Z', name: 'undeclared', source: null },
    ]);
  });
});

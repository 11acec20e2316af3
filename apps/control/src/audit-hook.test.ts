import { describe, expect, it } from 'vitest';
import { redactPath, targetOfInput } from './audit-hook';

describe('audit records', () => {
  it.each([
    ['/v2/apps/team-a/web', '/v2/apps/team-a/web'],
    [
      '/api/v1/tasks/team-a_web.0f8b5d2e-6c1b-4c47-9b7e-3f1f2a9c1d11/exec',
      '/api/v1/tasks/team-a_web.0f8b5d2e-6c1b-4c47-9b7e-3f1f2a9c1d11/exec',
    ],
    [
      '/v2/deployments/0f8b5d2e-6c1b-4c47-9b7e-3f1f2a9c1d11',
      '/v2/deployments/0f8b5d2e-6c1b-4c47-9b7e-3f1f2a9c1d11',
    ],
    ['/api/v1/auth/tokens/atl_Zm9vYmFyYmF6cXV4cXV1eA', '/api/v1/auth/tokens/[redacted]'],
    ['/install/ses_abcdefgh12345678', '/install/[redacted]'],
    ['/x/join_test_abc12345/y', '/x/[redacted]/y'],
    ['/hook/Qm9vbXNoYWthbGFrYTEyMzQ1Njc4OTA', '/hook/[redacted]'],
    [
      '/v2/apps/a-very-long-lowercase-application-name-1234',
      '/v2/apps/a-very-long-lowercase-application-name-1234',
    ],
  ])('path %s is recorded as %s', (path, recorded) => {
    expect(redactPath(path)).toBe(recorded);
  });

  it.each([
    ['an app id', { id: '/prod/web', force: true }, '/prod/web'],
    ['a definition', { definition: { id: '/prod/web', env: { PASSWORD: 'hunter2' } } }, '/prod/web'],
    ['a Metronome job', { job: { id: 'nightly.backup', run: { cmd: 'x' } } }, 'nightly.backup'],
    ['tasks', { taskIds: ['t1', 't2'], scale: true }, 't1,t2'],
    ['a secret by path, never its value', { path: '/team-a/db', value: 'hunter2' }, '/team-a/db'],
    ['a user, never the password', { username: 'vera', password: 'hunter2' }, 'vera'],
    ['nothing that names a thing', { value: 'hunter2', token: 'atl_x' }, null],
    ['not an object', 'hunter2', null],
  ])('the target of %s', (_what, input, target) => {
    expect(targetOfInput(input)).toBe(target);
  });
});

import { describe, expect, it } from 'vitest';
import {
  extraErrorsOf,
  generalIssues,
  iconOf,
  matchesQuery,
  packageHref,
  packageOf,
  uiSchemaOf,
} from './catalog';

describe('catalog page helpers', () => {
  it('picks an icon of the size asked, falling back to the others, never a relative path', () => {
    expect(
      iconOf({ 'icon-small': 'data:image/png;base64,AA', 'icon-large': 'https://x/l.png' }, 'large'),
    ).toBe('https://x/l.png');
    expect(iconOf({ 'icon-small': 'data:image/png;base64,AA' })).toBe('data:image/png;base64,AA');
    expect(iconOf({ 'icon-medium': 'icon.svg' })).toBeNull();
    expect(iconOf(undefined)).toBeNull();
  });

  it('masks passwords and opens text areas in the form, at any depth', () => {
    expect(
      uiSchemaOf({
        type: 'object',
        properties: {
          db: {
            type: 'object',
            properties: { password: { type: 'string', format: 'password' }, n: { type: 'number' } },
          },
          notes: { type: 'string', media: 'textarea' },
        },
      }),
    ).toEqual({ db: { password: { 'ui:widget': 'password' } }, notes: { 'ui:widget': 'textarea' } });
  });

  it('places option errors on their fields and keeps the rest apart', () => {
    const issues = [
      { path: 'options.resources.cpus', message: 'must be number' },
      { path: 'options.resources.cpus', message: 'too small' },
      { path: 'options.service', message: 'must have required property greeting' },
      { path: 'rendered.id', message: 'bad id' },
    ];
    expect(extraErrorsOf(issues.slice(0, 3))).toEqual({
      resources: { cpus: { __errors: ['must be number', 'too small'] } },
      service: { __errors: ['must have required property greeting'] },
    });
    expect(generalIssues(issues)).toEqual(['rendered.id: bad id']);
  });

  it('matches every word against name, tags and description', () => {
    const redis = { name: 'redis', tags: ['cache', 'key-value'], description: 'An in-memory data store' };
    expect(matchesQuery(redis, '')).toBe(true);
    expect(matchesQuery(redis, 'CACHE memory')).toBe(true);
    expect(matchesQuery(redis, 'cache sql')).toBe(false);
  });

  it('reads the package of an app from its labels and links to it', () => {
    expect(packageOf({ DCOS_PACKAGE_NAME: 'redis', DCOS_PACKAGE_VERSION: '7' })).toEqual({
      name: 'redis',
      version: '7',
    });
    expect(packageOf({ OTHER: 'x' })).toBeNull();
    expect(packageHref('redis', { appId: '/cache/redis' })).toBe(
      '/catalog/package?name=redis&appId=/cache/redis',
    );
  });
});

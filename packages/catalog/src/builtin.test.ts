import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseAppDefinition } from '@atoll/spec';
import { describe, expect, it } from 'vitest';
import { loadRepoDir } from './builtin';
import { defaultsOf, renderPackage, validateOptions } from './render';

const builtin = await loadRepoDir();

describe('the built-in catalog', () => {
  it('has packages', () => expect(builtin.length).toBeGreaterThanOrEqual(3));

  describe.each(builtin.map((b) => [`${b.pkg.metadata.name} ${b.pkg.metadata.version}`, b] as const))(
    '%s',
    (_name, { dir, pkg }) => {
      it('its options schema validates its own defaults', () => {
        expect(() => validateOptions(pkg.config, defaultsOf(pkg.config))).not.toThrow();
      });

      it('renders with its defaults into an app Atoll accepts, with health checks and a real image', () => {
        const { definition } = renderPackage({ pkg, source: 'builtin' });
        const parsed = parseAppDefinition(definition);
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
        expect(parsed.value.id).toBe(`/${pkg.metadata.name}`);
        expect(parsed.value.healthChecks.length).toBeGreaterThan(0);
        expect(parsed.value.container?.docker?.image).toMatch(/^[a-z0-9./-]+:[\w.-]+$/);
        expect(definition.labels).toMatchObject({
          DCOS_PACKAGE_NAME: pkg.metadata.name,
          DCOS_SERVICE_NAME: pkg.metadata.name,
        });
      });

      it('takes a mirror image and another name', () => {
        const { definition } = renderPackage({
          pkg,
          source: 'builtin',
          options: { service: { name: 'other', image: 'mirror.local/x:1' } },
        });
        expect(definition).toMatchObject({
          id: '/other',
          container: { docker: { image: 'mirror.local/x:1' } },
        });
      });

      it('bundles its icons', () => {
        for (const icon of Object.values(pkg.resource.images ?? {}))
          expect(existsSync(path.join(dir, String(icon)))).toBe(true);
      });
    },
  );
});

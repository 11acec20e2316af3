import { BUILTIN_URI, loadRepository, renderPackage } from '@atoll/catalog';
import { describe, expect, it } from 'vitest';
import { dependencyLayers, flattenGroup } from './groups';

const { packages: builtin } = await loadRepository(BUILTIN_URI);

/** What an install does with each built-in package before it writes anything. */
describe.each(builtin.map((p) => [p.pkg.metadata.name, p] as const))('installing %s', (_name, { pkg }) => {
  it('flattens into apps with resolved dependencies that can be ordered', () => {
    const { definition } = renderPackage({ pkg, source: BUILTIN_URI });
    const { apps, issues } = flattenGroup(
      Array.isArray(definition.apps) ? definition : { id: '/', apps: [definition] },
    );
    expect(issues).toEqual([]);
    const ids = apps.map((a) => a.def.id);
    for (const a of apps) for (const d of a.def.dependencies) expect(ids).toContain(d);
    expect(
      dependencyLayers(apps.map((a) => a.def))
        .flat()
        .sort(),
    ).toEqual([...ids].sort());
  });
});

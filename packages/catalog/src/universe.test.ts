import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAppDefinition } from '@atoll/spec';
import { beforeAll, describe, expect, it } from 'vitest';
import { measureUniverseDir, type UniverseReport } from './fidelity';
import { loadPackageDir } from './load';
import { renderPackage } from './render';
import { packagesFromIndex, repoDirPackages, toIndexEntry } from './repository';

/**
 * Real packages of the public Universe (mesosphere/universe, copied with their notice into
 * packages/catalog/test/universe), rendered with their defaults as Cosmos rendered them and checked
 * as `POST /v2/apps` checks an app.
 */
const universe = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/universe');
const dir = (p: string) => path.join(universe, 'packages', p);
const SOURCE = 'https://universe.mesosphere.com/repo';

/**
 * Revisions Cosmos cannot render with their defaults either, and why: these need options from
 * the user, or were written for the DC/OS CLI's own renderer before Cosmos existed.
 */
const COSMOS_FAILS_TOO: Record<string, RegExp> = {
  // api_key is required and has no default: `dcos package install` asks for it.
  'datadog/6': /datadog\.api_key must have required property 'api_key'/,
  // elasticsearch-url is required and has no default.
  'vamp/4': /service\.elasticsearch-url must have required property 'elasticsearch-url'/,
  // A pre-Cosmos package: its config.json puts options beside `properties`, so Cosmos finds no
  // defaults and `"cpus": {{memsql.cpus}}` renders empty.
  'memsql/0': /not JSON/,
  // A default meant to be pasted raw (`"*", "slave_public"`) into `[{{{namerd.resource-roles}}}]`;
  // Cosmos writes strings JSON-escaped, so the array holds `\"*\"` and is not JSON.
  'namerd/4': /not JSON/,
  // The stored template opens {{#max-concurrent-marathon-health-checks}} and closes
  // {{/marathon.max-concurrent-…}}: mustache.java refuses mismatched tags as mustache.js does.
  'marathon/105': /Unclosed section/,
  // The stored template has a trailing comma (`],` before `}`), which Cosmos's JSON parser refuses.
  'marathon-lb/19': /not JSON/,
};

describe('the public Universe, rendered with defaults', () => {
  let report: UniverseReport;
  beforeAll(async () => {
    report = await measureUniverseDir(universe);
  });

  it('reads every copied revision', () => {
    expect(report.revisions.length).toBeGreaterThanOrEqual(50);
    expect(report.revisions.filter((r) => r.outcome.kind === 'unreadable')).toEqual([]);
  });

  it('renders every revision Cosmos renders, and fails only where Cosmos fails too', () => {
    const failed = Object.fromEntries(
      report.revisions.flatMap((r) =>
        r.outcome.kind === 'render-failed' ? [[`${r.name}/${r.release}`, r.outcome.reason]] : [],
      ),
    );
    expect(Object.keys(failed).sort()).toEqual(Object.keys(COSMOS_FAILS_TOO).sort());
    for (const [which, reason] of Object.entries(failed)) expect(reason).toMatch(COSMOS_FAILS_TOO[which]!);
  });

  it('accepts every app those renders give, as Marathon did (≥ 98% is the goal; here all)', () => {
    const refused = report.revisions.filter((r) => r.outcome.kind === 'refused');
    expect(refused).toEqual([]);
    expect(report.all.accepted).toBe(report.all.rendered);
    expect(report.latest.accepted / report.latest.rendered).toBeGreaterThanOrEqual(0.98);
  });
});

describe('what the renderer gets right on real packages', () => {
  const render = async (p: string, options?: Record<string, never>) =>
    renderPackage({ pkg: await loadPackageDir(dir(p)), source: SOURCE, ...(options ? { options } : {}) })
      .definition;

  it('chronos: a section over the option 0 renders (--disable_after_failures 0)', async () => {
    const d = await render('C/chronos/1');
    expect(d.cmd).toMatch(/--disable_after_failures 0 /);
  });

  it('hello-world, kibana and beta-spark: an array default is written as a JSON array (constraints)', async () => {
    for (const p of ['H/hello-world/600', 'K/kibana/800', 'B/beta-spark/3']) {
      const parsed = parseAppDefinition(await render(p));
      if (!parsed.ok) throw new Error(`${p}: ${JSON.stringify(parsed.issues)}`);
      expect(Array.isArray(parsed.value.constraints), p).toBe(true);
    }
  });

  it('beta-cassandra and beta-confluent-kafka: defaults holding quotes or backslashes stay valid JSON', async () => {
    for (const p of ['B/beta-cassandra/7', 'B/beta-confluent-kafka/12']) {
      const pkg = await loadPackageDir(dir(p));
      const d = renderPackage({ pkg, source: SOURCE }).definition;
      expect(parseAppDefinition(d).ok, p).toBe(true);
    }
  });

  it('minio: its option group named resource is merged with resource.json, not replaced', async () => {
    const d = await render('M/minio/9');
    expect(typeof d.cpus).toBe('number');
    expect(typeof d.mem).toBe('number');
    expect((d.container as { docker: { image: string } }).docker.image).toMatch(/minio/);
  });
});

describe('a built index of these packages (as gen_universe.py writes repo-up-to-*.json)', () => {
  it('loads every readable entry and lists the one it cannot read', async () => {
    const { packages, skipped } = await repoDirPackages(path.join(universe, 'packages'));
    expect(skipped).toEqual([]);
    const entries = packages.map(toIndexEntry);
    // One entry of a packaging version that does not exist yet, as DC/OS 2.x indexes hold 5.0 ones
    // for older clients.
    entries.push({ ...entries[0], name: 'from-the-future', packagingVersion: '6.0' });
    const index = packagesFromIndex(JSON.parse(JSON.stringify({ packages: entries })));
    expect(index.packages).toHaveLength(packages.length);
    expect(index.skipped).toEqual([
      expect.objectContaining({ name: 'from-the-future', reason: expect.stringMatching(/^packagingVersion: /) }),
    ]);
    // What was read from the index renders as what was read from the directories.
    for (const [i, { pkg }] of index.packages.entries()) {
      const fromDir = packages[i]!.pkg;
      expect(pkg.marathonTemplate).toBe(fromDir.marathonTemplate);
      expect(pkg.config).toEqual(fromDir.config);
    }
  });
});

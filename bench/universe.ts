/**
 * `npm run bench:universe -- <path> [<path> …] [--list]`: how much of a Universe Atoll takes as it
 * is. A path is a checkout of github.com/mesosphere/universe (or its `repo/packages` directory), or
 * a built index (`repo-up-to-1.10.json`, …, from the checkout's `scripts/gen_universe.py`).
 *
 * Every package revision is rendered with its defaults, as Cosmos rendered it for `dcos package
 * install --yes`, and the app is checked as `POST /v2/apps` checks it. Printed: for the latest
 * revision of each package and for all revisions, how many render and how many of those are
 * accepted; the renders that fail and the apps refused, with the reason, grouped. With no path it
 * measures the revisions copied into packages/catalog/test/universe.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  measureUniverseDir,
  measureUniverseIndex,
  type Figure,
  type RevisionResult,
  type UniverseReport,
} from '@atoll/catalog';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const list = args.includes('--list');
const paths = args.filter((a) => !a.startsWith('--'));
if (paths.length === 0) paths.push(path.join(here, '..', 'packages', 'catalog', 'test', 'universe'));

const pct = (a: number, b: number) => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);
const line = (what: string, f: Figure) =>
  `  ${what.padEnd(16)} ${String(f.accepted).padStart(5)} of ${String(f.rendered).padEnd(5)} rendered accepted (${pct(f.accepted, f.rendered)});` +
  ` ${f.renderFailed} did not render`;

function reasonOf(r: RevisionResult): string | null {
  const o = r.outcome;
  if (o.kind === 'refused') return `refused: ${o.issues.join('; ')}`;
  if (o.kind === 'render-failed') return `render failed: ${o.reason}`;
  if (o.kind === 'unreadable') return `unreadable: ${o.reason}`;
  return null;
}

function print(source: string, rep: UniverseReport & { skipped?: number }) {
  const withTemplate = rep.revisions.filter((r) => !['no-template', 'unreadable'].includes(r.outcome.kind));
  const packages = new Set(rep.revisions.map((r) => r.name)).size;
  console.log(`\n${source}`);
  console.log(
    `  ${packages} packages, ${rep.revisions.length} revisions (${withTemplate.length} with a Marathon template` +
      `${rep.skipped !== undefined ? `; ${rep.skipped} index entries skipped as unreadable` : ''})`,
  );
  console.log(line('latest revision', rep.latest));
  console.log(line('all revisions', rep.all));
  const groups = new Map<string, string[]>();
  for (const r of rep.revisions) {
    const reason = reasonOf(r);
    if (!reason) continue;
    // Group by the reason without the values that differ between packages.
    const key = reason.replace(/"[^"]*"/g, '"…"').slice(0, 160);
    groups.set(key, [...(groups.get(key) ?? []), `${r.name}/${r.release}`]);
  }
  if (groups.size > 0) console.log('  not taken, by reason:');
  for (const [reason, which] of [...groups].sort((a, b) => b[1].length - a[1].length))
    console.log(`    ${String(which.length).padStart(4)}  ${reason}\n          ${which.slice(0, 8).join(', ')}${which.length > 8 ? ', …' : ''}`);
  if (list)
    for (const r of rep.revisions) console.log(`  ${r.where.padEnd(40)} ${r.version.padEnd(24)} ${r.outcome.kind}`);
}

for (const p of paths) {
  const info = await stat(p);
  if (info.isDirectory()) print(p, await measureUniverseDir(p));
  else print(p, measureUniverseIndex(JSON.parse(await readFile(p, 'utf8'))));
}

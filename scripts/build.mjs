// Builds what `npm start` and the end-to-end tests need: the console (Next.js production build).
// Skips the build when the output is newer than every console source file.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const consoleDir = path.join(root, 'apps/console');
const buildId = path.join(consoleDir, '.next/BUILD_ID');

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === '.next') continue;
    const p = path.join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const sources = [consoleDir, path.join(root, 'packages/spec/src')];
const force = process.argv.includes('--force');
if (!force && existsSync(buildId) && statSync(buildId).mtimeMs > Math.max(...sources.map(newest))) {
  console.log('console build is up to date');
  process.exit(0);
}
console.log('building the console (next build)…');
const r = spawnSync('npx', ['next', 'build'], {
  cwd: consoleDir,
  stdio: 'inherit',
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
});
process.exit(r.status ?? 1);

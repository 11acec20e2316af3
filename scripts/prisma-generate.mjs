// Root postinstall: generates the Prisma client into packages/db/src/generated/prisma (gitignored)
// from prisma/schema.prisma, without network access.
//
// `prisma generate` insists on locating the native schema engine, and downloads it when it is
// missing (install scripts are disabled here, and its download host is unreachable anyway). It
// never runs that engine during generate, so pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing
// file is enough. The query side needs no native engine in Prisma 7 (WASM compiler + adapter-pg).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

// Resolved from packages/db, whose devDependency it is, whether or not npm hoisted it.
let cli;
try {
  const manifestPath = createRequire(join(root, 'packages/db/package.json')).resolve('prisma/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin.prisma;
  cli = join(dirname(manifestPath), bin);
} catch {
  // `npm ci --omit=dev` (a production install of prebuilt output): nothing to generate with.
  console.warn('[prisma-generate] the prisma CLI is not installed (dev dependencies omitted?); skipping client generation');
  process.exit(0);
}

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
  // Both would otherwise try to reach Prisma's servers (usage telemetry, update check).
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};

const result = spawnSync(process.execPath, [cli, 'generate'], { cwd: root, env, stdio: 'inherit' });
if (result.error) throw result.error;
if (result.status !== 0) {
  console.error(`[prisma-generate] prisma generate failed (exit ${result.status ?? result.signal})`);
  process.exit(result.status ?? 1);
}

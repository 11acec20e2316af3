import { mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/**
 * V8 flags the agent runs with on hosts (the systemd unit) and in `bench:agent`: a small young
 * generation and size-optimised code keep the idle footprint low; the agent is I/O-bound.
 */
export const AGENT_NODE_FLAGS = (process.env.ATOLL_AGENT_NODE_FLAGS ?? '--max-semi-space-size=1 --lite-mode')
  .split(' ')
  .filter(Boolean);

/** The agent's sources and where its one-file bundle goes (gitignored). */
export const agentEntry = path.join(here, 'main.ts');
export const agentBundlePath = path.join(here, '..', 'dist', 'atoll-agent.mjs');

/**
 * Bundles the agent into one ESM file (esbuild): what hosts run, with no `npm install` there.
 * Optional native add-ons (ws's bufferutil/utf-8-validate, ssh2's cpu-features) stay out: their
 * JavaScript fallbacks run. Written to a temporary file and renamed, so concurrent builds never
 * leave a half-written bundle.
 */
export async function bundleAgent(outfile = agentBundlePath): Promise<string> {
  const { build } = await import('esbuild');
  await mkdir(path.dirname(outfile), { recursive: true });
  const tmp = `${outfile}.${process.pid}.${Date.now()}.tmp`;
  await build({
    entryPoints: [agentEntry],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    external: ['bufferutil', 'utf-8-validate', 'cpu-features', '*.node'],
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: {
      js: [
        "import { createRequire as __atollRequire } from 'node:module';",
        "import { fileURLToPath as __atollPath } from 'node:url';",
        'const require = __atollRequire(import.meta.url);',
        'const __filename = __atollPath(import.meta.url);',
        "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
      ].join(' '),
    },
    logLevel: 'warning',
    plugins: [
      {
        // The agent reaches Docker over its unix socket only: docker-modem's SSH transport (ssh2,
        // a large crypto library) is replaced by a stub that says so if it is ever used.
        name: 'no-ssh2',
        setup(b) {
          b.onResolve({ filter: /^ssh2$/ }, () => ({ path: 'ssh2', namespace: 'atoll-stub' }));
          b.onLoad({ filter: /.*/, namespace: 'atoll-stub' }, () => ({
            contents:
              "export class Client { constructor() { throw new Error('Docker over SSH is not supported by the Atoll agent'); } }",
            loader: 'js',
          }));
        },
      },
    ],
  });
  await rename(tmp, outfile);
  return outfile;
}

/** The bundle, built when missing or older than the agent's sources. */
export async function ensureAgentBundle(): Promise<string> {
  const built = await stat(agentBundlePath).catch(() => null);
  if (built && built.mtimeMs > (await newestSource())) return agentBundlePath;
  return bundleAgent();
}

async function newestSource(): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  let newest = 0;
  const roots = [here, path.join(here, '..', '..', '..', 'packages', 'spec', 'src')];
  for (const root of roots) {
    for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const s = await stat(path.join(entry.parentPath, entry.name));
      newest = Math.max(newest, s.mtimeMs);
    }
  }
  return newest;
}

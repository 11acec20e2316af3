import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageMetadataSchema, resourceSchema, type PackageDefinition } from './package';
import { RenderError } from './render';

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Reads one package version directory (Universe layout) and checks its package.json. */
export async function loadPackageDir(dir: string): Promise<PackageDefinition> {
  const raw = await readOptional(path.join(dir, 'package.json'));
  if (raw === null) throw new RenderError(`${dir} has no package.json`);
  const parsed = packageMetadataSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new RenderError(
      `${path.join(dir, 'package.json')}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      issues,
    );
  }
  const config = await readOptional(path.join(dir, 'config.json'));
  const resource = await readOptional(path.join(dir, 'resource.json'));
  return {
    metadata: parsed.data,
    config: config === null ? null : (JSON.parse(config) as Record<string, unknown>),
    marathonTemplate: await readOptional(path.join(dir, 'marathon.json.mustache')),
    resource: resource === null ? {} : resourceSchema.parse(JSON.parse(resource)),
  };
}

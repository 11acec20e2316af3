import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
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

/**
 * One schema issue for people: `<field>: <why>`, with the value given when it was not one of the
 * allowed ones (`packagingVersion: must be 2.0, 3.0, 4.0 or 5.0 (got "6.0")`).
 */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const field = issue.path.map(String).join('.');
  // zod's own messages start with "Invalid input: "; the field name says that already.
  let why = issue.message.replace(/^Invalid input: /, '');
  // Our messages often start with the field's name ("name is required"): say it once.
  const last = issue.path.at(-1);
  if (last !== undefined && why.startsWith(`${String(last)} `)) why = why.slice(String(last).length + 1);
  const value = issue.path.reduce<unknown>(
    (v, k) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    input,
  );
  if (value === undefined && issue.code === 'invalid_type') why = `missing (expected ${issue.expected})`;
  else if (issue.code === 'invalid_value' || issue.code === 'invalid_union')
    why += value === undefined ? ' (missing)' : ` (got ${JSON.stringify(value)})`;
  return field === '' ? why : `${field}: ${why}`;
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RenderError(`${file} is not JSON: ${(err as Error).message}`);
  }
}

/** Reads one package version directory (Universe layout) and checks its package.json. */
export async function loadPackageDir(dir: string): Promise<PackageDefinition> {
  const file = (name: string) => path.join(dir, name);
  const raw = await readOptional(file('package.json'));
  if (raw === null) throw new RenderError(`${dir} has no package.json`);
  const json = parseJson(file('package.json'), raw);
  const parsed = packageMetadataSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new RenderError(
      `${file('package.json')}: ${parsed.error.issues.map((i) => describeIssue(i, json)).join('; ')}`,
      issues,
    );
  }
  const config = await readOptional(file('config.json'));
  const configJson = config === null ? null : parseJson(file('config.json'), config);
  if (configJson !== null && (typeof configJson !== 'object' || Array.isArray(configJson)))
    throw new RenderError(`${file('config.json')} is not a JSON object (a JSON Schema of the options)`);
  const resourceText = await readOptional(file('resource.json'));
  const resourceJson = resourceText === null ? {} : parseJson(file('resource.json'), resourceText);
  const resource = resourceSchema.safeParse(resourceJson);
  if (!resource.success)
    throw new RenderError(
      `${file('resource.json')}: ${resource.error.issues.map((i) => describeIssue(i, resourceJson)).join('; ')}`,
    );
  return {
    metadata: parsed.data,
    config: configJson as Record<string, unknown> | null,
    marathonTemplate: await readOptional(file('marathon.json.mustache')),
    resource: resource.data,
  };
}

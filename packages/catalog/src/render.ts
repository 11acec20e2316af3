import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import Mustache from 'mustache';
import type { PackageDefinition } from './package';

/** A render that could not complete: which step, and for invalid options each field and why. */
export class RenderError extends Error {
  constructor(
    message: string,
    readonly issues: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'RenderError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The defaults a JSON Schema declares, as one object (Cosmos's extractDefaultsFromSchema): a
 * property's `default`, or for an object property without one, the defaults of its own properties
 * (left out when there are none).
 */
export function defaultsOf(schema: unknown): JsonObject {
  const out: JsonObject = {};
  if (!isObject(schema) || !isObject(schema.properties)) return out;
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (!isObject(prop)) continue;
    if ('default' in prop) out[key] = prop.default as Json;
    else if (isObject(prop.properties)) {
      const nested = defaultsOf(prop);
      if (Object.keys(nested).length > 0) out[key] = nested;
    }
  }
  return out;
}

/** Deep merge of JSON objects: `over` wins; objects merge key by key; arrays and scalars replace. */
export function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && isObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, useDefaults: false });
// The standard formats (uri, email, ipv4, …) are checked; `password` and `textarea` only tell a
// form how to show the field (DC/OS's console did the same).
addFormats.default(ajv);
ajv.addFormat('password', true);
ajv.addFormat('textarea', true);

function issuesOf(errors: ErrorObject[] | null | undefined): Array<{ path: string; message: string }> {
  return (errors ?? []).map((e) => {
    const missing =
      e.keyword === 'required'
        ? `/${String((e.params as { missingProperty?: string }).missingProperty)}`
        : '';
    const path = `${e.instancePath}${missing}`.replace(/^\//, '').replaceAll('/', '.') || '(options)';
    return { path, message: e.message ?? 'is invalid' };
  });
}

/** Checks options against the package's config.json; throws RenderError naming each bad field. */
export function validateOptions(config: Record<string, unknown> | null, options: JsonObject): void {
  if (!config) return;
  let validate;
  try {
    validate = ajv.compile(config);
  } catch (err) {
    throw new RenderError(`the package's config.json is not a usable JSON Schema: ${(err as Error).message}`);
  }
  if (!validate(options)) {
    const issues = issuesOf(validate.errors);
    throw new RenderError(
      `invalid options: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      issues,
    );
  }
}

export interface RenderInput {
  pkg: PackageDefinition;
  /** What the user gave (may be empty): merged over the schema's defaults. */
  options?: JsonObject;
  /** Replaces the rendered `id` (Cosmos's `appId`). */
  appId?: string;
  /** The repository the package came from (DCOS_PACKAGE_SOURCE). */
  source: string;
}

export interface Rendered {
  /** The Marathon app (or group) definition, with Cosmos's DCOS_PACKAGE_* labels. */
  definition: JsonObject;
  /** The options the template saw: defaults deep-merged with the user's. */
  mergedOptions: JsonObject;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64');

/**
 * Renders a package's Marathon template as Cosmos does:
 * 1. the schema's defaults deep-merged with the user's options;
 * 2. validated against config.json;
 * 3. `resource` added to the context;
 * 4. Mustache without HTML escaping;
 * 5. the result must be a JSON object;
 * 6. the optional id override;
 * 7. labels DCOS_PACKAGE_NAME, _VERSION, _SOURCE, _OPTIONS (base64 of the user's options),
 *    _DEFINITION (base64 of the package definition) and _METADATA (base64 of its metadata), plus
 *    DCOS_PACKAGE_FRAMEWORK_NAME for frameworks. A rendered group gets them on the group's apps.
 */
export function renderPackage(input: RenderInput): Rendered {
  const { pkg } = input;
  if (pkg.marathonTemplate === null)
    throw new RenderError(`package ${pkg.metadata.name} ${pkg.metadata.version} has no Marathon template`);
  const userOptions = input.options ?? {};
  const mergedOptions = deepMerge(defaultsOf(pkg.config), userOptions);
  validateOptions(pkg.config, mergedOptions);
  const context = { ...mergedOptions, resource: pkg.resource };
  let text: string;
  try {
    text = Mustache.render(pkg.marathonTemplate, context, {}, { escape: (v: unknown) => String(v) });
  } catch (err) {
    throw new RenderError(`the Marathon template does not render: ${(err as Error).message}`);
  }
  let definition: unknown;
  try {
    definition = JSON.parse(text);
  } catch (err) {
    throw new RenderError(`the rendered template is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(definition)) throw new RenderError('the rendered template is not a JSON object');
  if (input.appId !== undefined) definition.id = input.appId;
  const labels: Record<string, string> = {
    DCOS_PACKAGE_NAME: pkg.metadata.name,
    DCOS_PACKAGE_VERSION: pkg.metadata.version,
    DCOS_PACKAGE_SOURCE: input.source,
    // Keys sorted: the same options give the same label, whatever order they were stored in.
    DCOS_PACKAGE_OPTIONS: b64(sortKeys(userOptions)),
    DCOS_PACKAGE_DEFINITION: b64({
      ...pkg.metadata,
      config: pkg.config,
      marathon: { v2AppMustacheTemplate: b64raw(pkg.marathonTemplate) },
      resource: pkg.resource,
    }),
    DCOS_PACKAGE_METADATA: b64(pkg.metadata),
  };
  if (pkg.metadata.framework) {
    const name = typeof definition.id === 'string' ? definition.id.replace(/^\//, '') : pkg.metadata.name;
    labels.DCOS_PACKAGE_FRAMEWORK_NAME = name;
  }
  const label = (app: JsonObject) => {
    app.labels = { ...(isObject(app.labels) ? app.labels : {}), ...labels };
  };
  if (Array.isArray(definition.apps) || Array.isArray(definition.groups)) {
    const walk = (group: JsonObject) => {
      for (const app of Array.isArray(group.apps) ? group.apps : []) if (isObject(app)) label(app);
      for (const sub of Array.isArray(group.groups) ? group.groups : []) if (isObject(sub)) walk(sub);
    };
    walk(definition);
  } else {
    label(definition);
  }
  return { definition, mergedOptions };
}

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k]!)]),
  );
}

function b64raw(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

import type { ErrorObject, ValidateFunction } from 'ajv';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import Mustache from 'mustache';
import { cosmosView, type Json } from './cosmos-view';
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

type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The defaults a JSON Schema declares, as one object (Cosmos's extractDefaultsFromSchema): a
 * property's `default`, or for a property with `properties` and no default, the defaults of its
 * own properties (an empty object when it has none, as Cosmos gives it: a section over it renders).
 */
export function defaultsOf(schema: unknown): JsonObject {
  const out: JsonObject = {};
  if (!isObject(schema) || !isObject(schema.properties)) return out;
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (!isObject(prop)) continue;
    if ('default' in prop) out[key] = prop.default as Json;
    else if ('properties' in prop) out[key] = defaultsOf(prop);
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

/**
 * A `pattern` as Cosmos's validator compiled it: an ECMAScript regular expression without the
 * unicode flag (fge's json-schema-validator runs patterns through Rhino), so escapes such as `\-`
 * or `\_` that a unicode RegExp refuses are accepted. A pattern no engine here can compile is
 * left unchecked rather than failing the whole package.
 */
function schemaRegExp(pattern: string): { test: (s: string) => boolean } {
  try {
    return new RegExp(pattern);
  } catch {
    return { test: () => true };
  }
}

/**
 * config.json is JSON Schema draft 4, the draft Cosmos validated with (fge's json-schema-validator):
 * `id` (not `$id`), boolean `exclusiveMinimum`/`exclusiveMaximum`. Of the formats, draft 4's own
 * are checked (`uri` as a URI reference: java.net.URI accepts relative ones); the others
 * (`password`, `textarea`, …) only tell a form how to show the field and are ignored, as there.
 */
const ajv = new Ajv04({
  strict: false,
  allErrors: true,
  validateSchema: false,
  useDefaults: false,
  logger: false,
  // Two packages' config.json may carry the same `id`: compile each on its own.
  addUsedSchema: false,
  code: { regExp: schemaRegExp as never },
});
addFormats.default(ajv, ['date-time', 'email', 'hostname', 'ipv4', 'ipv6', 'regex']);
ajv.addFormat('uri', addFormats.default.get('uri-reference'));
for (const loose of ['password', 'textarea']) ajv.addFormat(loose, true);

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

/**
 * Checks options against the package's config.json; throws RenderError naming each bad field. As
 * Cosmos: nothing to check when there are no options at all, and options for a package without a
 * config.json are refused.
 */
export function validateOptions(config: Record<string, unknown> | null, options: JsonObject): void {
  if (Object.keys(options).length === 0) return;
  if (!config) throw new RenderError('this package takes no options (it has no config.json)');
  let validate: ValidateFunction;
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
 * Renders a package's Marathon template as Cosmos does (PackageDefinitionRenderer):
 * 1. the schema's defaults deep-merged with the user's options;
 * 2. validated against config.json (draft 4);
 * 3. resource.json deep-merged over them as `resource` (an option group of that name keeps its
 *    other keys);
 * 4. Mustache over Cosmos's data model (see cosmos-view.ts: strings JSON-escaped, lists and numbers
 *    as Java prints them), without HTML escaping;
 * 5. the result must be a JSON object whose `labels`, if any, are all strings;
 * 6. the optional id override;
 * 7. labels DCOS_PACKAGE_NAME, _VERSION, _SOURCE, _OPTIONS (base64 of the user's options),
 *    _DEFINITION (base64 of the package definition) and _METADATA (base64 of its metadata) over the
 *    template's own. Atoll adds DCOS_PACKAGE_FRAMEWORK_NAME for a framework whose template does not
 *    set it (Cosmos leaves it to the template). A rendered group gets them on the group's apps.
 */
export function renderPackage(input: RenderInput): Rendered {
  const { pkg } = input;
  if (pkg.marathonTemplate === null)
    throw new RenderError(`package ${pkg.metadata.name} ${pkg.metadata.version} has no Marathon template`);
  const userOptions = input.options ?? {};
  const mergedOptions = deepMerge(pkg.config ? defaultsOf(pkg.config) : {}, userOptions);
  validateOptions(pkg.config, mergedOptions);
  const context = deepMerge(mergedOptions, { resource: pkg.resource as JsonObject });
  let text: string;
  try {
    text = Mustache.render(pkg.marathonTemplate, cosmosView(context), {}, { escape: (v: unknown) => String(v) });
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
  const frameworkName = typeof definition.id === 'string' ? definition.id.replace(/^\//, '') : pkg.metadata.name;
  const label = (app: JsonObject, where: string) => {
    const own = templateLabels(app.labels, where);
    app.labels = {
      ...(pkg.metadata.framework && own.DCOS_PACKAGE_FRAMEWORK_NAME === undefined
        ? { DCOS_PACKAGE_FRAMEWORK_NAME: frameworkName }
        : {}),
      ...own,
      ...labels,
    };
  };
  if (Array.isArray(definition.apps) || Array.isArray(definition.groups)) {
    const walk = (group: JsonObject, where: string) => {
      (Array.isArray(group.apps) ? group.apps : []).forEach((app, i) => {
        if (isObject(app)) label(app, `${where}apps.${i}.`);
      });
      (Array.isArray(group.groups) ? group.groups : []).forEach((sub, i) => {
        if (isObject(sub)) walk(sub, `${where}groups.${i}.`);
      });
    };
    walk(definition, '');
  } else {
    label(definition, '');
  }
  return { definition, mergedOptions };
}

/**
 * The labels a template rendered: absent or null is none; anything but an object of strings is
 * refused, as Cosmos refuses it (Marathon would, with a less helpful message).
 */
function templateLabels(labels: Json | undefined, where: string): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  if (!isObject(labels))
    throw new RenderError(`the rendered template's ${where}labels is not an object of strings`, [
      { path: `${where}labels`, message: 'must be an object of strings' },
    ]);
  for (const [k, v] of Object.entries(labels))
    if (typeof v !== 'string')
      throw new RenderError(`the rendered template's ${where}labels.${k} is not a string`, [
        { path: `${where}labels.${k}`, message: 'must be a string' },
      ]);
  return labels as Record<string, string>;
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

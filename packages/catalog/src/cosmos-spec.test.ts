import { describe, expect, it } from 'vitest';
import { javaDoubleString, javaNumberString } from './cosmos-view';
import type { PackageDefinition } from './package';
import { RenderError, renderPackage, validateOptions } from './render';

/**
 * Cosmos's own renderer cases (dcos/cosmos PackageDefinitionRendererSpec), restated against
 * Atoll's renderer, and the data model they imply (PackageDefinitionRenderer.jsonToJava).
 */

const SOURCE = 'http://someplace';

function pkgOf(template: string, over: Partial<PackageDefinition> = {}): PackageDefinition {
  return {
    metadata: {
      packagingVersion: '3.0',
      name: 'test',
      version: '1.2.3',
      description: 'description',
      tags: [],
      maintainer: 'maintainer',
      licenses: [],
      selected: false,
      framework: false,
    },
    config: null,
    marathonTemplate: template,
    resource: {},
    ...over,
  };
}

/** A config.json whose defaults are `json` (the spec's buildConfig). */
function configOf(json: unknown): Record<string, unknown> {
  if (json !== null && typeof json === 'object' && !Array.isArray(json))
    return {
      type: 'object',
      properties: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, configOf(v)])),
    };
  const type = json === null ? 'null' : Array.isArray(json) ? 'array' : typeof json;
  return { type, default: json };
}

const renderTemplate = (template: string, context: Record<string, unknown>) =>
  renderPackage({
    pkg: pkgOf(template, { config: configOf(context) }),
    source: SOURCE,
  }).definition;

const decode = (b64: string) => JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as unknown;

describe("Cosmos's PackageDefinitionRendererSpec", () => {
  it('labels that are not a map of strings are an error naming the label', () => {
    const template = '{ "labels": { "idx": 0, "string": "value" } }';
    expect(() => renderPackage({ pkg: pkgOf(template), source: SOURCE })).toThrow(/labels\.idx is not a string/);
  });

  it('without labels in the template, the app gets only the package labels and keeps its fields', () => {
    const d = renderPackage({ pkg: pkgOf('{ "env": { "some": "thing" } }'), source: SOURCE }).definition;
    expect(d.env).toEqual({ some: 'thing' });
    expect(Object.keys(d.labels as object).sort()).toEqual([
      'DCOS_PACKAGE_DEFINITION',
      'DCOS_PACKAGE_METADATA',
      'DCOS_PACKAGE_NAME',
      'DCOS_PACKAGE_OPTIONS',
      'DCOS_PACKAGE_SOURCE',
      'DCOS_PACKAGE_VERSION',
    ]);
  });

  it("a template's own string labels are left intact", () => {
    const d = renderPackage({ pkg: pkgOf('{"labels":{"a":"A","b":"B"}}'), source: SOURCE }).definition;
    expect(d.labels).toMatchObject({ a: 'A', b: 'B' });
  });

  // The spec's Examples table: (defaults, options, merged), checked through a template that
  // prints every merged leaf.
  it.each([
    [{}, {}, {}],
    [{}, { a: false }, { a: false }],
    [{ a: false }, {}, { a: false }],
    [{ a: false }, { a: false }, { a: false }],
    [{ a: { a: false } }, { a: {} }, { a: { a: false } }],
    [{ a: { a: false } }, { a: { a: false } }, { a: { a: false } }],
    [{ a: { a: false } }, { a: { b: false } }, { a: { a: false, b: false } }],
  ])('merges defaults %j with options %j into %j', (defaults, options, merged) => {
    const leaves: Array<[string, unknown]> = [];
    const walk = (v: unknown, p: string[]) => {
      if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
      else leaves.push([p.join('.'), v]);
    };
    walk(merged, []);
    const template = `{${[['id', '"options-test"'], ...leaves.map(([k]) => [k, `{{${k}}}`])]
      .map(([k, v]) => `"${k}":${v}`)
      .join(',')}}`;
    const pkg = pkgOf(template, { config: configOf(defaults) });
    // The merged options allow what the options add (b) on top of the defaults' schema.
    const d = renderPackage({ pkg, source: SOURCE, options: options as never }).definition;
    for (const [k, v] of leaves) expect(d[k]).toBe(v);
  });

  it('follows the priority defaults → options → resource → template labels → package labels → appId', () => {
    const template = `{
      "id": "{{opt.id}}",
      "uri": "{{resource.assets.uris.blob}}",
      "labels": { "DCOS_PACKAGE_NAME": "{{opt.name}}" }
    }`;
    const pkg = pkgOf(template, {
      metadata: { ...pkgOf('').metadata, packagingVersion: '2.0' },
      config: {
        type: 'object',
        properties: {
          opt: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' } } },
          resource: { type: 'object' },
        },
      },
      resource: { assets: { uris: { blob: 'http://someplace/blob' } } },
    });
    const options = {
      opt: { id: 'should-be-overridden-id', name: 'testing-name' },
      resource: { assets: { uris: { blob: 'should-be-overridden-blob' } } },
    };
    const d = renderPackage({ pkg, source: SOURCE, options, appId: '/override' }).definition;
    expect(d.id).toBe('/override');
    expect(d.uri).toBe('http://someplace/blob');
    const labels = d.labels as Record<string, string>;
    expect(labels.DCOS_PACKAGE_NAME).toBe('test');
    expect(labels.DCOS_PACKAGE_SOURCE).toBe(SOURCE);
    expect(labels.DCOS_PACKAGE_VERSION).toBe('1.2.3');
    expect(decode(labels.DCOS_PACKAGE_OPTIONS!)).toEqual(options);
    expect(decode(labels.DCOS_PACKAGE_METADATA!)).toMatchObject({ name: 'test', version: '1.2.3' });
  });

  it('a package without a Marathon template is an error', () => {
    expect(() => renderPackage({ pkg: { ...pkgOf(''), marathonTemplate: null }, source: SOURCE })).toThrow(
      /has no Marathon template/,
    );
  });

  it('options for a package without config.json are refused (OptionsNotAllowed)', () => {
    expect(() =>
      renderPackage({ pkg: pkgOf('{"id": "{{option.id}}"}'), source: SOURCE, options: { option: { id: 'x' } } }),
    ).toThrow(/takes no options/);
  });

  it('a render that is not JSON, or not a JSON object, is an error', () => {
    expect(() => renderPackage({ pkg: pkgOf('{"id": "broken"'), source: SOURCE })).toThrow(/not JSON/);
    expect(() => renderPackage({ pkg: pkgOf('["not-an-object"]'), source: SOURCE })).toThrow(
      /not a JSON object/,
    );
  });

  it('the appId given replaces the rendered id', () => {
    const pkg = pkgOf('{"id": "{{option.id}}"}', { config: configOf({ option: { id: 'default' } }) });
    const d = renderPackage({ pkg, source: SOURCE, options: { option: { id: 'x' } }, appId: '/override' });
    expect(d.definition.id).toBe('/override');
  });

  it.each(['2.0', '3.0', '4.0', '5.0'] as const)('adds resource to the context (packagingVersion %s)', (v) => {
    const pkg = pkgOf('{ "some": "{{resource.assets.uris.blob}}" }', {
      metadata: { ...pkgOf('').metadata, packagingVersion: v },
      resource: { assets: { uris: { blob: 'http://someplace/blob' } } },
    });
    expect(renderPackage({ pkg, source: SOURCE }).definition.some).toBe('http://someplace/blob');
  });

  it('renders special characters JSON-escaped, not HTML-encoded, and numbers and booleans as JSON', () => {
    const special = '\n\'"\\\r\t\b\f';
    const d = renderTemplate(
      '{ "string": "{{stringExample}}", "int": {{intExample}}, "double": {{doubleExample}}, "boolean": {{booleanExample}} }',
      { stringExample: special, intExample: 42, doubleExample: 42.1, booleanExample: false },
    );
    expect(d).toMatchObject({ string: special, int: 42, double: 42.1, boolean: false });
  });
});

describe("Cosmos's data model (jsonToJava) in templates", () => {
  it('prints an array of strings as a JSON array, quoted, and iterates it with quoted items', () => {
    const d = renderTemplate('{ "a": {{list}}, "b": [{{#list}}{{.}}, {{/list}}"end"], "n": {{nums}} }', {
      list: ['x', 'y"z'],
      nums: [1, 2.5],
    });
    expect(d.a).toEqual(['x', 'y"z']);
    expect(d.n).toEqual([1, 2.5]);
    // Inside an array a string keeps its quotes (as in Cosmos), so items print as JSON strings.
    expect(d.b).toEqual(['x', 'y"z', 'end']);
  });

  it('prints an object as a java.util.Map does', () => {
    const d = renderTemplate('{ "o": "{{obj}}" }', { obj: { k: 'v', n: 1 } });
    expect(d.o).toBe('{k=v, n=1}');
  });

  it('renders a section over 0 (a Number is truthy in mustache.java) and skips its inverse', () => {
    const d = renderTemplate('{ "args": "{{#failures}}--disable_after_failures {{failures}}{{/failures}}{{^failures}}none{{/failures}}" }', {
      failures: 0,
    });
    expect(d.args).toBe('--disable_after_failures 0');
  });

  it('skips sections over false, an empty string, an empty list and null; renders one over an empty object', () => {
    const d = renderTemplate(
      '{ "s": "{{#f}}f{{/f}}{{#e}}e{{/e}}{{#l}}l{{/l}}{{#o}}o{{/o}}{{^l}}!l{{/l}}" }',
      { f: false, e: '', l: [], o: {} },
    );
    expect(d.s).toBe('o!l');
  });

  it.each([
    [1, '1'],
    [1.5, '1.5'],
    [100.25, '100.25'],
    [2147483647, '2147483647'],
    [2147483648, '2.147483648E9'],
    [1e10, '1.0E10'],
    [0.0001, '1.0E-4'],
    [-3, '-3'],
  ])('prints the number %d as Java does: %s', (n, s) => {
    expect(javaNumberString(n)).toBe(s);
  });

  it('prints doubles as java.lang.Double.toString', () => {
    expect(javaDoubleString(1)).toBe('1.0');
    expect(javaDoubleString(1234567)).toBe('1234567.0');
    expect(javaDoubleString(12345678)).toBe('1.2345678E7');
    expect(javaDoubleString(0.001)).toBe('0.001');
  });

  it('{{#asJson}}name{{/asJson}} prints a string holding JSON as it is, and other values as JSON', () => {
    const d = renderTemplate(
      '{ "constraints": {{#asJson}}service.constraints{{/asJson}}, "env": {{#asJson}} service.env {{/asJson}} }',
      { service: { constraints: '[["hostname", "UNIQUE"]]', env: { A: 'x"y' } } },
    );
    expect(d.constraints).toEqual([['hostname', 'UNIQUE']]);
    expect(d.env).toEqual({ A: 'x"y' });
  });

  it('merges resource.json into an option group named resource instead of replacing it', () => {
    const pkg = pkgOf('{ "cpus": {{resource.cpus}}, "image": "{{resource.assets.container.docker.main}}" }', {
      config: {
        type: 'object',
        properties: { resource: { type: 'object', properties: { cpus: { type: 'number', default: 0.5 } } } },
      },
      resource: { assets: { container: { docker: { main: 'minio/minio:latest' } } } },
    });
    expect(renderPackage({ pkg, source: SOURCE }).definition).toMatchObject({
      cpus: 0.5,
      image: 'minio/minio:latest',
    });
  });

  it("keeps a template's own DCOS_PACKAGE_FRAMEWORK_NAME; adds one only for a framework without it", () => {
    const framework = { ...pkgOf('').metadata, framework: true };
    const own = renderPackage({
      pkg: pkgOf('{"id": "/concord", "labels": {"DCOS_PACKAGE_FRAMEWORK_NAME": "concord.dcos"}}', {
        metadata: framework,
      }),
      source: SOURCE,
    }).definition;
    expect((own.labels as Record<string, string>).DCOS_PACKAGE_FRAMEWORK_NAME).toBe('concord.dcos');
    const added = renderPackage({ pkg: pkgOf('{"id": "/x"}', { metadata: framework }), source: SOURCE });
    expect((added.definition.labels as Record<string, string>).DCOS_PACKAGE_FRAMEWORK_NAME).toBe('x');
  });
});

describe('config.json as JSON Schema draft 4', () => {
  it('accepts `id`, boolean exclusiveMinimum and non-unicode regex escapes', () => {
    const config = {
      id: 'http://example.com/config',
      $schema: 'http://json-schema.org/schema#',
      type: 'object',
      properties: {
        n: { id: 'n', type: 'number', minimum: 0, exclusiveMinimum: true },
        name: { type: 'string', pattern: '^[a-z0-9\\-\\_]+$' },
      },
    };
    expect(() => validateOptions(config, { n: 1, name: 'a-b_c' })).not.toThrow();
    let err: unknown;
    try {
      validateOptions(config, { n: 0, name: 'A B' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RenderError);
    expect((err as RenderError).issues.map((i) => i.path).sort()).toEqual(['n', 'name']);
  });

  it('checks draft 4 formats (uri as a reference, ipv4) and ignores form-only ones', () => {
    const config = {
      type: 'object',
      properties: {
        u: { type: 'string', format: 'uri' },
        ip: { type: 'string', format: 'ipv4' },
        p: { type: 'string', format: 'password' },
        any: { type: 'string', format: 'made-up' },
      },
    };
    expect(() => validateOptions(config, { u: 'relative/path', ip: '10.0.0.1', p: 'x', any: 'y' })).not.toThrow();
    expect(() => validateOptions(config, { ip: '10.0.0.999' })).toThrow(/ip/);
  });
});

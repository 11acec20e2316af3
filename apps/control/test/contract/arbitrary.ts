import fc from 'fast-check';

/**
 * JSON Schema (the subset the OpenAPI document uses) → fast-check arbitraries: values the schema
 * accepts (`valid`) and values it refuses (`invalid`). What schemathesis does with Hypothesis,
 * small enough to read: type, enum, const, properties/required, additionalProperties, items,
 * minimum/maximum, minLength/maxLength, minItems/maxItems, pattern, format uuid/date-time,
 * anyOf/oneOf, allOf (merged), nullable (3.0) and type lists (3.1), $ref into the document.
 */
export type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  prefixItems?: Schema[];
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  nullable?: boolean;
  default?: unknown;
  [k: string]: unknown;
};

export class SchemaContext {
  constructor(private readonly root: Record<string, unknown>) {}

  /** Follows `$ref`s (local JSON pointers only: the document is self-contained). */
  resolve(schema: Schema): Schema {
    let s = schema;
    for (let i = 0; s.$ref && i < 20; i++) s = this.pointer(s.$ref);
    return s;
  }

  pointer(ref: string): Schema {
    if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
    let node: unknown = this.root;
    for (const raw of ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      node = (node as Record<string, unknown> | undefined)?.[key];
    }
    if (!node || typeof node !== 'object') throw new Error(`$ref ${ref} does not resolve`);
    return node as Schema;
  }
}

/** A string with none of what the server refuses in every string: NUL bytes, lone surrogates. */
const text = (minLength = 0, maxLength = 12) =>
  fc.string({ unit: 'grapheme', minLength, maxLength }).filter((s) => !s.includes('\u0000'));

const typesOf = (s: Schema): string[] => {
  const t = Array.isArray(s.type) ? [...s.type] : s.type ? [s.type] : [];
  if (s.nullable && !t.includes('null')) t.push('null');
  return t;
};

/** allOf merged into one schema (the document uses it only to combine object parts). */
function flatten(ctx: SchemaContext, schema: Schema): Schema {
  const s = ctx.resolve(schema);
  if (!s.allOf) return s;
  const merged: Schema = { ...s, allOf: undefined };
  for (const part of s.allOf.map((p) => flatten(ctx, p))) {
    merged.type ??= part.type;
    merged.properties = { ...merged.properties, ...part.properties };
    merged.required = [...(merged.required ?? []), ...(part.required ?? [])];
    if (part.additionalProperties !== undefined) merged.additionalProperties = part.additionalProperties;
  }
  return merged;
}

/** Values the schema accepts. `depth` bounds recursive schemas (groups hold groups). */
export function valid(ctx: SchemaContext, schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = flatten(ctx, schema);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) {
    const arbs = alternatives.map((a) => valid(ctx, a, depth + 1));
    return s.nullable ? fc.oneof(fc.constant(null), ...arbs) : fc.oneof(...arbs);
  }
  const types = typesOf(s);
  if (types.length > 1)
    return fc.oneof(...types.map((t) => valid(ctx, { ...s, type: t, nullable: false }, depth)));
  const type = types[0] ?? (s.properties ? 'object' : undefined);
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      const min = numericMin(s);
      const max = numericMax(s);
      if (type === 'integer')
        return fc.integer({ min: Math.ceil(min ?? -1_000_000), max: Math.floor(max ?? 1_000_000) });
      return fc
        .double({ min: min ?? -1e6, max: max ?? 1e6, noNaN: true, noDefaultInfinity: true })
        .filter(
          (n) =>
            !(s.exclusiveMinimum === true && n === s.minimum) &&
            !(s.exclusiveMaximum === true && n === s.maximum),
        );
    }
    case 'string':
      return validString(s);
    case 'array': {
      if (s.prefixItems) return fc.tuple(...s.prefixItems.map((p) => valid(ctx, p, depth + 1)));
      const item = s.items ? valid(ctx, s.items, depth + 1) : fc.jsonValue({ maxDepth: 1 });
      const minLength = s.minItems ?? 0;
      const maxLength = depth > 2 ? minLength : Math.max(minLength, Math.min(s.maxItems ?? 3, 3));
      return fc.array(item, { minLength, maxLength });
    }
    case 'object':
      return validObject(ctx, s, depth);
    default:
      // {} accepts anything JSON.
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function numericMin(s: Schema): number | undefined {
  if (typeof s.exclusiveMinimum === 'number') return s.exclusiveMinimum + (s.type === 'integer' ? 1 : 1e-6);
  return s.minimum;
}
function numericMax(s: Schema): number | undefined {
  if (typeof s.exclusiveMaximum === 'number') return s.exclusiveMaximum - (s.type === 'integer' ? 1 : 1e-6);
  return s.maximum;
}

function validString(s: Schema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? Number.POSITIVE_INFINITY;
  if (s.format === 'uuid') return fc.uuid();
  if (s.format === 'date-time')
    return fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
  if (s.pattern) {
    const re = new RegExp(s.pattern, 'u');
    return fc
      .stringMatching(re)
      .filter((x) => [...x].length >= min && [...x].length <= max && !x.includes('\u0000'));
  }
  return text(min, Math.min(max, min + 12)).filter((x) => [...x].length >= min && [...x].length <= max);
}

function validObject(ctx: SchemaContext, s: Schema, depth: number): fc.Arbitrary<unknown> {
  const props = s.properties ?? {};
  const keys = Object.keys(props);
  if (keys.length === 0) {
    if (s.additionalProperties === false) return fc.constant({});
    const value =
      typeof s.additionalProperties === 'object'
        ? valid(ctx, s.additionalProperties, depth + 1)
        : fc.jsonValue({ maxDepth: 1 });
    const key = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 });
    return fc.dictionary(key, value, { maxKeys: depth > 1 ? 0 : 3 });
  }
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const k of keys) shape[k] = valid(ctx, props[k]!, depth + 1);
  const required = (s.required ?? []).filter((k) => k in props);
  return fc.record(shape, { requiredKeys: required });
}

/** The kinds of refusal a negative case is made of (they name the failure in the report). */
export type Mutation = { kind: string; path: string; value: unknown };

/**
 * Values the schema refuses, each with what makes it wrong. null when the schema accepts every
 * JSON value ({}), so nothing can be refused.
 */
export function invalid(
  ctx: SchemaContext,
  schema: Schema,
  path: string,
  depth = 0,
): fc.Arbitrary<Mutation> | null {
  const s = flatten(ctx, schema);
  if (s.anyOf ?? s.oneOf) return null; // refusing every alternative at once is rarely meaningful
  const types = typesOf(s);
  const options: fc.Arbitrary<Mutation>[] = [];
  const m = (kind: string, arb: fc.Arbitrary<unknown>) =>
    options.push(arb.map((value) => ({ kind, path, value })));
  if (s.const !== undefined)
    m('not the const', fc.constant(typeof s.const === 'string' ? `${s.const}x` : 'x'));
  if (s.enum) {
    m(
      'not in enum',
      text(1, 8).filter((x) => !s.enum!.includes(x)),
    );
  }
  if (types.length > 0) {
    const wrong: fc.Arbitrary<unknown>[] = [];
    if (!types.includes('string')) wrong.push(text(1, 6));
    if (!types.includes('number') && !types.includes('integer')) wrong.push(fc.integer());
    if (!types.includes('boolean')) wrong.push(fc.boolean());
    if (!types.includes('null')) wrong.push(fc.constant(null));
    if (!types.includes('array')) wrong.push(fc.constant([1]));
    if (!types.includes('object')) wrong.push(fc.constant({ x: 1 }));
    m('wrong type', fc.oneof(...wrong));
  }
  const type = types.find((t) => t !== 'null');
  if (type === 'string' && !s.enum && s.const === undefined) {
    m(
      'NUL byte',
      text(0, 6).map((x) => `${x}\u0000${x}`),
    );
    if ((s.minLength ?? 0) > 0) m('too short', fc.constant(''));
    if (s.maxLength !== undefined) m('too long', fc.constant('x'.repeat(s.maxLength + 1)));
    if (s.format === 'uuid')
      m('not a uuid', fc.constantFrom('not-a-uuid', '1234', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'));
  }
  if (type === 'integer' || type === 'number') {
    const min = numericMin(s);
    const max = numericMax(s);
    if (min !== undefined)
      m(
        'below minimum',
        fc.integer({ min: -1000, max: -1 }).map((d) => Math.floor(min) + d),
      );
    if (max !== undefined)
      m(
        'above maximum',
        fc.integer({ min: 1, max: 1000 }).map((d) => Math.ceil(max) + d),
      );
    if (type === 'integer') m('not an integer', fc.constantFrom(0.5, 1.25, -2.5));
  }
  if (type === 'array') {
    if ((s.minItems ?? 0) > 0) m('too few items', fc.constant([]));
    if (s.items && depth < 3) {
      const item = invalid(ctx, s.items, `${path}[0]`, depth + 1);
      const good = valid(ctx, s, depth + 1);
      if (item)
        options.push(
          fc
            .tuple(item, good)
            .map(([bad, rest]) => ({ ...bad, value: [bad.value, ...(rest as unknown[]).slice(1)] })),
        );
    }
  }
  if (type === 'object' && depth < 3) {
    const props = s.properties ?? {};
    const good = validObject(ctx, s, depth) as fc.Arbitrary<Record<string, unknown>>;
    for (const k of s.required ?? []) {
      if (!(k in props)) continue;
      options.push(
        good.map((o) => {
          const c = { ...o };
          delete c[k];
          return { kind: 'missing required', path: `${path}.${k}`, value: c };
        }),
      );
    }
    if (s.additionalProperties === false)
      options.push(
        good.map((o) => ({
          kind: 'unknown property',
          path: `${path}.unknownProperty`,
          value: { ...o, unknownProperty: 1 },
        })),
      );
    for (const [k, ps] of Object.entries(props)) {
      const bad = invalid(ctx, ps, `${path}.${k}`, depth + 1);
      if (bad) options.push(fc.tuple(good, bad).map(([o, b]) => ({ ...b, value: { ...o, [k]: b.value } })));
    }
  }
  return options.length > 0 ? fc.oneof(...options) : null;
}

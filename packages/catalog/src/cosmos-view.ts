/**
 * The Mustache context Cosmos renders templates with, rebuilt for mustache.js.
 *
 * Cosmos (PackageDefinitionRenderer.jsonToJava) hands mustache.java Java values made from the
 * options JSON, and what a template prints follows from them:
 * - a string is JSON-escaped without its quotes (`a"b` prints `a\"b`, so a default holding `"`,
 *   `\` or a newline stays valid JSON), except inside an array, where it keeps its quotes;
 * - a number is an Integer when it is one that fits 32 bits, else a Double printed as Java prints
 *   it (`0.5`, `100.0`, `1.0E10`); as a section, any number is truthy, 0 included;
 * - an array is a java.util.List, printed `[a, b]`; an object a java.util.Map, printed `{k=v}`;
 * - booleans and null are themselves.
 * mustache.js would print arrays as `a,b`, skip sections over 0 and leave strings unescaped; the
 * classes below give it the Java behaviour while keeping what its sections test for (a List is an
 * Array, a Map a plain object, a number an object that is always truthy).
 *
 * Cosmos 0.7 (dcos/cosmos#786) added the lambda `{{#asJson}}name{{/asJson}}`: the value of `name`
 * as raw JSON, a string as it is (it holds JSON text), anything else serialised.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is { [k: string]: Json } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** java.lang.Double.toString: plain between 10⁻³ and 10⁷, else computerized scientific notation. */
export function javaDoubleString(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (!Number.isFinite(d)) return d > 0 ? 'Infinity' : '-Infinity';
  if (d === 0) return Object.is(d, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(d);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(d);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa = '', exponent = '0'] = d.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/** circe's `n.toInt.getOrElse(n.toDouble)`: an Integer when it fits, else a Double. */
export function javaNumberString(n: number): string {
  return Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 ? String(n) : javaDoubleString(n);
}

/** A number as mustache.java sees a java.lang.Number: printed the Java way, truthy as a section. */
export class JavaNumber {
  constructor(readonly value: number) {}
  toString(): string {
    return javaNumberString(this.value);
  }
}

/** A java.util.List: iterated by sections, printed `[a, b]` by a variable tag. */
export class JavaList extends Array<unknown> {
  override toString(): string {
    return `[${Array.from(this, javaString).join(', ')}]`;
  }
}

function javaString(v: unknown): string {
  return v === null || v === undefined ? 'null' : String(v);
}

/** A java.util.Map: a plain object for lookups and sections, printed `{k=v, k2=v2}`. */
function javaMap(entries: Array<[string, unknown]>): Record<string, unknown> {
  const map: Record<string, unknown> = Object.fromEntries(entries);
  Object.defineProperty(map, 'toString', {
    enumerable: false,
    value: () => `{${entries.map(([k, v]) => `${k}=${javaString(v)}`).join(', ')}}`,
  });
  return map;
}

/** A JSON string as Cosmos puts it in the context: JSON-escaped, quoted only inside an array. */
function escapedString(s: string, inArray: boolean): string {
  const quoted = JSON.stringify(s);
  return inArray ? quoted : quoted.slice(1, -1);
}

/** Cosmos's jsonToJava, as values mustache.js renders the same way mustache.java rendered those. */
export function toMustacheValue(json: Json, inArray = false): unknown {
  if (json === null || typeof json === 'boolean') return json;
  if (typeof json === 'number') return new JavaNumber(json);
  if (typeof json === 'string') return escapedString(json, inArray);
  if (Array.isArray(json)) {
    const list = new JavaList();
    for (const item of json) list.push(toMustacheValue(item, true));
    return list;
  }
  return javaMap(Object.entries(json).map(([k, v]) => [k, toMustacheValue(v, false)]));
}

function lookupPath(context: { [k: string]: Json }, name: string): Json | undefined {
  let value: Json | undefined = context;
  for (const part of name.split('.')) {
    if (!isObject(value)) return undefined;
    value = value[part];
  }
  return value;
}

/**
 * The whole view for mustache.js: the options (with `resource`) as Java values, and the `asJson`
 * lambda (an option of that name wins, as it would shadow the lambda in Cosmos's scope).
 */
export function cosmosView(context: { [k: string]: Json }): Record<string, unknown> {
  const asJson = () => (text: string) => {
    const value = lookupPath(context, text.trim());
    if (value === undefined) return '';
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
  return { asJson, ...(toMustacheValue(context) as Record<string, unknown>) };
}

/** Pure helpers of the catalog pages: icons, the options form's UI schema and server errors. */

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The best icon a package carries for a size (Universe's icon-small/medium/large), or null. */
export function iconOf(images: unknown, size: 'small' | 'medium' | 'large' = 'medium'): string | null {
  if (!isObject(images)) return null;
  for (const key of [`icon-${size}`, 'icon-medium', 'icon-large', 'icon-small']) {
    const v = images[key];
    if (typeof v === 'string' && /^(data:image\/|https?:\/\/)/.test(v)) return v;
  }
  return null;
}

/**
 * rjsf's UI schema for a package's options: passwords are masked, `textarea` fields get a text
 * area, and every object section starts open.
 */
export function uiSchemaOf(schema: unknown): JsonObject {
  if (!isObject(schema)) return {};
  const out: JsonObject = {};
  if (schema.format === 'password') out['ui:widget'] = 'password';
  if (schema.format === 'textarea' || schema.media === 'textarea') out['ui:widget'] = 'textarea';
  if (isObject(schema.properties))
    for (const [k, prop] of Object.entries(schema.properties)) {
      const sub = uiSchemaOf(prop);
      if (Object.keys(sub).length > 0) out[k] = sub;
    }
  return out;
}

/** rjsf's `extraErrors` from the API's field issues (`options.resources.cpus` → resources.cpus). */
export function extraErrorsOf(issues: Array<{ path: string; message: string }>): JsonObject {
  const out: JsonObject = {};
  for (const { path, message } of issues) {
    const parts = path
      .replace(/^options\.?/, '')
      .split('.')
      .filter(Boolean);
    let at = out;
    for (const p of parts) at = (at[p] ??= {}) as JsonObject;
    ((at.__errors ??= []) as string[]).push(message);
  }
  return out;
}

/** Issues the form cannot place (not under `options.`): shown above it. */
export function generalIssues(issues: Array<{ path: string; message: string }>): string[] {
  return issues.filter((i) => !i.path.startsWith('options.')).map((i) => `${i.path}: ${i.message}`);
}

/** Case-insensitive match of every word against a package's name, tags and description. */
export function matchesQuery(
  pkg: { name: string; tags: string[]; description: string },
  query: string,
): boolean {
  const hay = [pkg.name, ...pkg.tags, pkg.description].join(' ').toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

/** The package an app came from, by Cosmos's labels, or null. */
export function packageOf(labels: unknown): { name: string; version: string } | null {
  if (!isObject(labels)) return null;
  const name = labels.DCOS_PACKAGE_NAME;
  if (typeof name !== 'string' || name === '') return null;
  return {
    name,
    version: typeof labels.DCOS_PACKAGE_VERSION === 'string' ? labels.DCOS_PACKAGE_VERSION : '',
  };
}

export function packageHref(name: string, opts: { version?: string; appId?: string } = {}): string {
  const q = new URLSearchParams({ name });
  if (opts.version) q.set('version', opts.version);
  if (opts.appId) q.set('appId', opts.appId);
  return `/catalog/package?${q.toString().replace(/%2F/gi, '/')}`;
}

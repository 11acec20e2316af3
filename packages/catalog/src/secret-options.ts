/**
 * Package options that are secrets. Universe's config.json has no marker for them (Cosmos kept
 * every option in the rendered Marathon app), so Atoll reads its own: a property with
 * `"x-atoll-secret": true`. On install such an option's value is stored in the secret store as
 * `/<app id>/<option path>`, and the rendered app refers to it (`secrets` + `env: {X: {secret}}`);
 * neither the app definition nor the stored install options keep the value.
 */
export const SECRET_OPTION_KEYWORD = 'x-atoll-secret';

/** Dotted paths (`elasticsearch.password`) of the options config.json marks as secrets. */
export function secretOptionPaths(config: Record<string, unknown> | null): string[] {
  const out: string[] = [];
  const walk = (schema: unknown, prefix: string) => {
    if (!schema || typeof schema !== 'object') return;
    const s = schema as { properties?: Record<string, unknown>; [k: string]: unknown };
    if (prefix && s[SECRET_OPTION_KEYWORD] === true) out.push(prefix);
    for (const [k, child] of Object.entries(s.properties ?? {})) walk(child, prefix ? `${prefix}.${k}` : k);
  };
  walk(config, '');
  return out;
}

/** The value at a dotted path of an options object, or undefined. */
export function optionAt(options: Record<string, unknown>, path: string): unknown {
  let cur: unknown = options;
  for (const k of path.split('.')) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** A copy of `options` with the value at a dotted path replaced (objects on the way created). */
export function withOption(
  options: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  const copy = { ...options };
  if (rest.length === 0) copy[head!] = value;
  else {
    const child = copy[head!];
    copy[head!] = withOption(
      child && typeof child === 'object' && !Array.isArray(child) ? (child as Record<string, unknown>) : {},
      rest.join('.'),
      value,
    );
  }
  return copy;
}

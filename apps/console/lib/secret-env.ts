/**
 * Environment variables that refer to secrets, in a Marathon app definition:
 * `env: {X: {secret: name}}` with `secrets: {name: {source: path}}`. Pure, for the service form.
 */
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface SecretEnvRow {
  key: string;
  /** The name in `secrets`. */
  name: string;
  /** The secret's path, or null when `secrets` does not declare the name. */
  source: string | null;
}

export function secretEnvRows(def: Json): SecretEnvRow[] {
  const env = isObject(def.env) ? def.env : {};
  const secrets = isObject(def.secrets) ? def.secrets : {};
  return Object.entries(env).flatMap(([key, v]) => {
    if (!isObject(v) || typeof v.secret !== 'string') return [];
    const decl = secrets[v.secret];
    const source = isObject(decl) && typeof decl.source === 'string' ? decl.source : null;
    return [{ key, name: v.secret, source }];
  });
}

/** The definition with `key` set from the secret at `path` (declared under a name derived from it). */
export function withSecretEnv(def: Json, key: string, path: string): Json {
  const secrets = { ...(isObject(def.secrets) ? def.secrets : {}) };
  const existing = Object.entries(secrets).find(([, v]) => isObject(v) && v.source === path)?.[0];
  let name = existing ?? (path.split('/').filter(Boolean).join('-') || 'secret');
  if (!existing)
    for (let i = 2; name in secrets; i++) name = `${path.split('/').filter(Boolean).join('-')}-${i}`;
  secrets[name] = { source: path };
  return { ...def, env: { ...(isObject(def.env) ? def.env : {}), [key]: { secret: name } }, secrets };
}

/** The definition without the variable `key`; its secret declaration goes when nothing else uses it. */
export function withoutSecretEnv(def: Json, key: string): Json {
  const env = { ...(isObject(def.env) ? def.env : {}) };
  const ref = env[key];
  delete env[key];
  const out: Json = { ...def, env };
  if (isObject(ref) && typeof ref.secret === 'string' && isObject(def.secrets)) {
    const name = ref.secret;
    const stillUsed =
      Object.values(env).some((v) => isObject(v) && v.secret === name) ||
      (isObject(def.container) &&
        Array.isArray(def.container.volumes) &&
        def.container.volumes.some((v) => isObject(v) && v.secret === name));
    if (!stillUsed) {
      const { [name]: _gone, ...rest } = def.secrets;
      out.secrets = rest;
    }
  }
  return out;
}

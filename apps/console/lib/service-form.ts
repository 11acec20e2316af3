/**
 * The "Run a service" form and its JSON editor describe the same Marathon app definition. The
 * JSON is the source of truth: a form edit rewrites only the fields the form owns and keeps
 * everything else; a JSON edit refreshes the form fields it knows. Pure functions, so the two
 * directions can be tested without a browser.
 */

export type Json = Record<string, unknown>;

export interface EnvRow {
  key: string;
  value: string;
}

/** Every field is the text of its input; numbers are parsed when written to the JSON. */
export interface ServiceForm {
  id: string;
  image: string;
  cmd: string;
  instances: string;
  cpus: string;
  mem: string;
  /** Container port (Docker, bridge mapping) or, for a command, "needs a port". */
  port: string;
  env: EnvRow[];
}

export const initialForm: ServiceForm = {
  id: '',
  image: '',
  cmd: '',
  instances: '1',
  cpus: '0.1',
  mem: '128',
  port: '',
  env: [],
};

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A number when the text is one, else the text itself (so the API names the bad field). */
function numberOrText(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

function setOrDelete(obj: Json, key: string, value: unknown): void {
  if (value === undefined) delete obj[key];
  else obj[key] = value;
}

function isBridgeOnly(networks: unknown): boolean {
  return (
    Array.isArray(networks) &&
    networks.length > 0 &&
    networks.every((n) => isObject(n) && n.mode === 'container/bridge')
  );
}

function hasNonHostNetwork(networks: unknown): boolean {
  return (
    Array.isArray(networks) && networks.some((n) => isObject(n) && n.mode !== undefined && n.mode !== 'host')
  );
}

/** Writes the form into a copy of `base`, leaving fields the form does not own untouched. */
export function formToDefinition(form: ServiceForm, base: Json = {}): Json {
  const def: Json = { ...base };
  def.id = form.id;
  setOrDelete(def, 'cmd', form.cmd.trim() ? form.cmd : undefined);
  setOrDelete(def, 'instances', numberOrText(form.instances));
  setOrDelete(def, 'cpus', numberOrText(form.cpus));
  setOrDelete(def, 'mem', numberOrText(form.mem));
  const port = numberOrText(form.port);

  if (form.image.trim()) {
    // Docker image: the port is a bridge mapping with a host port picked by Atoll.
    const container: Json = isObject(base.container) ? { ...base.container } : {};
    container.type = 'DOCKER';
    container.docker = { ...(isObject(container.docker) ? container.docker : {}), image: form.image };
    const mappings: unknown[] = Array.isArray(container.portMappings)
      ? [...(container.portMappings as unknown[])]
      : [];
    if (port !== undefined) {
      const first = isObject(mappings[0]) ? mappings[0] : {};
      const mapping: Json = { containerPort: port, hostPort: 0, protocol: 'tcp', ...first };
      mapping.containerPort = port;
      mappings[0] = mapping;
    } else if (mappings.length > 0) {
      mappings.shift();
    }
    container.portMappings = mappings;
    def.container = container;
    if (!hasNonHostNetwork(base.networks)) def.networks = [{ mode: 'container/bridge' }];
    delete def.portDefinitions;
  } else {
    // A plain command: no container; a port is a host port assigned at launch ($PORT0).
    if (isObject(base.container) && base.container.docker !== undefined) delete def.container;
    if (isBridgeOnly(base.networks)) delete def.networks;
    const defs: unknown[] = Array.isArray(base.portDefinitions)
      ? [...(base.portDefinitions as unknown[])]
      : [];
    if (port === undefined) defs.length = 0;
    else if (defs.length === 0) defs.push({ port: 0 });
    def.portDefinitions = defs;
  }

  const env: Json = {};
  // Values the form cannot show (secret references) stay as they are.
  if (isObject(base.env))
    for (const [k, v] of Object.entries(base.env)) if (typeof v !== 'string') env[k] = v;
  for (const row of form.env) if (row.key.trim()) env[row.key.trim()] = row.value;
  // An empty env the definition already had stays (an edit must not show it as a change).
  setOrDelete(def, 'env', Object.keys(env).length > 0 || isObject(base.env) ? env : undefined);
  return def;
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : JSON.stringify(v);
}

/** Reads the fields the form knows out of a definition; `prev` fills what the JSON cannot say. */
export function definitionToForm(def: Json, prev: ServiceForm = initialForm): ServiceForm {
  const container = isObject(def.container) ? def.container : undefined;
  const docker = container && isObject(container.docker) ? container.docker : undefined;
  const image = docker ? text(docker.image) : '';
  let port = '';
  if (image) {
    const mappings = Array.isArray(container?.portMappings) ? (container.portMappings as unknown[]) : [];
    const first = mappings[0];
    if (isObject(first)) port = text(first.containerPort);
  } else {
    const defs = Array.isArray(def.portDefinitions) ? (def.portDefinitions as unknown[]) : [];
    const first = defs[0];
    if (isObject(first)) port = prev.port.trim() ? prev.port : text(first.port);
  }
  const env: EnvRow[] = isObject(def.env)
    ? Object.entries(def.env)
        .filter((e): e is [string, string] => typeof e[1] === 'string')
        .map(([key, value]) => ({ key, value }))
    : [];
  return {
    id: text(def.id),
    image,
    cmd: text(def.cmd),
    instances: text(def.instances),
    cpus: text(def.cpus),
    mem: text(def.mem),
    port,
    env,
  };
}

export function toJsonText(def: Json): string {
  return `${JSON.stringify(def, null, 2)}\n`;
}

export type ParsedJson = { ok: true; value: Json } | { ok: false; error: string };

export function parseJsonText(s: string): ParsedJson {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  return isObject(v)
    ? { ok: true, value: v }
    : { ok: false, error: 'The definition must be a JSON object ({ … })' };
}

export type FormField = 'id' | 'image' | 'cmd' | 'instances' | 'cpus' | 'mem' | 'port' | 'env';

/** Which form field an API issue path (`container.docker.image`, `env.FOO`) belongs to, if any. */
export function fieldForIssue(path: string): FormField | undefined {
  if (path === 'id' || path === 'cmd' || path === 'instances' || path === 'cpus' || path === 'mem')
    return path;
  if (path === 'container.docker.image' || path === 'container.docker') return 'image';
  if (/^container\.portMappings\.0(\.|$)/.test(path) || /^portDefinitions\.0(\.|$)/.test(path)) return 'port';
  if (path === 'env' || path.startsWith('env.')) return 'env';
  return undefined;
}

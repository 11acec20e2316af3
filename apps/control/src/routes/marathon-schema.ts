import { appDefinitionSchema } from '@atoll/spec';
import { z } from 'zod';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Marathon's `GET /v2/schemas/app` (served from 0.9 until 1.8; the DC/OS CLI 0.x validates
 * `dcos marathon app add` against it before posting): a JSON Schema (draft 4) of the app
 * definitions Atoll accepts, derived from the zod schema that validates POST /v2/apps itself.
 *
 * Atoll reads numbers and booleans given as strings (`"cpus": "0.5"`, as Marathon did), so the
 * schema lets a string through wherever it asks for a number or a boolean: a client's check must
 * never refuse what Atoll accepts. Atoll's own answer (422 naming each bad field) stays the
 * authority on the rest.
 */
export function appJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(appDefinitionSchema, {
    target: 'draft-4',
    io: 'input',
    unrepresentable: 'any',
  }) as Json;
  return acceptStringScalars(schema) as Record<string, unknown>;
}

function acceptStringScalars(node: Json): Json {
  if (Array.isArray(node)) return node.map(acceptStringScalars);
  if (node === null || typeof node !== 'object') return node;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) out[key] = acceptStringScalars(value);
  const scalar = (t: Json) => t === 'number' || t === 'integer' || t === 'boolean';
  const type = out.type;
  if (typeof type === 'string' && scalar(type)) out.type = [type, 'string'];
  else if (Array.isArray(type) && type.some(scalar) && !type.includes('string'))
    out.type = [...type, 'string'];
  return out;
}

import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Strings PostgreSQL cannot store: a NUL character (text and jsonb refuse U+0000), bytes that are
 * not UTF-8, and unpaired UTF-16 surrogates (a JSON `"\ud800"` has no UTF-8 form; jsonb refuses
 * it too). Found here, before any handler, so every surface answers 400 naming the field instead
 * of passing them down to a query that fails with a 500.
 */
export type InputProblem = 'nul' | 'utf8' | 'surrogate';

export interface InputIssue {
  /**
   * Where: `path`, `query.<name>`, `header.<name>`, `cookie.<name>`, or a body field's path as the
   * validation issues name it (`labels.team`, `0.id`; `(body)` for the body as a whole).
   */
  field: string;
  problem: InputProblem;
  message: string;
}

export const problemMessages: Record<InputProblem, string> = {
  nul: 'contains a NUL byte',
  utf8: 'is not valid UTF-8',
  surrogate: 'contains an unpaired UTF-16 surrogate (not encodable as UTF-8)',
};

function issue(field: string, problem: InputProblem): InputIssue {
  return { field, problem, message: problemMessages[problem] };
}

/** The first problem of a decoded string, or null. */
export function stringProblem(s: string): InputProblem | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'nul';
    if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate followed by a low one is a valid pair; anything else is unpaired.
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
      else return 'surrogate';
    }
  }
  return null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8 bytes, or null when they are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** The first problem of raw bytes meant as UTF-8 text, or null. */
export function bytesProblem(bytes: Uint8Array): InputProblem | null {
  const text = decodeUtf8(bytes);
  return text === null ? 'utf8' : stringProblem(text);
}

/**
 * The bytes of a string as it came off the wire: Node decodes request lines and header values as
 * latin1 (one char per byte), so those strings map back to their bytes one to one. A string with
 * wider chars was built in-process (e.g. Fastify's inject) and is already text: its UTF-8 form.
 */
export function wireBytes(s: string): Buffer {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u00ff]*$/.test(s) ? Buffer.from(s, 'latin1') : Buffer.from(s, 'utf8');
}

/**
 * Percent-decodes to bytes (and `+` to a space when `plus`); a `%` without two hex digits stays
 * as it is (the router and the query parser decide what that means).
 */
export function percentDecodeBytes(s: string, plus = false): Buffer {
  const bytes = wireBytes(s);
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x25 && i + 2 < bytes.length && isHex(bytes[i + 1]) && isHex(bytes[i + 2])) {
      out[n++] = parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16);
      i += 2;
    } else {
      out[n++] = plus && b === 0x2b ? 0x20 : b;
    }
  }
  return out.subarray(0, n);
}

function isHex(b: number | undefined): boolean {
  return (
    b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66))
  );
}

/** A query parameter's name for the field (its undecodable bytes shown as U+FFFD). */
function displayName(bytes: Buffer): string {
  const name = bytes.toString('utf8').replaceAll('\u0000', '\\0');
  return name === '' ? '(empty)' : name;
}

/**
 * The request target: the path (percent-decoded) and each query parameter, name and value
 * (`application/x-www-form-urlencoded` rules). `checkQuery: false` checks only the path.
 */
export function checkUrl(url: string, opts: { checkQuery?: boolean } = {}): InputIssue | null {
  const q = url.indexOf('?');
  const pathPart = q >= 0 ? url.slice(0, q) : url;
  const problem = bytesProblem(percentDecodeBytes(pathPart));
  if (problem) return issue('path', problem);
  if (q < 0 || opts.checkQuery === false) return null;
  const query = url.slice(q + 1);
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = percentDecodeBytes(eq >= 0 ? pair.slice(0, eq) : pair, true);
    const nameProblem = bytesProblem(name);
    if (nameProblem) return issue(`query.${displayName(name)}`, nameProblem);
    if (eq < 0) continue;
    const valueProblem = bytesProblem(percentDecodeBytes(pair.slice(eq + 1), true));
    if (valueProblem) return issue(`query.${displayName(name)}`, valueProblem);
  }
  return null;
}

/**
 * The query parameters as the server decodes them, by name (repeated names keep every value);
 * values with undecodable bytes are left out (checkUrl has answered for those already).
 */
export function queryParams(url: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const q = url.indexOf('?');
  if (q < 0) return out;
  for (const pair of url.slice(q + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeUtf8(percentDecodeBytes(eq >= 0 ? pair.slice(0, eq) : pair, true));
    const value = decodeUtf8(percentDecodeBytes(eq >= 0 ? pair.slice(eq + 1) : '', true));
    if (name === null || value === null) continue;
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

/**
 * Header values (NUL, UTF-8), and what control decodes out of them itself: cookie values
 * (percent-decoded by @fastify/cookie) and the user and password of `Authorization: Basic`.
 */
export function checkHeaders(headers: IncomingHttpHeaders): InputIssue | null {
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      const problem = bytesProblem(wireBytes(value));
      if (problem) return issue(`header.${name}`, problem);
    }
  }
  const cookie = headers.cookie;
  if (typeof cookie === 'string') {
    for (const part of cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const problem = bytesProblem(percentDecodeBytes(part.slice(eq + 1).trim()));
      if (problem) return issue(`cookie.${part.slice(0, eq).trim()}`, problem);
    }
  }
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const basic = /^basic\s+(\S*)\s*$/i.exec(auth);
    if (basic) {
      const problem = bytesProblem(Buffer.from(basic[1]!, 'base64'));
      if (problem) return issue('header.authorization', problem);
    }
  }
  return null;
}

/** How a body's field is named: `a.b.0.c`, or `(body)` for the whole body. */
export function fieldPath(path: ReadonlyArray<string | number>): string {
  return path.length === 0 ? '(body)' : path.join('.');
}

/**
 * The first string (a value or an object key) of a parsed JSON value that PostgreSQL could not
 * store, named by its path (`prefix` first). Iterative, so a deeply nested body cannot overflow
 * the stack.
 */
export function checkValue(value: unknown, prefix: ReadonlyArray<string | number> = []): InputIssue | null {
  // Paths as parent links, so a deep value costs no copying; spelled out only for the answer.
  type Step = { key: string | number; parent: Step | null } | null;
  const spell = (step: Step, last?: string): string => {
    const keys: Array<string | number> = last === undefined ? [] : [last];
    for (let s = step; s; s = s.parent) keys.push(s.key);
    return fieldPath([...prefix, ...keys.reverse()]);
  };
  const stack: Array<{ v: unknown; at: Step }> = [{ v: value, at: null }];
  while (stack.length > 0) {
    const { v, at } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) return issue(spell(at), problem);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], at: { key: i, parent: at } });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        const keyProblem = stringProblem(key);
        if (keyProblem) return issue(spell(at, key.replaceAll('\u0000', '\\0')), keyProblem);
        stack.push({ v: child, at: { key, parent: at } });
      }
    }
  }
  return null;
}

/** Whether a body of this content type is text control decodes (JSON of any flavour, text/*). */
export function isTextBody(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type.startsWith('text/') || type === 'application/json' || type.endsWith('+json');
}

/**
 * A request body's bytes: UTF-8 (for text bodies), and for JSON bodies every string in it. A body
 * that is not JSON at all is left to the parser, which answers 400 for it.
 */
export function checkBody(bytes: Uint8Array, contentType: string | undefined): InputIssue | null {
  if (!isTextBody(contentType)) return null;
  const text = decodeUtf8(bytes);
  if (text === null) return issue('(body)', 'utf8');
  const type = contentType!.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return null;
    }
    return checkValue(parsed);
  }
  const problem = stringProblem(text);
  return problem ? issue('(body)', problem) : null;
}

/**
 * tRPC's GET requests carry their input as JSON in the `input` query parameter (and batches as
 * `{"0": …, "1": …}`): its strings are checked like a body's.
 */
export function checkTrpcQueryInput(url: string): InputIssue | null {
  for (const raw of queryParams(url).get('input') ?? []) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      continue; // tRPC answers a bad input itself
    }
    const found = checkValue(parsed);
    if (found) return found;
  }
  return null;
}

/** The body of the 400 answer: the message names the field, `issues` as validation errors do. */
export function issueBody(found: InputIssue): {
  message: string;
  code: 'BAD_REQUEST';
  field: string;
  issues: Array<{ path: string; message: string }>;
} {
  return {
    message: `${found.field}: ${found.message}`,
    code: 'BAD_REQUEST',
    field: found.field,
    issues: [{ path: found.field, message: found.message }],
  };
}

/** An incoming `x-request-id` kept as the request's id: a short token of safe characters. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The request's id (Fastify's `genReqId`): the caller's `x-request-id` when it is a short safe
 * token (a proxy in front may have set it), else a new UUID. Sent back as `x-request-id`, logged
 * with every line of the request, and named in 5xx bodies.
 */
export function requestIdFor(req: { headers: IncomingHttpHeaders }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** The error a guard hook throws; the server's error handler answers it with issueBody. */
export class InputError extends Error {
  readonly statusCode = 400;
  constructor(readonly issue: InputIssue) {
    super(`${issue.field}: ${issue.message}`);
    this.name = 'InputError';
  }
}

/** Whether a request (by its matched route) is for the /service/<name>/ proxy. */
function isProxied(req: FastifyRequest): boolean {
  return req.routeOptions.url === '/service/*';
}

/**
 * Everything in the request line and headers; for `/api/trpc` also the JSON `input` parameter.
 * The /service/<name>/ proxy passes its query string and body to the service as they are (the
 * service decides what its bytes mean): there only the path and headers, which control reads
 * itself, are checked.
 */
export function checkRequest(req: FastifyRequest): InputIssue | null {
  const url = req.raw.url ?? req.url;
  const proxied = isProxied(req);
  return (
    checkUrl(url, { checkQuery: !proxied }) ??
    checkHeaders(req.headers) ??
    (!proxied && url.startsWith('/api/trpc/') ? checkTrpcQueryInput(url) : null)
  );
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The guard's two hooks: `onRequest` (register it before any other, so no handler, not even
 * authentication, sees a bad string) for the request line and headers, `preParsing` for text
 * bodies (read whole, bounded by the route's body limit, checked, then handed to the parser).
 */
export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    const found = checkRequest(req);
    if (found) throw new InputError(found);
  });
  app.addHook('preParsing', async (req, _reply, payload) => {
    const contentType = req.headers['content-type'];
    if (!BODY_METHODS.has(req.method) || isProxied(req) || !isTextBody(contentType)) return payload;
    // A compressed body is not text to us; the parser refuses it.
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') return payload;
    const limit = req.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of payload as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > limit) {
        throw Object.assign(new Error('Request body is too large'), {
          statusCode: 413,
          code: 'FST_ERR_CTP_BODY_TOO_LARGE',
        });
      }
      chunks.push(buf);
    }
    const body = Buffer.concat(chunks);
    const found = checkBody(body, contentType);
    if (found) throw new InputError(found);
    // The parser compares what it receives with content-length: same bytes, same count.
    return Object.assign(Readable.from(body.length > 0 ? [body] : []), {
      receivedEncodedLength: body.length,
    });
  });
}

/**
 * The 400 answer to an InputError: tRPC's error envelope on `/api/trpc` (one per procedure of a
 * batch), so its clients show the message; issueBody everywhere else.
 */
export function inputErrorBody(found: InputIssue, url: string): unknown {
  const body = issueBody(found);
  const path = url.split('?')[0]!;
  if (!path.startsWith('/api/trpc/')) return body;
  const procedures = path.slice('/api/trpc/'.length).split(',');
  const error = (procedure: string) => ({
    error: {
      message: body.message,
      code: -32600,
      data: {
        code: 'BAD_REQUEST',
        httpStatus: 400,
        path: procedure,
        appCode: 'BAD_REQUEST',
        field: body.field,
        issues: body.issues,
      },
    },
  });
  const batch = queryParams(url).get('batch')?.[0];
  return batch === '1' || batch === 'true' ? procedures.map(error) : error(procedures[0] ?? '');
}

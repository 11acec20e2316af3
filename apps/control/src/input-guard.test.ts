import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bytesProblem,
  checkBody,
  checkHeaders,
  checkTrpcQueryInput,
  checkUrl,
  checkValue,
  inputErrorBody,
  percentDecodeBytes,
  requestIdFor,
  stringProblem,
} from './input-guard';

/** Whether a JS string can be stored by PostgreSQL as text: no NUL, no unpaired surrogate. */
const storable = (s: string) => !s.includes('\u0000') && s === Buffer.from(s, 'utf8').toString('utf8');

const cleanString = fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000'));
// JSON values whose strings (keys included) are whole graphemes without NUL: all storable.
const jsonWithout = fc
  .jsonValue({ stringUnit: 'grapheme' })
  .filter((v) => !JSON.stringify(v).includes('\\u0000'));

describe('stringProblem', () => {
  it.each([
    ['plain', 'hello', null],
    ['emoji (a surrogate pair)', 'a😀b', null],
    ['NUL', 'a\u0000b', 'nul'],
    ['lone high surrogate', 'a\ud800b', 'surrogate'],
    ['lone low surrogate', '\udc00', 'surrogate'],
    ['high surrogate at the end', 'x\ud83d', 'surrogate'],
  ])('%s', (_name, s, expected) => {
    expect(stringProblem(s)).toBe(expected);
  });

  it('agrees with what UTF-8 can carry, for any UTF-16 string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (s) => {
        expect(stringProblem(s) === null).toBe(storable(s));
      }),
    );
  });
});

describe('bytesProblem', () => {
  it('accepts the UTF-8 encoding of any storable string', () => {
    fc.assert(
      fc.property(cleanString, (s) => {
        expect(bytesProblem(Buffer.from(s, 'utf8'))).toBeNull();
      }),
    );
  });

  it.each([
    ['a lone continuation byte', [0x80], 'utf8'],
    ['0xFF', [0x61, 0xff], 'utf8'],
    ['an overlong encoding of "/"', [0xc0, 0xaf], 'utf8'],
    ['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80], 'utf8'],
    ['a truncated sequence', [0xe2, 0x82], 'utf8'],
    ['a NUL byte', [0x61, 0x00], 'nul'],
  ])('refuses %s', (_name, bytes, expected) => {
    expect(bytesProblem(Buffer.from(bytes))).toBe(expected);
  });
});

describe('percentDecodeBytes', () => {
  it('inverts encodeURIComponent', () => {
    fc.assert(
      fc.property(cleanString, (s) => {
        expect(percentDecodeBytes(encodeURIComponent(s)).toString('utf8')).toBe(s);
      }),
    );
  });

  it('leaves a % without two hex digits as it is, and + as + outside forms', () => {
    expect(percentDecodeBytes('a%zz%4').toString()).toBe('a%zz%4');
    expect(percentDecodeBytes('a+b').toString()).toBe('a+b');
    expect(percentDecodeBytes('a+b', true).toString()).toBe('a b');
  });
});

describe('checkUrl', () => {
  it.each([
    ['/api/v1/events?type=%00', 'query.type', 'nul'],
    ['/api/v1/events?type=%FF', 'query.type', 'utf8'],
    ['/api/v1/events?a=1&type=x%00y', 'query.type', 'nul'],
    ['/v2/apps/%00', 'path', 'nul'],
    ['/v2/apps/%C0%AF', 'path', 'utf8'],
    ['/v2/apps?%FF=1', 'query.\ufffd', 'utf8'],
    ['/v2/apps?na%00me', 'query.na\\0me', 'nul'],
  ])('%s → %s', (url, field, problem) => {
    expect(checkUrl(url)).toMatchObject({ field, problem });
  });

  it('passes any path and query made of storable strings, however encoded', () => {
    fc.assert(
      fc.property(
        fc.array(cleanString, { maxLength: 4 }),
        fc.dictionary(cleanString, cleanString, { maxKeys: 4 }),
        (segments, query) => {
          const path = '/' + segments.map(encodeURIComponent).join('/');
          const qs = new URLSearchParams(query).toString();
          expect(checkUrl(qs ? `${path}?${qs}` : path)).toBeNull();
        },
      ),
    );
  });

  it('finds a NUL anywhere in a query value and names its parameter', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,8}$/), cleanString, cleanString, (name, before, after) => {
        const qs = new URLSearchParams({ ok: 'x', [name]: `${before}\u0000${after}` }).toString();
        expect(checkUrl(`/x?${qs}`)).toMatchObject({ field: `query.${name}`, problem: 'nul' });
      }),
    );
  });

  it('checks only the path when told to (the /service proxy passes its query on)', () => {
    expect(checkUrl('/service/x/?q=%FF', { checkQuery: false })).toBeNull();
    expect(checkUrl('/service/%00/?q=1', { checkQuery: false })).toMatchObject({ field: 'path' });
  });

  it('reads raw bytes in a request target as Node gives them (latin1)', () => {
    const raw = Buffer.from('/v2/apps/\u00e9', 'utf8').toString('latin1'); // valid UTF-8 bytes
    expect(checkUrl(raw)).toBeNull();
    expect(checkUrl('/v2/apps/\u00ff')).toMatchObject({ field: 'path', problem: 'utf8' });
  });
});

describe('checkHeaders', () => {
  it.each([
    ['a header with a byte that is not UTF-8', { 'x-thing': 'a\u00ffb' }, 'header.x-thing'],
    ['a percent-encoded NUL in a cookie', { cookie: 'a=1; atoll_session=ab%00' }, 'cookie.atoll_session'],
    [
      'a NUL in a Basic user name',
      { authorization: `Basic ${Buffer.from('ad\u0000min:pw').toString('base64')}` },
      'header.authorization',
    ],
    [
      'invalid UTF-8 in a Basic password',
      {
        authorization: `Basic ${Buffer.concat([Buffer.from('admin:'), Buffer.from([0xff])]).toString('base64')}`,
      },
      'header.authorization',
    ],
  ])('refuses %s', (_name, headers, field) => {
    expect(checkHeaders(headers)).toMatchObject({ field });
  });

  it('passes UTF-8 header values (as Node decodes them) and ordinary credentials', () => {
    expect(
      checkHeaders({
        'user-agent': Buffer.from('clïent/1.0', 'utf8').toString('latin1'),
        cookie: 'atoll_session=abc%20def',
        authorization: `Basic ${Buffer.from('admin:pässword').toString('base64')}`,
        'x-list': ['a', 'b'],
      }),
    ).toBeNull();
  });
});

describe('checkValue', () => {
  it('passes every JSON value without NUL or lone surrogates', () => {
    fc.assert(
      fc.property(jsonWithout, (v) => {
        expect(checkValue(v)).toBeNull();
      }),
    );
  });

  it('names the path of a NUL planted anywhere in a JSON value', () => {
    // A value, a path into it (object keys and array indexes), and the bad string put there.
    const planted = fc
      .tuple(
        fc.array(fc.oneof(fc.stringMatching(/^[a-z]{1,6}$/), fc.nat({ max: 3 })), {
          minLength: 1,
          maxLength: 5,
        }),
        cleanString,
      )
      .map(([path, text]) => {
        let value: unknown = `${text}\u0000`;
        for (let i = path.length - 1; i >= 0; i--) {
          const step = path[i]!;
          if (typeof step === 'number') {
            const arr: unknown[] = Array.from({ length: step + 1 }, () => 'fine');
            arr[step] = value;
            value = arr;
          } else {
            value = { other: 1, [step]: value };
          }
        }
        return { value, field: path.join('.') };
      });
    fc.assert(
      fc.property(planted, ({ value, field }) => {
        expect(checkValue(value)).toMatchObject({ field, problem: 'nul' });
      }),
    );
  });

  it('checks object keys too', () => {
    expect(checkValue({ labels: { ['a\u0000']: 'x' } })).toMatchObject({
      field: 'labels.a\\0',
      problem: 'nul',
    });
    expect(checkValue({ env: { ['\ud800']: 'x' } })).toMatchObject({ problem: 'surrogate' });
  });

  it('walks a deeply nested value without overflowing the stack', () => {
    let v: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) v = [v];
    expect(checkValue(v)).toMatchObject({ problem: 'nul' });
  });
});

describe('checkBody', () => {
  it.each([
    ['a NUL escape in a JSON string', '{"id":"/a","cmd":"x\\u0000"}', 'application/json', 'cmd'],
    ['a lone surrogate escape', '{"labels":{"a":"\\ud800"}}', 'application/json; charset=utf-8', 'labels.a'],
    [
      'a NUL in an array of a Cosmos body',
      '{"x":[1,"\\u0000"]}',
      'application/vnd.dcos.package.install-request+json',
      'x.1',
    ],
    ['a NUL in a text body', 'a\u0000', 'text/plain', '(body)'],
  ])('refuses %s', (_name, text, contentType, field) => {
    expect(checkBody(Buffer.from(text), contentType)).toMatchObject({ field });
  });

  it('refuses bytes that are not UTF-8 in a JSON body', () => {
    const body = Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    expect(checkBody(body, 'application/json')).toMatchObject({ field: '(body)', problem: 'utf8' });
  });

  it('leaves bodies that are not text, and JSON that does not parse, to the parsers', () => {
    expect(checkBody(Buffer.from([0xff, 0x00]), 'application/octet-stream')).toBeNull();
    expect(checkBody(Buffer.from('{"a":'), 'application/json')).toBeNull();
  });

  it('passes the JSON text of any value without NUL or lone surrogates', () => {
    fc.assert(
      fc.property(jsonWithout, (v) => {
        expect(checkBody(Buffer.from(JSON.stringify(v)), 'application/json')).toBeNull();
      }),
    );
  });
});

describe('tRPC', () => {
  it("checks a GET's JSON input, batched or not", () => {
    const input = encodeURIComponent(JSON.stringify({ 0: { type: 'a\u0000' } }));
    expect(checkTrpcQueryInput(`/api/trpc/events.list?batch=1&input=${input}`)).toMatchObject({
      field: '0.type',
    });
    expect(checkTrpcQueryInput('/api/trpc/events.list?input=not-json')).toBeNull();
  });

  it("answers in tRPC's error envelope, one per procedure of a batch", () => {
    const issue = { field: 'id', problem: 'nul' as const, message: 'contains a NUL byte' };
    expect(inputErrorBody(issue, '/api/trpc/apps.create')).toMatchObject({
      error: {
        message: 'id: contains a NUL byte',
        data: { code: 'BAD_REQUEST', httpStatus: 400, path: 'apps.create' },
      },
    });
    expect(inputErrorBody(issue, '/api/trpc/a.b,c.d?batch=1')).toHaveLength(2);
    expect(inputErrorBody(issue, '/v2/apps')).toEqual({
      message: 'id: contains a NUL byte',
      code: 'BAD_REQUEST',
      field: 'id',
      issues: [{ path: 'id', message: 'contains a NUL byte' }],
    });
  });
});

describe('requestIdFor', () => {
  it("keeps a caller's short safe id and replaces anything else with a UUID", () => {
    expect(requestIdFor({ headers: { 'x-request-id': 'lb-1234.abc' } })).toBe('lb-1234.abc');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(requestIdFor({ headers: {} })).toMatch(uuid);
    expect(requestIdFor({ headers: { 'x-request-id': 'a b<script>' } })).toMatch(uuid);
    expect(requestIdFor({ headers: { 'x-request-id': 'x'.repeat(65) } })).toMatch(uuid);
  });
});

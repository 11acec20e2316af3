import { describe, expect, it } from 'vitest';
import { isJsonType, isOwnOrigin, requestOrigin } from './origins';

describe('origins', () => {
  it('knows JSON by its media type, with or without parameters', () => {
    expect(isJsonType('application/json')).toBe(true);
    expect(isJsonType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isJsonType('text/plain')).toBe(false);
    expect(isJsonType('application/x-www-form-urlencoded')).toBe(false);
    expect(isJsonType('application/jsonp')).toBe(false);
    expect(isJsonType(undefined)).toBe(false);
  });

  it("takes Origin, else the Referer's origin", () => {
    expect(requestOrigin({ origin: 'http://a:1', referer: 'http://b:2/x' })).toBe('http://a:1');
    expect(requestOrigin({ referer: 'http://B:2/x?y' })).toBe('http://b:2');
    expect(requestOrigin({ referer: 'not a url' })).toBeNull();
    expect(requestOrigin({})).toBeNull();
  });

  it("is control's own for its public URL or its Host, never another port, null or a bad value", () => {
    const pub = 'https://atoll.example.com';
    expect(isOwnOrigin('https://atoll.example.com', 'internal:7700', pub)).toBe(true);
    expect(isOwnOrigin('http://127.0.0.1:7700', '127.0.0.1:7700', pub)).toBe(true);
    // behind a TLS proxy that keeps Host, control sees http while the page is https
    expect(isOwnOrigin('https://127.0.0.1:7700', '127.0.0.1:7700', pub)).toBe(true);
    expect(isOwnOrigin('http://127.0.0.1:31002', '127.0.0.1:7700', pub)).toBe(false);
    expect(isOwnOrigin('http://atoll.example.com.evil.test', 'atoll.example.com', pub)).toBe(false);
    expect(isOwnOrigin('null', '127.0.0.1:7700', pub)).toBe(false);
    expect(isOwnOrigin(null, '127.0.0.1:7700', pub)).toBe(false);
    expect(isOwnOrigin('file://127.0.0.1:7700', '127.0.0.1:7700', pub)).toBe(false);
    expect(isOwnOrigin('%%', '127.0.0.1:7700', pub)).toBe(false);
  });
});

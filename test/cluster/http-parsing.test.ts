// HTTP request parsing: percent-decoding to bytes (binary keys), strict options, and the mapping of
// every error to a status and a JSON {code, message}.

import { describe, expect, it } from 'vitest';
import { errorResponse, HttpError, parseQuery, percentDecode, percentEncode } from '../../cluster/http/http-util.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';

describe('HTTP parsing', () => {
  it('percent-decodes to raw bytes, including bytes that are not UTF-8', () => {
    expect([...percentDecode('%FF%00a')]).toEqual([0xff, 0, 0x61]);
    expect(Buffer.from(percentDecode('caf%C3%A9')).toString()).toBe('café');
    expect(Buffer.from(percentDecode('a+b', true)).toString()).toBe('a b');
    expect(Buffer.from(percentDecode('a+b')).toString()).toBe('a+b');
    expect(Buffer.from(percentDecode('é/x')).toString()).toBe('é/x');
  });

  it('refuses malformed escapes', () => {
    for (const s of ['%', '%4', '%G0', 'a%zz']) expect(() => percentDecode(s), s).toThrow(HttpError);
  });

  it('percent-encodes so that decoding gives the bytes back', () => {
    const b = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect([...percentDecode(percentEncode(b))]).toEqual([...b]);
  });

  it('accepts only known options, once each', () => {
    expect(parseQuery('w=2', ['w']).get('w')).toBe('2');
    expect(() => parseQuery('x=1', ['w'])).toThrowError(/unknown option "x"/);
    expect(() => parseQuery('w=1&w=2', ['w'])).toThrowError(/twice/);
    expect(() => parseQuery('w=1', [])).toThrowError(/takes none/);
  });

  it('maps errors to statuses with a stable code', () => {
    expect(errorResponse(new Eau2Error(ErrorCode.INVALID, 'x'))).toMatchObject({ status: 400, code: 'INVALID' });
    expect(errorResponse(new Eau2Error(ErrorCode.TIMEOUT, 'x'))).toMatchObject({ status: 504, code: 'TIMEOUT' });
    expect(
      errorResponse(new Eau2Error(ErrorCode.NOT_FOUND, 'x', { details: { wireCode: 'NO_REPLICA' } })),
    ).toMatchObject({ status: 404, code: 'NO_REPLICA' });
    expect(errorResponse(new HttpError(413, 'TOO_LARGE', 'big'))).toMatchObject({ status: 413 });
    expect(errorResponse(new TypeError('bad'))).toMatchObject({ status: 400, code: 'INVALID' });
    expect(errorResponse(new Error('boom'))).toMatchObject({ status: 500, code: 'INTERNAL' });
  });
});

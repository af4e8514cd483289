import { describe, expect, it } from 'vitest';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { remoteError, wireCodeOf, wireOnlyError } from '../../cluster/protocol/wire-errors.js';

describe('wire error codes', () => {
  it('a wire-only code keeps the code callers retry on, and travels as itself', () => {
    const cases: [ErrorCode, ErrorCode][] = [
      [ErrorCode.STALE_EPOCH, ErrorCode.NOT_LEADER],
      [ErrorCode.NO_REPLICA, ErrorCode.NOT_FOUND],
      [ErrorCode.INTERNAL, ErrorCode.IO],
    ];
    for (const [wire, local] of cases) {
      const e = wireOnlyError(wire, 'm', { partition: 3 });
      expect(e.code).toBe(local);
      expect(e.details).toEqual({ partition: 3, wireCode: wire });
      expect(wireCodeOf(e)).toEqual({ code: wire, message: 'm' });
      // and back: the receiver of the ERROR reply sees the same pair
      const r = remoteError(wire, 'm');
      expect(r.code).toBe(local);
      expect(r.details?.wireCode).toBe(wire);
    }
  });

  it('the wire strings are the ones docs/format.md names', () => {
    expect([ErrorCode.STALE_EPOCH, ErrorCode.NO_REPLICA, ErrorCode.INTERNAL]).toEqual([
      'STALE_EPOCH',
      'NO_REPLICA',
      'INTERNAL',
    ]);
  });

  it('ordinary codes travel unchanged; other failures as INVALID or INTERNAL', () => {
    expect(wireCodeOf(new Eau2Error(ErrorCode.TIMEOUT, 't'))).toEqual({ code: 'TIMEOUT', message: 't' });
    expect(remoteError('TIMEOUT', 't').code).toBe(ErrorCode.TIMEOUT);
    expect(wireCodeOf(new TypeError('bad'))).toEqual({ code: 'INVALID', message: 'bad' });
    expect(wireCodeOf(new Error('boom'))).toEqual({ code: 'INTERNAL', message: 'boom' });
  });

  it('a code this version does not know reads as IO and is passed on by name', () => {
    const e = remoteError('FROM_THE_FUTURE', 'x');
    expect(e.code).toBe(ErrorCode.IO);
    expect(wireCodeOf(e).code).toBe('FROM_THE_FUTURE');
  });
});

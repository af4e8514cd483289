// Error codes on the wire (docs/format.md 8.3, docs/api.md). An ERROR reply and an HTTP error body
// carry one ErrorCode string. Three of them have no meaning of their own to a caller and stand for a
// code it already handles: STALE_EPOCH is a NOT_LEADER (refresh the topology, retry), NO_REPLICA a
// NOT_FOUND, INTERNAL (the remote handler failed) an IO error, which is not retried. Such an error
// keeps the caller's code in `code` and the wire's in details.wireCode; this file is the one place
// that maps between the two.

import { Eau2Error, ErrorCode } from '../../kv/index.js';

/** The code a caller switches on, for each wire-only code. */
const LOCAL_CODE_OF: Partial<Record<ErrorCode, ErrorCode>> = {
  [ErrorCode.STALE_EPOCH]: ErrorCode.NOT_LEADER,
  [ErrorCode.NO_REPLICA]: ErrorCode.NOT_FOUND,
  [ErrorCode.INTERNAL]: ErrorCode.IO,
};

const KNOWN = new Set<string>(Object.values(ErrorCode));

/** An Eau2Error whose wire code is `wire` (one of STALE_EPOCH, NO_REPLICA, INTERNAL). */
export function wireOnlyError(wire: ErrorCode, message: string, details: Record<string, unknown> = {}): Eau2Error {
  return new Eau2Error(LOCAL_CODE_OF[wire] ?? wire, message, { details: { ...details, wireCode: wire } });
}

/**
 * The code and message an error travels as: its details.wireCode (an ErrorCode, or a code from a
 * newer node passed on as it came), else its code; INTERNAL for what is not an Eau2Error.
 */
export function wireCodeOf(e: unknown): { code: string; message: string } {
  if (e instanceof Eau2Error) {
    const w = e.details?.wireCode;
    return { code: typeof w === 'string' ? w : e.code, message: e.message };
  }
  if (e instanceof TypeError) return { code: ErrorCode.INVALID, message: e.message };
  return { code: ErrorCode.INTERNAL, message: e instanceof Error ? e.message : String(e) };
}

/**
 * The Eau2Error for an ERROR reply with `code`. A code this version does not know (from a newer
 * node) reads as IO, like INTERNAL, and keeps its name in details.wireCode.
 */
export function remoteError(code: string, message: string): Eau2Error {
  if (KNOWN.has(code)) {
    const c = code as ErrorCode;
    const local = LOCAL_CODE_OF[c];
    return local ? new Eau2Error(local, message, { details: { wireCode: c } }) : new Eau2Error(c, message);
  }
  return new Eau2Error(ErrorCode.IO, message, { details: { wireCode: code } });
}

// Telling "not applied" from "unknown" (docs/api.md, UNKNOWN_OUTCOME). A write request that failed
// after it was sent may have been applied: its connection closed with it in flight, it timed out, or
// its leader timed out waiting for followers after applying it. Those failures become
// UNKNOWN_OUTCOME; every other error of a write means the write was not applied.

import { Eau2Error, ErrorCode } from '../../kv/index.js';

/** True when `e`, the failure of a write request, leaves open whether the write was applied. */
export function outcomeUnknown(e: unknown): boolean {
  if (!(e instanceof Eau2Error)) return false;
  if (e.code === ErrorCode.UNKNOWN_OUTCOME || e.code === ErrorCode.TIMEOUT) return true;
  return e.code === ErrorCode.UNAVAILABLE && e.details?.afterSend === true;
}

/** `e` as UNKNOWN_OUTCOME when the write may have been applied, else `e` itself. */
export function writeError(e: unknown): unknown {
  if (!outcomeUnknown(e) || (e as Eau2Error).code === ErrorCode.UNKNOWN_OUTCOME) return e;
  const err = e as Eau2Error;
  // The wire shows UNKNOWN_OUTCOME, not a wire code the cause carried.
  const { wireCode: _, ...details } = err.details ?? {};
  return new Eau2Error(ErrorCode.UNKNOWN_OUTCOME, `outcome unknown, the write may have been applied: ${err.message}`, {
    cause: err,
    details: { ...details, was: err.code },
  });
}

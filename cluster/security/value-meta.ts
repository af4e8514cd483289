// Checks of the metadata stored with a value (content type and encoding, sent back as HTTP headers
// on every read): a value whose metadata could not be sent as a header would be stored and then be
// unreadable, and a CR or LF in it is a header-injection attempt. So they are checked on write and
// a bad one is refused (400 INVALID) before anything is stored.

import { Eau2Error, ErrorCode } from '../../kv/index.js';

const MAX_META_CHARS = 256;

/** Visible ASCII, space and tab only (RFC 9110 field-value, without obs-text); no CR, LF or NUL. */
const FIELD_VALUE = /^[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?$/;

function checkHeaderValue(v: string, name: string): string {
  if (typeof v !== 'string') throw new Eau2Error(ErrorCode.INVALID, `${name} must be a string`);
  if (v.length > MAX_META_CHARS)
    throw new Eau2Error(ErrorCode.INVALID, `${name} is ${v.length} characters; at most ${MAX_META_CHARS}`);
  if (!FIELD_VALUE.test(v))
    throw new Eau2Error(
      ErrorCode.INVALID,
      `${name} must be printable ASCII without control characters (no CR, LF, NUL) and not blank`,
    );
  return v;
}

export function checkValueMeta(meta: { contentType?: string; contentEncoding?: string }): void {
  if (meta.contentType !== undefined) checkHeaderValue(meta.contentType, 'content type');
  if (meta.contentEncoding !== undefined) checkHeaderValue(meta.contentEncoding, 'content encoding');
}

// Request parsing and response helpers of the HTTP API (docs/api.md): percent-decoding to bytes (so
// binary keys are reachable: %FF is the byte 0xFF, not a UTF-8 error), strict query options (an
// unknown or repeated option is a 400, not silently ignored), bounded body reading (413 past the
// limit), and the JSON error shape {code, message} with its status.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { utf8 } from '../../kv/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { wireCodeOf } from '../protocol/wire-errors.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (msg: string): HttpError => new HttpError(400, ErrorCode.INVALID, msg);

const HEX = /^[0-9a-fA-F]{2}$/;

/** Percent-decodes `s` to bytes; characters outside escapes are taken as UTF-8. */
export function percentDecode(s: string, plusIsSpace = false): Uint8Array {
  if (!s.includes('%') && !(plusIsSpace && s.includes('+'))) return utf8(s);
  const out: number[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!HEX.test(h)) throw badRequest(`bad percent-escape "%${h}" at offset ${i}`);
      out.push(parseInt(h, 16));
      i += 3;
    } else if (c === '+' && plusIsSpace) {
      out.push(0x20);
      i++;
    } else {
      // Copy a run of literal characters at once (code points, not UTF-16 units).
      let j = i;
      while (j < s.length && s[j] !== '%' && !(plusIsSpace && s[j] === '+')) j++;
      for (const b of utf8(s.slice(i, j))) out.push(b);
      i = j;
    }
  }
  return Uint8Array.from(out);
}

/** Percent-encodes bytes for a path segment or query value (unreserved characters stay as they are). */
export function percentEncode(b: Uint8Array): string {
  let s = '';
  for (const x of b) {
    const ch = String.fromCharCode(x);
    s += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${x.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

/** Query options: only `allowed` names, each at most once; values as raw (still encoded) strings. */
export function parseQuery(qs: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (qs === '') return out;
  for (const part of qs.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    if (!allowed.includes(name)) {
      throw badRequest(
        `unknown option "${name.slice(0, 64)}"` +
          (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (this route takes none)'),
      );
    }
    if (out.has(name)) throw badRequest(`option "${name}" given twice`);
    out.set(name, value);
  }
  return out;
}

/** Refuses (405) a method not in `methods`; HEAD is allowed wherever GET is (RFC 9110 9.3.2). */
export function allow(method: string, methods: string[]): void {
  if (methods.includes('GET') && !methods.includes('HEAD')) methods = [...methods, 'HEAD'];
  if (!methods.includes(method)) {
    throw new HttpError(
      405,
      'METHOD_NOT_ALLOWED',
      `method ${method} not allowed here (allowed: ${methods.join(', ')})`,
      { allow: methods.join(', ') },
    );
  }
}

/**
 * Reads the whole body, refusing (413) past `limit` bytes, before or during the upload. With a
 * `budget` (the node's limits.maxBodyBytesInFlight), the bytes held count against it while the body
 * is read, and a body that would exceed it is refused with 503 BUSY.
 */
export async function readBody(
  req: IncomingMessage,
  limit: number,
  budget?: { take(n: number): boolean; give(n: number): void },
): Promise<Uint8Array> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new HttpError(413, ErrorCode.TOO_LARGE, `body of ${declared} bytes exceeds the limit of ${limit}`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > limit) throw new HttpError(413, ErrorCode.TOO_LARGE, `body exceeds the limit of ${limit} bytes`);
      if (budget && !budget.take(c.length)) {
        n -= c.length;
        throw new HttpError(
          503,
          ErrorCode.BUSY,
          'this node is receiving too many request bodies at once (limits.maxBodyBytesInFlight); retry later',
          { 'retry-after': '1', connection: 'close' },
        );
      }
      chunks.push(c);
    }
  } finally {
    budget?.give(n);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

const STATUS_OF: Record<string, number> = {
  [ErrorCode.INVALID]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.TOO_LARGE]: 413,
  [ErrorCode.TIMEOUT]: 504,
  [ErrorCode.UNKNOWN_OUTCOME]: 504,
  [ErrorCode.UNAVAILABLE]: 503,
  [ErrorCode.NOT_LEADER]: 503,
  [ErrorCode.PROTOCOL]: 502,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.BUSY]: 503,
  [ErrorCode.PRECONDITION]: 412,
};

/** The HTTP status and error body of any failure. */
export function errorResponse(e: unknown): { status: number; code: string; message: string } {
  if (e instanceof HttpError) return { status: e.status, code: e.code, message: e.message };
  const { code, message } = wireCodeOf(e);
  if (e instanceof Eau2Error) return { status: STATUS_OF[e.code] ?? 500, code, message };
  return { status: e instanceof TypeError ? 400 : 500, code, message };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, e: unknown): number {
  const r = errorResponse(e);
  if (res.headersSent) {
    res.destroy();
    return r.status;
  }
  // After a refused upload the rest of the body is still coming: close rather than read it all.
  const headers: Record<string, string> = {
    ...(e instanceof HttpError ? e.headers : {}),
    ...(r.status === 413 ? { connection: 'close' } : {}),
  };
  sendJson(res, r.status, { code: r.code, message: r.message }, headers);
  return r.status;
}

/**
 * The helpers a node hands its HTTP extensions (the application passes them to the /df routes), so
 * that every route answers with the same JSON error shape and status mapping (413, 502, ...).
 */
export interface HttpHelpers {
  sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void;
  /** Sends `e` as {code, message} with its status (an httpError's, or the mapping of its code); returns the status. */
  sendError(res: ServerResponse, e: unknown): number;
  /** An error that sendError answers with exactly this status, code and headers. */
  httpError(status: number, code: string, message: string, headers?: Record<string, string>): Error;
}

export const httpHelpers: HttpHelpers = {
  sendJson,
  sendError,
  httpError: (status, code, message, headers) => new HttpError(status, code, message, headers),
};

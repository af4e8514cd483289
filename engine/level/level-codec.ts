// What the abstract-level adapter shares between the database, its iterators and its snapshots:
// converting engine bytes into the three formats abstract-level hands the private API ('buffer',
// 'view', 'utf8'), translating eau2 errors into abstract-level's error codes, and the engine's
// range options built from abstract-level's encoded ones.

import { Buffer } from 'node:buffer';
import { isEau2Error } from '../../kv/index.js';
import type { IteratorOptions, Snapshot } from '../engine.js';

/** What the private API receives and returns: encoded keys and values in one of the formats. */
export type Encoded = Uint8Array | string;

/**
 * ~2x faster than Buffer#toString on short keys (measured: 7.8M vs 3.3M decodes/s, 11-byte keys).
 * ignoreBOM keeps a leading U+FEFF, as Buffer#toString does, so strings round-trip exactly.
 */
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Bytes from the engine in the requested format. The engine returns fresh copies (never views of
 * cached blocks), so a zero-copy Buffer over them is safe to hand out.
 */
export function fromBytes(b: Uint8Array, format: string): Encoded {
  if (format === 'utf8') return utf8Decoder.decode(b);
  if (format === 'view') return b;
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** An error with abstract-level's stable `code` convention (`LEVEL_*`), keeping the eau2 error as cause. */
export class LevelError extends Error {
  readonly code: string;
  constructor(message: string, code: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'LevelError';
    this.code = code;
  }
}

/** abstract-level's abort error: code LEVEL_ABORTED and, for web compatibility, name AbortError. */
export class LevelAbortError extends LevelError {
  constructor(cause?: unknown) {
    super('Operation has been aborted', 'LEVEL_ABORTED', cause);
    this.name = 'AbortError';
  }
}

/** eau2 codes that have an abstract-level counterpart; others (TOO_LARGE, ...) pass through. */
const LEVEL_CODES: Readonly<Record<string, string>> = {
  LOCKED: 'LEVEL_LOCKED',
  CORRUPTION: 'LEVEL_CORRUPTION',
  IO: 'LEVEL_IO_ERROR',
  NOT_OPEN: 'LEVEL_DATABASE_NOT_OPEN',
};

/** The error to surface to abstract-level callers for an engine failure `e`. */
export function toLevelError(e: unknown): unknown {
  if (isEau2Error(e)) {
    const code = LEVEL_CODES[e.code];
    if (code !== undefined) return new LevelError(e.message, code, e);
  }
  return e;
}

/** Encoded range options as abstract-level passes them to _iterator, _keys, _values and _clear. */
export interface PrivateRangeOptions {
  gt?: Encoded;
  gte?: Encoded;
  lt?: Encoded;
  lte?: Encoded;
  reverse: boolean;
  limit: number;
  keyEncoding: string;
  valueEncoding?: string;
  snapshot?: unknown;
  signal?: AbortSignal | null;
  keys?: boolean;
  values?: boolean;
}

/**
 * The engine's range for abstract-level's options. abstract-level gives gte precedence over gt and
 * lte over lt; the engine is only ever handed one bound per side so that precedence is ours.
 */
export function engineRange(o: PrivateRangeOptions, snapshot: Snapshot | undefined): IteratorOptions {
  const r: IteratorOptions = { reverse: o.reverse, limit: o.limit };
  if (o.gte !== undefined) r.gte = o.gte;
  else if (o.gt !== undefined) r.gt = o.gt;
  if (o.lte !== undefined) r.lte = o.lte;
  else if (o.lt !== undefined) r.lt = o.lt;
  if (snapshot !== undefined) r.snapshot = snapshot;
  return r;
}

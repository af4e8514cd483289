// Frames that carry large binary values, encoded as a list of buffers instead of one: the msgpack
// around a large value is written into small buffers and the value itself is passed through as its own
// part, so a row-chunk of ~1 MB leaves the process without being copied into a frame (the socket
// writes the parts with one writev). The bytes on the wire are exactly the msgpack that msgpackr would
// produce for the same message (docs/format.md section 8.1), so nothing on the receiving side changes.
//
// Written by hand because msgpackr always copies a binary into its output buffer, and grows that
// buffer to 4x the message (a 0.93 MB row-chunk batch allocated a 3.7 MB buffer); see
// docs/dataframe.md "Client memory" for what the copies cost.

import type { Packr } from 'msgpackr';
import { FRAME_HEADER_BYTES, writeU32 } from './frame-codec.js';

/** Binary values of at least this many bytes travel as their own part (smaller ones are cheaper copied). */
export const LARGE_PART_BYTES = 32 * 1024;

/**
 * A binary value given as several buffers: sent as one msgpack bin (the receiver sees one Uint8Array),
 * its parts never joined in this process. E.g. a stored value's one-byte header and the user's value.
 */
export class BinParts {
  readonly byteLength: number;
  constructor(readonly parts: readonly Uint8Array[]) {
    let n = 0;
    for (const p of parts) n += p.length;
    this.byteLength = n;
  }
}

/** True iff `v` holds (within `depth` levels of plain arrays and objects) a value to send as its own part. */
export function hasLargeBinary(v: unknown, depth = 6): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (v instanceof Uint8Array) return v.length >= LARGE_PART_BYTES;
  if (v instanceof BinParts) return true;
  if (depth === 0) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (hasLargeBinary(v[i], depth - 1)) return true;
    return false;
  }
  if (v.constructor !== Object) return false;
  for (const k in v) if (hasLargeBinary((v as Record<string, unknown>)[k], depth - 1)) return true;
  return false;
}

/**
 * The frame for `value` (length prefix included) as parts to write in order: runs of small pieces
 * joined into one buffer, large binaries as they are. Subtrees without a large binary are packed by
 * `packr` in one go. The caller must not modify a large binary until the parts are written.
 */
export function encodeFrameParts(packr: Packr, value: unknown): Uint8Array[] {
  const pieces: Uint8Array[] = [new Uint8Array(FRAME_HEADER_BYTES)];
  let bodyBytes = 0;
  const add = (b: Uint8Array): void => {
    pieces.push(b);
    bodyBytes += b.length;
  };
  const walk = (v: unknown, depth: number): void => {
    if (v instanceof BinParts) {
      add(binHeader(v.byteLength));
      for (const p of v.parts) add(p);
    } else if (v instanceof Uint8Array && v.length >= LARGE_PART_BYTES) {
      add(binHeader(v.length));
      add(v);
    } else if (!hasLargeBinary(v, depth)) {
      add(packr.pack(v));
    } else if (Array.isArray(v)) {
      add(lengthHeader(v.length, 0x90, 0xdc));
      for (const x of v) walk(x, depth - 1);
    } else {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      add(lengthHeader(keys.length, 0x80, 0xde));
      for (const k of keys) {
        add(packr.pack(k));
        walk(o[k], depth - 1);
      }
    }
  };
  walk(value, 6);
  writeU32(pieces[0]!, 0, bodyBytes);
  return joinSmall(pieces);
}

/** Adjacent pieces under LARGE_PART_BYTES joined into one buffer; large ones kept as they are. */
export function joinSmall(pieces: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const end = (): void => {
    if (run.length === 1) out.push(run[0]!);
    else if (run.length > 1) out.push(Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const p of pieces) {
    if (p.length >= LARGE_PART_BYTES) {
      end();
      out.push(p);
    } else {
      run.push(p);
      runBytes += p.length;
    }
  }
  end();
  return out;
}

/** msgpack bin header, the same widths msgpackr picks: bin8 / bin16 / bin32. */
function binHeader(n: number): Uint8Array {
  if (n < 0x100) return Uint8Array.of(0xc4, n);
  if (n < 0x10000) return Uint8Array.of(0xc5, n >>> 8, n & 0xff);
  const h = new Uint8Array(5);
  h[0] = 0xc6;
  writeU32(h, 1, n);
  return h;
}

/** msgpack array (fix 0x90) or map (fix 0x80) header; the 16- and 32-bit forms follow `wide16` (+1). */
function lengthHeader(n: number, fix: number, wide16: number): Uint8Array {
  if (n < 16) return Uint8Array.of(fix | n);
  if (n < 0x10000) return Uint8Array.of(wide16, n >>> 8, n & 0xff);
  const h = new Uint8Array(5);
  h[0] = wide16 + 1;
  writeU32(h, 1, n);
  return h;
}

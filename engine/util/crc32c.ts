// CRC-32C (Castagnoli), the checksum on every WAL record and SSTable block. Stored checksums are
// masked as LevelDB does, so a CRC over data that itself embeds CRCs does not degenerate.
//
// Two implementations of the same function. Ranges of NATIVE_MIN bytes or more go to
// @node-rs/crc32 (a prebuilt N-API addon using the CPU's CRC32 instruction): ~0.16 ms per MB here
// against ~0.55 ms for the JS loop below, and every stored byte is checksummed at least twice (its
// WAL record, its table block) and again on every read from disk. Shorter ranges stay in JS, where
// the addon's call costs more than it saves (measured even at ~256 bytes; 64 bytes: 0.08 us in JS,
// 0.15 us through the addon). Where the addon is missing (a platform without a prebuilt binary) or
// disagrees with the JS loop on a fixed input at load, or with EAU2_CRC32C=js in the environment,
// every range takes the JS loop.
//
// The JS loop: slicing-by-16 over 32-bit little-endian word loads (~5 us per 4 KiB block here
// against ~8-9 us for slicing-by-8 over byte loads, measured side by side on the loaded 2-core
// machine, same inputs), an order of magnitude faster than the byte-at-a-time loop.

import { createRequire } from 'node:module';
import { INVARIANTS, invariantViolated } from './invariants.js';

const POLY = 0x82f63b78;
/** T[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const T = new Int32Array(256 * 16);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n]!;
  for (let k = 1; k < 16; k++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

/** Word loads read bytes in little-endian order only on a little-endian machine. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
/** Below this many bytes the byte loop is cheaper than the word loop's set-up. */
const WORD_MIN = 64;

// A word view of the whole underlying buffer, kept for the next call on the same buffer: a view per
// call would be ~0.1 KB of garbage per WAL record and per block read, and the engine's calls mostly
// land on a few long-lived buffers (memtable arena slabs, the block cache's slot slabs).
let viewOf: ArrayBufferLike | undefined;
let view: Int32Array<ArrayBufferLike> = new Int32Array(0);

function wordsOf(b: ArrayBufferLike): Int32Array<ArrayBufferLike> {
  if (b !== viewOf) {
    view = new Int32Array(b, 0, b.byteLength >>> 2);
    viewOf = b;
  }
  return view;
}

/** Ranges at least this long go to the addon (see the file's header). */
const NATIVE_MIN = 512;

type NativeCrc = (input: Uint8Array, initialState?: number) => number;

/** The addon's crc32c, if it loads and agrees with crc32cJs on a fixed input; else undefined. */
function loadNative(): NativeCrc | undefined {
  if (process.env.EAU2_CRC32C === 'js') return undefined;
  try {
    // require, in a try: a missing prebuilt binary throws at load, and the JS loop then serves.
    const f: NativeCrc = (createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32')).crc32c;
    const probe = new Uint8Array(4099);
    for (let i = 0; i < probe.length; i++) probe[i] = (i * 131 + 7) & 0xff;
    const view = probe.subarray(3);
    if (f(view, 0x12345678) !== crc32cJs(view, 0x12345678, 0, view.length)) return undefined;
    return f;
  } catch {
    return undefined;
  }
}

/** Extends `crc` (0 to start) over `buf[start, end)`. Returns an unsigned 32-bit value. */
export function crc32c(buf: Uint8Array, crc = 0, start = 0, end = buf.length): number {
  if (native !== undefined && end - start >= NATIVE_MIN) {
    return native(start === 0 && end === buf.length ? buf : buf.subarray(start, end), crc);
  }
  return crc32cJs(buf, crc, start, end);
}

/** Which implementation takes ranges of NATIVE_MIN bytes or more (benchmarks print it). */
export function crc32cImplementation(): 'native' | 'js' {
  return native !== undefined ? 'native' : 'js';
}

/** crc32c in JS only, for every length (tests compare the two). */
export function crc32cJs(buf: Uint8Array, crc = 0, start = 0, end = buf.length): number {
  let c = ~crc;
  let i = start;
  if (LITTLE_ENDIAN && end - i >= WORD_MIN) {
    // Bytes up to a 4-byte boundary of the underlying buffer, then 16 bytes per step.
    while ((buf.byteOffset + i) & 3) c = T[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
    const words = ((end - i) >>> 4) << 2;
    const w = wordsOf(buf.buffer);
    const first = (buf.byteOffset + i) >>> 2;
    const stop = first + words;
    // The cached view must still cover the buffer (a detached or resized buffer would read zeros).
    if (INVARIANTS && stop > w.length) invariantViolated(`crc32c word view covers ${w.length} words, needs ${stop}`);
    const t = T;
    for (let k = first; k < stop; k += 4) {
      const a = c ^ w[k]!;
      const b = w[k + 1]!;
      const d = w[k + 2]!;
      const e = w[k + 3]!;
      c =
        t[15 * 256 + (a & 0xff)]! ^
        t[14 * 256 + ((a >>> 8) & 0xff)]! ^
        t[13 * 256 + ((a >>> 16) & 0xff)]! ^
        t[12 * 256 + (a >>> 24)]! ^
        t[11 * 256 + (b & 0xff)]! ^
        t[10 * 256 + ((b >>> 8) & 0xff)]! ^
        t[9 * 256 + ((b >>> 16) & 0xff)]! ^
        t[8 * 256 + (b >>> 24)]! ^
        t[7 * 256 + (d & 0xff)]! ^
        t[6 * 256 + ((d >>> 8) & 0xff)]! ^
        t[5 * 256 + ((d >>> 16) & 0xff)]! ^
        t[4 * 256 + (d >>> 24)]! ^
        t[3 * 256 + (e & 0xff)]! ^
        t[2 * 256 + ((e >>> 8) & 0xff)]! ^
        t[256 + ((e >>> 16) & 0xff)]! ^
        t[e >>> 24]!;
    }
    i += words << 2;
  }
  while (i < end) c = T[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const native = loadNative();

const MASK_DELTA = 0xa282ead8;

/** The form in which a CRC is stored on disk (rotate right 15, add a constant). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}

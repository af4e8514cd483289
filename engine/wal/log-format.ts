// Constants of the record log shared by the WAL (`NNNNNN.log`) and the manifest. The layout is
// written down first in docs/format.md §3 "Write-ahead log"; this file only names its numbers.
// LevelDB's log format (doc/log_format.md) is the model, byte for byte.

import { crc32c } from '../util/crc32c.js';

/** The log is a sequence of blocks of this size; a fragment never crosses a block boundary. */
export const BLOCK_SIZE = 32768;

/**
 * Block size knob for TESTS ONLY: exhaustive tests (truncate at every offset, flip every byte) run
 * on logs of many tiny blocks. Files on disk always use BLOCK_SIZE; no engine code passes this.
 */
export interface LogGeometry {
  blockSize?: number;
}

export function blockSizeOf(g: LogGeometry | undefined): number {
  const b = g?.blockSize ?? BLOCK_SIZE;
  if (!Number.isInteger(b) || b <= HEADER_SIZE || b > HEADER_SIZE + 0xffff) {
    throw new TypeError(`log block size must be an integer in (${HEADER_SIZE}, ${HEADER_SIZE + 0xffff}]: ${b}`);
  }
  return b;
}

/** Fragment header: masked CRC32C fixed32, payload length u16 (LE), type u8. */
export const HEADER_SIZE = 7;

/**
 * Fragment types. DO NOT CHANGE THESE VALUES: they are on disk.
 * 0 is never written: a zero header is what zero-filled (preallocated or lost) space looks like.
 */
export const FragmentType = {
  ZERO: 0,
  FULL: 1,
  FIRST: 2,
  MIDDLE: 3,
  LAST: 4,
} as const;
export type FragmentType = (typeof FragmentType)[keyof typeof FragmentType];

export const MAX_FRAGMENT_TYPE = FragmentType.LAST;

/** CRC32C of each one-byte type, the start of every fragment's checksum. */
const TYPE_CRC = [0, 1, 2, 3, 4].map((t) => crc32c(Uint8Array.of(t)));

/** Unmasked CRC32C over the type byte followed by `buf[start, end)`. */
export function fragmentCrc(type: number, buf: Uint8Array, start: number, end: number): number {
  return crc32c(buf, TYPE_CRC[type]!, start, end);
}

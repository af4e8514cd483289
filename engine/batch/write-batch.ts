// Write batches: the unit of atomicity. A batch is one WAL record (docs/format.md §4):
//   fixed64 first sequence | fixed32 count | count × (u8 kind | bytes key | [bytes value if kind=1])
// Entry i gets sequence (first sequence + i).

import { getFixed32, getFixed64, putFixed32, putFixed64, putVarint, getVarint, varintLength } from '../util/coding.js';
import { Kind } from '../format/internal-key.js';

const BATCH_HEADER = 12;

/** One validated operation, keys and values already bytes. */
export interface Op {
  kind: number;
  key: Uint8Array;
  value: Uint8Array;
}

const EMPTY: Uint8Array = new Uint8Array(0);

export function encodedBatchSize(ops: readonly Op[]): number {
  let n = BATCH_HEADER;
  for (const op of ops) {
    n += 1 + varintLength(op.key.length) + op.key.length;
    if (op.kind === Kind.VALUE) n += varintLength(op.value.length) + op.value.length;
  }
  return n;
}

/** Encodes `ops` at buf[start, start + encodedBatchSize(ops)); returns the offset after them. */
export function encodeBatchInto(buf: Uint8Array, start: number, firstSeq: number, ops: readonly Op[]): number {
  putFixed64(buf, start, firstSeq);
  putFixed32(buf, start + 8, ops.length);
  let off = start + BATCH_HEADER;
  for (const op of ops) {
    buf[off++] = op.kind;
    off = putVarint(buf, off, op.key.length);
    buf.set(op.key, off);
    off += op.key.length;
    if (op.kind === Kind.VALUE) {
      off = putVarint(buf, off, op.value.length);
      buf.set(op.value, off);
      off += op.value.length;
    }
  }
  return off;
}

export interface DecodedBatch {
  firstSeq: number;
  ops: Op[];
}

/**
 * Decodes a batch. Returns a string describing the defect if the bytes are not a well-formed batch
 * (the WAL record's CRC checked, so this means a bug or a format mismatch: the caller reports it
 * as corruption). Keys and values are views into `buf`.
 */
export function decodeBatch(buf: Uint8Array): DecodedBatch | string {
  if (buf.length < BATCH_HEADER) return 'batch shorter than its header';
  const firstSeq = getFixed64(buf, 0);
  const count = getFixed32(buf, 8);
  const ops: Op[] = [];
  const pos = { off: BATCH_HEADER };
  for (let i = 0; i < count; i++) {
    if (pos.off >= buf.length) return `batch ends after ${i} of ${count} entries`;
    const kind = buf[pos.off++]!;
    if (kind !== Kind.VALUE && kind !== Kind.DELETE) return `unknown entry kind ${kind}`;
    const klen = getVarint(buf, pos);
    if (klen < 0 || pos.off + klen > buf.length) return 'bad key length';
    const key = buf.subarray(pos.off, pos.off + klen);
    pos.off += klen;
    let value = EMPTY;
    if (kind === Kind.VALUE) {
      const vlen = getVarint(buf, pos);
      if (vlen < 0 || pos.off + vlen > buf.length) return 'bad value length';
      value = buf.subarray(pos.off, pos.off + vlen);
      pos.off += vlen;
    }
    ops.push({ kind, key, value });
  }
  if (pos.off !== buf.length) return 'trailing bytes after batch entries';
  return { firstSeq, ops };
}

/**
 * Calls `visit` for every entry of the batch at buf[start..] that this process encoded (so already
 * known to be well formed) with the offsets and lengths of its key and value in `buf`. The write path fills the
 * memtable this way: no op objects and no views per entry.
 */
export function forEachEncoded(
  buf: Uint8Array,
  visit: (
    seq: number,
    kind: number,
    buf: Uint8Array,
    keyOff: number,
    keyLen: number,
    valueOff: number,
    valueLen: number,
  ) => void,
  start = 0,
): void {
  const firstSeq = getFixed64(buf, start);
  const count = getFixed32(buf, start + 8);
  let off = start + BATCH_HEADER;
  for (let i = 0; i < count; i++) {
    const kind = buf[off++]!;
    // Inline varint decoding: lengths below 128 (nearly all keys) take one byte.
    let klen = buf[off++]!;
    if (klen >= 0x80) {
      const pos = { off: off - 1 };
      klen = getVarint(buf, pos);
      off = pos.off;
    }
    const koff = off;
    off += klen;
    let voff = off;
    let vlen = 0;
    if (kind === Kind.VALUE) {
      vlen = buf[off++]!;
      if (vlen >= 0x80) {
        const pos = { off: off - 1 };
        vlen = getVarint(buf, pos);
        off = pos.off;
      }
      voff = off;
      off += vlen;
    }
    visit(firstSeq + i, kind, buf, koff, klen, voff, vlen);
  }
}

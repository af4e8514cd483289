// The replication stream's ENTRIES push (docs/format.md 8.3-8.5), written by hand so that a leader
// encodes each log entry `[lsn, [[k, v or nil], ...]]` once, when the write is issued, into an
// append-only arena, and an ENTRIES frame is a small header followed by those bytes as they are.
// Why: the leader's backlog held each entry as ~6 objects (the entry, its ops array, each op's
// array, a view per key and value pinning the socket read it came from) for thousands of entries
// per partition, all promoted to the old generation; the bench's workload A spent 12-15% of the
// nodes' CPU in GC. Kept as bytes, an entry is one view into a slab.
// The bytes are exactly what msgpackr writes for the same message (the widths it picks, below), so
// the follower decodes ENTRIES with msgpackr like any other frame and nothing on the wire changes.

import { FRAME_HEADER_BYTES, writeU32 } from './frame-codec.js';
import { MsgType, type WireOp } from './messages.js';

/** Encoded entries are copied into slabs of this size; an entry over SLAB_BYTES / 8 gets a buffer of its own. */
const SLAB_BYTES = 64 * 1024;

/**
 * Append-only storage of encoded entries. Every view it hands out stays valid and unchanged: a slab
 * is never written again where it has handed bytes out, and is freed by the GC once no view of it
 * is left (a backlog drops its entries oldest first, so slabs go in order).
 */
export class EntryArena {
  private slab = new Uint8Array(0);
  private off = 0;

  /** `[lsn, ops]` as msgpack, in the arena. */
  encode(lsn: number, ops: readonly WireOp[]): Uint8Array {
    let size = 1 + uintSize(lsn) + lengthHeaderSize(ops.length);
    for (const [k, v] of ops) size += 1 + binSize(k.length) + (v === null ? 1 : binSize(v.length));
    let buf: Uint8Array;
    let at: number;
    if (size > SLAB_BYTES / 8) {
      buf = new Uint8Array(size);
      at = 0;
    } else {
      if (this.off + size > this.slab.length) {
        this.slab = new Uint8Array(SLAB_BYTES);
        this.off = 0;
      }
      buf = this.slab;
      at = this.off;
      this.off += size;
    }
    let o = at;
    buf[o++] = 0x92;
    o = writeUint(buf, o, lsn);
    o = writeLengthHeader(buf, o, ops.length, 0x90, 0xdc);
    for (const [k, v] of ops) {
      buf[o++] = 0x92;
      o = writeBin(buf, o, k);
      if (v === null) buf[o++] = 0xc0;
      else o = writeBin(buf, o, v);
    }
    return buf.subarray(at, o);
  }
}

/**
 * A whole ENTRIES frame (length prefix included) for partition `p` carrying `entries` (each from
 * EntryArena.encode, consecutive LSNs), as parts to write in order: a header, then the entries'
 * bytes uncopied. The caller must not modify them until written (the arena never does).
 */
export function encodeEntriesFrame(epoch: number, p: number, entries: readonly Uint8Array[]): Uint8Array[] {
  let entryBytes = 0;
  for (const e of entries) entryBytes += e.length;
  const head = new Uint8Array(
    FRAME_HEADER_BYTES + 3 + uintSize(epoch) + 3 + uintSize(p) + 2 + lengthHeaderSize(entries.length),
  );
  let o = FRAME_HEADER_BYTES;
  head[o++] = 0x94; // [type, id, epoch, body]
  head[o++] = MsgType.ENTRIES;
  head[o++] = 0x00; // id 0: a push
  o = writeUint(head, o, epoch);
  head[o++] = 0x82; // {p, e}, in that order, as msgpackr writes an object literal
  head[o++] = 0xa1;
  head[o++] = 0x70; // "p"
  o = writeUint(head, o, p);
  head[o++] = 0xa1;
  head[o++] = 0x65; // "e"
  o = writeLengthHeader(head, o, entries.length, 0x90, 0xdc);
  writeU32(head, 0, o - FRAME_HEADER_BYTES + entryBytes);
  const parts: Uint8Array[] = [head];
  for (const e of entries) parts.push(e);
  return parts;
}

/**
 * A whole ENTRIES_BATCH frame (docs/format.md 8.4): `[0x38, 0, epoch, {g: [[p, [entry, ...]], ...]}]`
 * for every partition's entries queued for one follower connection, as parts to write in order:
 * one buffer holding the envelope and each group's header (in slices), the entries' bytes uncopied
 * between them. Byte for byte what msgpackr writes for the same message.
 */
export function encodeEntriesBatchFrame(
  epoch: number,
  groups: readonly (readonly [number, readonly Uint8Array[]])[],
): Uint8Array[] {
  let headBytes = FRAME_HEADER_BYTES + 3 + uintSize(epoch) + 3 + lengthHeaderSize(groups.length);
  let entryBytes = 0;
  for (const [p, entries] of groups) {
    headBytes += 1 + uintSize(p) + lengthHeaderSize(entries.length);
    for (const e of entries) entryBytes += e.length;
  }
  const head = new Uint8Array(headBytes);
  let o = FRAME_HEADER_BYTES;
  head[o++] = 0x94; // [type, id, epoch, body]
  head[o++] = MsgType.ENTRIES_BATCH;
  head[o++] = 0x00; // id 0: a push
  o = writeUint(head, o, epoch);
  head[o++] = 0x81; // {g}
  head[o++] = 0xa1;
  head[o++] = 0x67; // "g"
  o = writeLengthHeader(head, o, groups.length, 0x90, 0xdc);
  writeU32(head, 0, headBytes - FRAME_HEADER_BYTES + entryBytes);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const [p, entries] of groups) {
    head[o++] = 0x92; // [p, entries]
    o = writeUint(head, o, p);
    o = writeLengthHeader(head, o, entries.length, 0x90, 0xdc);
    parts.push(head.subarray(start, o));
    start = o;
    for (const e of entries) parts.push(e);
  }
  if (groups.length === 0) parts.push(head);
  return parts;
}

// msgpack widths as msgpackr picks them (Packr with useRecords: false): an unsigned integer below
// 0x80 is a positive fixint, then uint8 / uint16 / uint32, and above 32 bits a float64 (msgpackr
// writes no uint64); arrays fixarray / array16 / array32; bins bin8 / bin16 / bin32.

function uintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n <= 0xffffffff ? 5 : 9;
}

function writeUint(b: Uint8Array, o: number, n: number): number {
  if (n < 0x80) {
    b[o] = n;
    return o + 1;
  }
  if (n < 0x100) {
    b[o] = 0xcc;
    b[o + 1] = n;
    return o + 2;
  }
  if (n < 0x10000) {
    b[o] = 0xcd;
    b[o + 1] = n >>> 8;
    b[o + 2] = n & 0xff;
    return o + 3;
  }
  if (n <= 0xffffffff) {
    b[o] = 0xce;
    writeU32(b, o + 1, n);
    return o + 5;
  }
  b[o] = 0xcb;
  new DataView(b.buffer, b.byteOffset + o + 1, 8).setFloat64(0, n);
  return o + 9;
}

function lengthHeaderSize(n: number): number {
  return n < 16 ? 1 : n < 0x10000 ? 3 : 5;
}

/** Array (fix 0x90, array16 0xdc, array32 0xdd) or map header. */
function writeLengthHeader(b: Uint8Array, o: number, n: number, fix: number, wide16: number): number {
  if (n < 16) {
    b[o] = fix | n;
    return o + 1;
  }
  if (n < 0x10000) {
    b[o] = wide16;
    b[o + 1] = n >>> 8;
    b[o + 2] = n & 0xff;
    return o + 3;
  }
  b[o] = wide16 + 1;
  writeU32(b, o + 1, n);
  return o + 5;
}

function binSize(n: number): number {
  return (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n;
}

function writeBin(b: Uint8Array, o: number, v: Uint8Array): number {
  const n = v.length;
  if (n < 0x100) {
    b[o] = 0xc4;
    b[o + 1] = n;
    o += 2;
  } else if (n < 0x10000) {
    b[o] = 0xc5;
    b[o + 1] = n >>> 8;
    b[o + 2] = n & 0xff;
    o += 3;
  } else {
    b[o] = 0xc6;
    writeU32(b, o + 1, n);
    o += 5;
  }
  b.set(v, o);
  return o + n;
}

/** One put or delete of a decoded ENTRIES_BATCH, its key already the stored key (partition prefix). */
export type DecodedOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/** One partition's entries of an ENTRIES_BATCH: entry i is LSN lsns[i], ops[ends[i - 1] .. ends[i]). */
export interface DecodedGroup {
  p: number;
  lsns: number[];
  ends: number[];
  ops: DecodedOp[];
}

/** An ENTRIES_BATCH body as decodeEntriesBatch reads it: checked as validateBody checks one. */
export class DecodedEntriesBatch {
  constructor(readonly groups: DecodedGroup[]) {}
}

/**
 * Reads an ENTRIES_BATCH frame body laid out as encodeEntriesBatchFrame (and msgpackr) writes it,
 * straight into engine operations: no msgpack objects, no copies. Keys and values are views of
 * `body`, and each key's view starts two bytes early, over the end of its msgpack bin header,
 * which is overwritten with the partition's prefix (cluster/node/stored-format.ts storedKey): the
 * stored key without an allocation. So `body` is modified, and must be a frame nobody else reads.
 * Returns undefined, having modified nothing, for any other layout or any value validateBody would
 * refuse: the caller then decodes the frame the general way, which refuses what is wrong.
 */
export function decodeEntriesBatch(
  body: Uint8Array,
): { id: number; epoch: number; body: DecodedEntriesBatch } | undefined {
  const r = new Reader(body);
  if (r.byte() !== 0x94 || r.byte() !== MsgType.ENTRIES_BATCH) return undefined;
  const id = r.uint();
  const epoch = r.uint();
  if (id > 0xffffffff || r.byte() !== 0x81 || r.byte() !== 0xa1 || r.byte() !== 0x67) return undefined;
  const ngroups = r.arrayLength();
  const groups: DecodedGroup[] = [];
  for (let gi = 0; gi < ngroups && r.ok; gi++) {
    if (r.byte() !== 0x92) return undefined;
    const p = r.uint();
    if (p > 0xfffe) return undefined;
    const nentries = r.arrayLength();
    const g: DecodedGroup = { p, lsns: [], ends: [], ops: [] };
    for (let ei = 0; ei < nentries && r.ok; ei++) {
      if (r.byte() !== 0x92) return undefined;
      g.lsns.push(r.uint());
      const nops = r.arrayLength();
      for (let oi = 0; oi < nops && r.ok; oi++) {
        if (r.byte() !== 0x92) return undefined;
        const key = r.bin(2);
        if (key === undefined) return undefined;
        if (body[r.at] === 0xc0) {
          r.at++;
          g.ops.push({ type: 'del', key });
        } else {
          const value = r.bin(0);
          if (value === undefined) return undefined;
          g.ops.push({ type: 'put', key, value });
        }
      }
      g.ends.push(g.ops.length);
    }
    groups.push(g);
  }
  if (!r.ok || r.at !== body.length) return undefined;
  // Checked whole: only now the bin headers' last two bytes become the partition prefixes.
  for (const g of groups) {
    for (const op of g.ops) {
      op.key[0] = g.p >>> 8;
      op.key[1] = g.p & 0xff;
    }
  }
  return { id, epoch, body: new DecodedEntriesBatch(groups) };
}

/** A bounds-checked cursor over msgpack; `ok` turns false (and stays) on anything unexpected. */
class Reader {
  at = 0;
  ok = true;
  private readonly view: DataView;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.length);
  }
  private fail(): number {
    this.ok = false;
    this.at = this.b.length;
    return -1;
  }
  byte(): number {
    return this.at < this.b.length ? this.b[this.at++]! : this.fail();
  }
  private need(n: number): boolean {
    if (this.at + n <= this.b.length) return true;
    this.fail();
    return false;
  }
  /** A non-negative integer as msgpackr writes one (fixint, uint8/16/32, or an integral float64). */
  uint(): number {
    const t = this.byte();
    if (t >= 0 && t < 0x80) return t;
    if (t === 0xcc && this.need(1)) return this.b[this.at++]!;
    if (t === 0xcd && this.need(2)) {
      const v = this.view.getUint16(this.at);
      this.at += 2;
      return v;
    }
    if (t === 0xce && this.need(4)) {
      const v = this.view.getUint32(this.at);
      this.at += 4;
      return v;
    }
    if (t === 0xcb && this.need(8)) {
      const v = this.view.getFloat64(this.at);
      this.at += 8;
      if (Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER) return v;
    }
    return this.fail();
  }
  arrayLength(): number {
    const t = this.byte();
    if (t >= 0x90 && t <= 0x9f) return t & 0x0f;
    if (t === 0xdc && this.need(2)) {
      const v = this.view.getUint16(this.at);
      this.at += 2;
      return v;
    }
    if (t === 0xdd && this.need(4)) {
      const v = this.view.getUint32(this.at);
      this.at += 4;
      return v;
    }
    return this.fail();
  }
  /** A bin's bytes as a view starting `before` bytes early (inside its header), or undefined. */
  bin(before: number): Uint8Array | undefined {
    const t = this.byte();
    let n: number;
    if (t === 0xc4 && this.need(1)) n = this.b[this.at++]!;
    else if (t === 0xc5 && this.need(2)) {
      n = this.view.getUint16(this.at);
      this.at += 2;
    } else if (t === 0xc6 && this.need(4)) {
      n = this.view.getUint32(this.at);
      this.at += 4;
    } else {
      this.fail();
      return undefined;
    }
    if (!this.need(n)) return undefined;
    const start = this.at;
    this.at += n;
    return this.b.subarray(start - before, start + n);
  }
}

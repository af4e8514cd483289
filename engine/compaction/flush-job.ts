// A memtable flush as a job for the background worker: the main thread copies the immutable
// memtable's entries, already sorted, into one transferable buffer (EntryBufferWriter); the worker
// builds the level-0 table from it (buildFlushTable) and, on node's filesystem, writes and fsyncs
// the file too. Building on the main thread cost ~24% of its time under fillbatch (table builder,
// CRC32C, bloom filter); copying the entries out costs a few percent.
//
// Entry buffer (in memory only, never on disk), entries in internal-key order:
//   count × (u8 kind | varint key length | key | varint value length | value | fixed64 sequence)

import { getFixed64, getVarint, putFixed64, putVarint } from '../util/coding.js';
import { encodeInternalKey } from '../format/internal-key.js';
import { TableBuilder, type TableSink } from '../table/table-builder.js';

export interface FlushJob {
  entries: Uint8Array;
  count: number;
  blockSize: number;
  bitsPerKey: number;
  /** When set (node's filesystem only), the worker writes the table there, fsynced. */
  path?: string;
}

export interface FlushResult {
  /** The table's contents, unless the worker wrote it to FlushJob.path. */
  bytes?: Uint8Array;
  size: number;
  smallest: Uint8Array;
  largest: Uint8Array;
}

/** Bytes an entry takes in the buffer beyond its key and value: kind, two varints, sequence. */
export const ENTRY_BUFFER_OVERHEAD = 1 + 5 + 5 + 8;

export class EntryBufferWriter {
  readonly buf: Uint8Array;
  private off = 0;
  count = 0;

  /**
   * `capacity`: sum of key and value lengths + count × ENTRY_BUFFER_OVERHEAD is always enough.
   * `reuse`, if given, is a buffer of at least that many bytes nothing else uses (its contents do
   * not matter: every byte finish() returns is written first).
   */
  constructor(capacity: number, reuse?: ArrayBuffer) {
    this.buf = reuse && reuse.byteLength >= capacity ? new Uint8Array(reuse) : new Uint8Array(capacity);
  }

  /** Adds the entry whose key is k[ko, ko + kl) and value v[vo, vo + vl). */
  addAt(seq: number, kind: number, k: Uint8Array, ko: number, kl: number, v: Uint8Array, vo: number, vl: number): void {
    const b = this.buf;
    let o = this.off;
    b[o++] = kind;
    o = putVarint(b, o, kl);
    // Short runs copy faster in a loop than through set() and a subarray view.
    if (kl <= 32) for (let i = 0; i < kl; i++) b[o + i] = k[ko + i]!;
    else b.set(k.subarray(ko, ko + kl), o);
    o += kl;
    o = putVarint(b, o, vl);
    if (vl <= 32) for (let i = 0; i < vl; i++) b[o + i] = v[vo + i]!;
    else b.set(v.subarray(vo, vo + vl), o);
    o += vl;
    putFixed64(b, o, seq);
    this.off = o + 8;
    this.count++;
  }

  /**
   * The filled part of the buffer: a view from offset 0 of a buffer nothing else uses, so the
   * runner can transfer the whole buffer (a copy of the filled part, ~4.5 MB per default flush,
   * would be a synchronous step on the event loop and as much again in external memory).
   */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.off);
  }
}

/** Builds the table of a flush. REQUIRES: job.count >= 1 and job.entries from EntryBufferWriter. */
export function buildFlushTable(job: FlushJob): FlushResult & { bytes: Uint8Array } {
  const builder = new TableBuilder({ blockSize: job.blockSize, bitsPerKey: job.bitsPerKey });
  const r = addEntries(job, builder);
  const bytes = builder.finish();
  return { bytes, size: bytes.length, ...r };
}

/** Builds the table of a flush into `sink` (no copy of the table in memory). REQUIRES: as buildFlushTable. */
export function buildFlushTableTo(job: FlushJob, sink: TableSink): FlushResult {
  const builder = new TableBuilder({ blockSize: job.blockSize, bitsPerKey: job.bitsPerKey, sink });
  const r = addEntries(job, builder);
  return { size: builder.finishToSink(), ...r };
}

function addEntries(job: FlushJob, builder: TableBuilder): { smallest: Uint8Array; largest: Uint8Array } {
  const b = job.entries;
  const pos = { off: 0 };
  let smallest: Uint8Array | undefined;
  let key = b.subarray(0, 0);
  let seq = 0;
  let kind = 0;
  for (let i = 0; i < job.count; i++) {
    kind = b[pos.off++]!;
    const klen = getVarint(b, pos);
    key = b.subarray(pos.off, pos.off + klen);
    pos.off += klen;
    const vlen = getVarint(b, pos);
    const value = b.subarray(pos.off, pos.off + vlen);
    pos.off += vlen;
    seq = getFixed64(b, pos.off);
    pos.off += 8;
    if (smallest === undefined) smallest = encodeInternalKey(key, seq, kind);
    builder.add(key, seq, kind, value);
  }
  return { smallest: smallest!, largest: encodeInternalKey(key, seq, kind) };
}

// One compaction, as a pure function from input table bytes to output table bytes. It runs in a
// worker thread (compaction-worker.ts) so merging never blocks the engine's event loop, and inline
// when workers are disabled. Reading the inputs and writing the outputs is the caller's business:
// table-files.ts does it on the worker with node:fs, the engine does it through its Vfs otherwise.
//
// Drop rules (LevelDB's): an entry is dropped when a newer entry for the same user key exists whose
// sequence is <= the oldest live snapshot (nobody can see the older one), and a tombstone is
// dropped when it is visible to every snapshot and no deeper level can hold the key. With an
// expiry check (format/value-expiry.ts), a value expired by the job's `now` is written as a
// tombstone of the same sequence, not dropped: older versions of its key in deeper levels must stay
// hidden. It is then dropped under the tombstone rule, so expired values leave the database at the
// bottom level and their bytes leave it at the first compaction that sees them expired.

import { compareBytes } from '../../kv/index.js';
import { Kind } from '../format/internal-key.js';
import { MergingIterator } from '../iter/merging-iterator.js';
import { BytesFile } from '../vfs/bytes-file.js';
import type { RandomAccessFile } from '../vfs/vfs.js';
import { ReadaheadFile } from '../table/readahead-file.js';
import { BlockCache } from '../table/block-cache.js';
import { TableReader } from '../table/table-reader.js';
import { TableBuilder, type TableSink } from '../table/table-builder.js';
import { encodeInternalKey } from '../format/internal-key.js';
import { isExpired, type ExpiryCheck } from '../format/value-expiry.js';

export interface CompactionInput {
  number: number;
  path: string;
  /** The table's contents; absent when the job reads the file itself (CompactionJob.files). */
  bytes?: Uint8Array;
  /**
   * The table opened for reading (worker side only, never posted): read through a readahead window
   * rather than whole (table-files.ts). Used instead of `bytes` when set.
   */
  file?: RandomAccessFile;
}

export interface CompactionJob {
  inputs: CompactionInput[];
  smallestSnapshot: number;
  bottommost: boolean;
  targetFileSize: number;
  blockSize: number;
  bitsPerKey: number;
  /** With the engine's valueExpiry: values expired at `now` become tombstones. */
  expiry?: ExpiryCheck;
  /**
   * When set (node's filesystem only), the worker reads the inputs from their paths and writes
   * each output to `dir`/<number>.sst, fsynced, taking numbers from `outputNumbers` in order; an
   * output past the last number comes back as bytes for the caller to write.
   */
  files?: { dir: string; outputNumbers: number[] };
}

export interface CompactionOutput {
  /** The table's contents, unless the worker wrote it to the file `number`. */
  bytes?: Uint8Array;
  number?: number;
  size: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  entries: number;
}

export interface CompactionResult {
  outputs: CompactionOutput[];
  bytesRead: number;
  entriesIn: number;
  entriesDropped: number;
  /** Expired values written as tombstones or dropped. */
  entriesExpired?: number;
}

/** Running totals of a merge, filled in as mergeTables() goes. */
export interface MergeStats {
  entriesIn: number;
  entriesDropped: number;
  entriesExpired?: number;
  /** Set as each output is yielded: whether entries remain after it (another output may follow). */
  more?: boolean;
}

/**
 * Merges the input tables, yielding each output table as soon as it is complete so the caller can
 * write it while the next one is built. REQUIRES: every input has its bytes or its file (a
 * ReadaheadFile is switched to reading its data blocks through its window). With `sinkFor`, output
 * i (from 0) is written to sinkFor(i) as it is built, when that returns a sink, and is yielded
 * without bytes; otherwise it comes with its bytes.
 */
export function* mergeTables(
  job: CompactionJob,
  stats: MergeStats,
  sinkFor?: (output: number) => TableSink | undefined,
): Generator<CompactionOutput> {
  const cache = new BlockCache(0);
  const readers = job.inputs.map((inp) => {
    const file = inp.file ?? new BytesFile(inp.path, inp.bytes!);
    const r = TableReader.open(file, inp.number, cache);
    if (file instanceof ReadaheadFile) file.readaheadBelow(r.properties.dataSize);
    return r;
  });
  // fillCache false: blocks are read once and dropped (the cache has no room anyway).
  const it = new MergingIterator(readers.map((r) => r.iterator({ fillCache: false })));
  let builder: TableBuilder | null = null;
  let sunk = false;
  let produced = 0;
  let smallest: Uint8Array | null = null;
  let lastKey: Uint8Array | null = null;
  let lastSeqForKey = Number.POSITIVE_INFINITY;
  // The last entry added to the current output (its key may differ from lastKey when every later
  // version was dropped).
  let addedKey: Uint8Array | null = null;
  let addedSeq = 0;
  let addedKind = 0;

  const finishOutput = (): CompactionOutput | null => {
    if (!builder || builder.entries() === 0) return null;
    const bytes = sunk ? undefined : builder.finish();
    const out = {
      bytes,
      size: bytes === undefined ? builder.finishToSink() : bytes.length,
      smallest: smallest!,
      largest: encodeInternalKey(addedKey!, addedSeq, addedKind),
      entries: builder.entries(),
    };
    builder = null;
    return out;
  };

  try {
    for (it.seekToFirst(); it.valid(); it.next()) {
      stats.entriesIn++;
      const key = it.key();
      const seq = it.seq();
      let kind: number = it.kind();
      let value = it.value();
      if (kind === Kind.VALUE && job.expiry && isExpired(job.expiry.keysBelow, job.expiry.now, key, value)) {
        kind = Kind.DELETE;
        value = EMPTY;
        stats.entriesExpired = (stats.entriesExpired ?? 0) + 1;
      }
      const newKey = lastKey === null || compareBytes(key, lastKey) !== 0;
      if (newKey) {
        // Outputs are cut only between user keys, so a level never splits one key over two files.
        if (builder && builder.estimatedSize() >= job.targetFileSize) {
          const out = finishOutput();
          stats.more = true;
          if (out) yield out;
        }
        lastKey = key.slice();
        lastSeqForKey = Number.POSITIVE_INFINITY;
      }
      let drop = false;
      if (lastSeqForKey <= job.smallestSnapshot) drop = true;
      else if (kind === Kind.DELETE && seq <= job.smallestSnapshot && job.bottommost) drop = true;
      lastSeqForKey = seq;
      if (drop) {
        stats.entriesDropped++;
        continue;
      }
      if (!builder) {
        const sink = sinkFor?.(produced++);
        sunk = sink !== undefined;
        builder = new TableBuilder({ blockSize: job.blockSize, bitsPerKey: job.bitsPerKey, sink });
        smallest = encodeInternalKey(key, seq, kind);
      }
      builder.add(key, seq, kind, value);
      addedKey = lastKey;
      addedSeq = seq;
      addedKind = kind;
    }
    const out = finishOutput();
    stats.more = false;
    if (out) yield out;
  } finally {
    it.close();
  }
}

const EMPTY = new Uint8Array(0);

/** The whole job in memory: outputs come back as bytes. REQUIRES: every input has its bytes. */
export function runCompactionJob(job: CompactionJob): CompactionResult {
  const stats: MergeStats = { entriesIn: 0, entriesDropped: 0 };
  const outputs = [...mergeTables(job, stats)];
  let bytesRead = 0;
  for (const inp of job.inputs) bytesRead += inp.bytes!.length;
  return {
    outputs,
    bytesRead,
    entriesIn: stats.entriesIn,
    entriesDropped: stats.entriesDropped,
    entriesExpired: stats.entriesExpired ?? 0,
  };
}

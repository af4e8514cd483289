// One compaction, as a pure function from input table bytes to output table bytes. It runs in a
// worker thread (compaction-worker.ts) so merging never blocks the engine's event loop, and inline
// when workers are disabled; it touches no filesystem either way.
//
// Drop rules (LevelDB's): an entry is dropped when a newer entry for the same user key exists whose
// sequence is <= the oldest live snapshot (nobody can see the older one), and a tombstone is
// dropped when it is visible to every snapshot and no deeper level can hold the key.

import { compareBytes } from '../util/bytes.js';
import { Kind } from '../format/internal-key.js';
import { MergingIterator } from '../iter/merging-iterator.js';
import { BytesFile } from '../vfs/bytes-file.js';
import { BlockCache } from '../table/block-cache.js';
import { TableReader } from '../table/table-reader.js';
import { TableBuilder } from '../table/table-builder.js';
import { encodeInternalKey } from '../format/internal-key.js';

export interface CompactionInput {
  number: number;
  path: string;
  bytes: Uint8Array;
}

export interface CompactionJob {
  inputs: CompactionInput[];
  smallestSnapshot: number;
  bottommost: boolean;
  targetFileSize: number;
  blockSize: number;
  bitsPerKey: number;
}

export interface CompactionOutput {
  bytes: Uint8Array;
  smallest: Uint8Array;
  largest: Uint8Array;
  entries: number;
}

export interface CompactionResult {
  outputs: CompactionOutput[];
  bytesRead: number;
  entriesIn: number;
  entriesDropped: number;
}

export function runCompactionJob(job: CompactionJob): CompactionResult {
  const cache = new BlockCache(0);
  const readers = job.inputs.map((inp) => TableReader.open(new BytesFile(inp.path, inp.bytes), inp.number, cache));
  const it = new MergingIterator(readers.map((r) => r.iterator()));
  const outputs: CompactionOutput[] = [];
  let builder: TableBuilder | null = null;
  let smallest: Uint8Array | null = null;
  let lastKey: Uint8Array | null = null;
  let lastSeqForKey = Number.POSITIVE_INFINITY;
  let lastAdded: { key: Uint8Array; seq: number; kind: number } | null = null;
  let entriesIn = 0;
  let dropped = 0;

  const finishOutput = (): void => {
    if (!builder || builder.entries() === 0) return;
    const bytes = builder.finish();
    outputs.push({
      bytes,
      smallest: smallest!,
      largest: encodeInternalKey(lastAdded!.key, lastAdded!.seq, lastAdded!.kind),
      entries: builder.entries(),
    });
    builder = null;
  };

  for (it.seekToFirst(); it.valid(); it.next()) {
    entriesIn++;
    const key = it.key();
    const seq = it.seq();
    const kind = it.kind();
    const newKey = lastKey === null || compareBytes(key, lastKey) !== 0;
    if (newKey) {
      lastKey = key.slice();
      lastSeqForKey = Number.POSITIVE_INFINITY;
      // Outputs are cut only between user keys, so a level never splits one key over two files.
      if (builder && builder.estimatedSize() >= job.targetFileSize) finishOutput();
    }
    let drop = false;
    if (lastSeqForKey <= job.smallestSnapshot) drop = true;
    else if (kind === Kind.DELETE && seq <= job.smallestSnapshot && job.bottommost) drop = true;
    lastSeqForKey = seq;
    if (drop) {
      dropped++;
      continue;
    }
    if (!builder) {
      builder = new TableBuilder({ blockSize: job.blockSize, bitsPerKey: job.bitsPerKey });
      smallest = encodeInternalKey(key, seq, kind);
    }
    builder.add(key, seq, kind, it.value());
    lastAdded = { key: lastKey!, seq, kind };
  }
  finishOutput();
  it.close();
  let bytesRead = 0;
  for (const inp of job.inputs) bytesRead += inp.bytes.length;
  return { outputs, bytesRead, entriesIn, entriesDropped: dropped };
}

// Builds one SSTable (docs/format.md §5), in memory (finish() returns the file's bytes) or, given a
// sink, written out block by block as it is built (finishToSink()): the background worker writes
// flushed and compacted tables that way, so it holds a table's blocks once, in the file, rather than
// as block copies plus one concatenated copy of the whole table (3x a flush's size at the peak,
// with the flush's input, where LevelDB's TableBuilder writes each block to its file as it goes).
// Nothing here touches the filesystem: the sink does.
//
// File: data blocks | filter block | properties block | index block | footer (64 bytes),
// every block followed by its 5-byte trailer (compression type, masked CRC32C).

import { compareBytes, concatBytes } from '../../kv/index.js';
import { putVarint } from '../util/coding.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { encodeInternalKey, Kind, MAX_SEQUENCE } from '../format/internal-key.js';
import { BlockBuilder } from './block-builder.js';
import { bloomHash, buildFilter, DEFAULT_BITS_PER_KEY } from './bloom.js';
import {
  BLOCK_TRAILER_SIZE,
  blockTrailer,
  encodeFooter,
  FOOTER_SIZE,
  sealBlock,
  TABLE_FORMAT_VERSION,
} from './format.js';
import type { BlockHandle } from './format.js';
import { encodeProperties } from './properties.js';
import type { TableProperties } from './properties.js';

const DEFAULT_BLOCK_SIZE = 4096;
/** Block offsets must stay below 2^32 (block-cache.ts keys). */
const MAX_TABLE_SIZE = 0xffffffff - 1024;

export interface TableBuilderOptions {
  /** Target size of a data block's contents in bytes (default 4096). A block closes once it reaches it. */
  blockSize?: number;
  /** Bloom filter bits per distinct user key (default 10, ~0.8 % false positives); 0 = no filter. */
  bitsPerKey?: number;
  /** Write the table here as it is built, then call finishToSink() instead of finish(). */
  sink?: TableSink;
}

/** Takes the table's bytes in order. write() must copy or write `bytes` before it returns. */
export interface TableSink {
  write(bytes: Uint8Array): void;
}

export class TableBuilder {
  private readonly blockSize: number;
  private readonly bitsPerKey: number;
  private readonly block: BlockBuilder;
  /** One restart per entry: an index lookup is a binary search over full separators. */
  private readonly index = new BlockBuilder(1024, 1);
  private readonly chunks: Uint8Array[] = [];
  private readonly sink: TableSink | undefined;
  private readonly trailer = new Uint8Array(BLOCK_TRAILER_SIZE);
  private offset = 0;
  /** Handle of the last finished data block, whose index entry waits for the next key. */
  private pending: BlockHandle | undefined;
  private readonly handleScratch = new Uint8Array(20);

  private hashes = new Uint32Array(1024);
  private distinct = 0;

  // The last entry added, its user key copied (callers may reuse their buffers).
  private lastKey = new Uint8Array(64);
  private lastLen = 0;
  private lastSeq = 0;
  private lastKind = 0;

  private count = 0;
  private tombstones = 0;
  private smallestSeq = MAX_SEQUENCE;
  private largestSeq = 0;
  private userKeyBytes = 0;
  private valueBytes = 0;
  private dataBlocks = 0;
  private smallestKey: Uint8Array | undefined;
  private props: TableProperties | undefined;

  constructor(opts: TableBuilderOptions = {}) {
    const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    const bitsPerKey = opts.bitsPerKey ?? DEFAULT_BITS_PER_KEY;
    if (!Number.isInteger(blockSize) || blockSize < 1)
      throw new TypeError(`blockSize must be a positive integer, got ${blockSize}`);
    if (!(bitsPerKey >= 0 && bitsPerKey <= 64)) throw new TypeError(`bitsPerKey must be in [0, 64], got ${bitsPerKey}`);
    this.blockSize = blockSize;
    this.bitsPerKey = bitsPerKey;
    this.block = new BlockBuilder(blockSize + 1024, undefined, true);
    this.sink = opts.sink;
  }

  /**
   * Adds an entry. REQUIRES: (userKey, seq) sorts strictly after the previous entry in internal
   * order: user key ascending, then seq strictly descending (one sequence number is one entry);
   * throws TypeError otherwise.
   */
  add(userKey: Uint8Array, seq: number, kind: number, value: Uint8Array): void {
    if (this.props !== undefined) throw new TypeError('TableBuilder.add after finish');
    if (kind !== Kind.VALUE && kind !== Kind.DELETE) throw new TypeError(`unknown entry kind ${kind}`);
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQUENCE) throw new TypeError(`invalid sequence ${seq}`);
    let sameUser = false;
    if (this.count > 0) {
      const c = compareBytes(userKey, this.lastKey, 0, userKey.length, 0, this.lastLen);
      sameUser = c === 0;
      // Same user key and sequence is refused even with different kinds: a sequence names one entry.
      if (c < 0 || (sameUser && seq >= this.lastSeq)) {
        throw new TypeError('TableBuilder.add: entries must be added in strictly increasing internal-key order');
      }
      if (this.pending !== undefined) this.addIndexEntry(userKey, sameUser);
    } else {
      this.smallestKey = encodeInternalKey(userKey, seq, kind);
    }
    if (!sameUser) this.addHash(userKey);

    this.block.add(userKey, seq, kind, value);
    this.count++;
    if (kind === Kind.DELETE) this.tombstones++;
    if (seq < this.smallestSeq) this.smallestSeq = seq;
    if (seq > this.largestSeq) this.largestSeq = seq;
    this.userKeyBytes += userKey.length;
    this.valueBytes += value.length;

    if (userKey.length > this.lastKey.length)
      this.lastKey = new Uint8Array(Math.max(userKey.length, 2 * this.lastKey.length));
    this.lastKey.set(userKey);
    this.lastLen = userKey.length;
    this.lastSeq = seq;
    this.lastKind = kind;

    if (this.block.currentSize() >= this.blockSize) this.flushBlock();
  }

  /** Entries added so far. */
  entries(): number {
    return this.count;
  }

  /** Approximate size of the file if finish() were called now. */
  estimatedSize(): number {
    return (
      this.offset +
      (this.block.empty() ? 0 : this.block.currentSize() + BLOCK_TRAILER_SIZE) +
      this.index.currentSize() +
      Math.ceil((this.distinct * this.bitsPerKey) / 8) +
      300 +
      FOOTER_SIZE
    );
  }

  /** Completes the table and returns the whole file. REQUIRES: at least one entry, no sink. */
  finish(): Uint8Array {
    if (this.sink !== undefined)
      throw new TypeError('TableBuilder.finish: this builder writes to a sink (finishToSink)');
    this.complete();
    const file = concatBytes(this.chunks);
    this.chunks.length = 0;
    return file;
  }

  /** Completes the table, written to the sink, and returns its size. REQUIRES: at least one entry, a sink. */
  finishToSink(): number {
    if (this.sink === undefined) throw new TypeError('TableBuilder.finishToSink: this builder has no sink (finish)');
    this.complete();
    return this.offset;
  }

  private complete(): void {
    if (this.props !== undefined) throw new TypeError('TableBuilder.finish called twice');
    if (this.count === 0) throw new TypeError('TableBuilder.finish: a table must hold at least one entry');
    if (!this.block.empty()) this.flushBlock();
    // No data block follows: the sink or sealBlock has taken the last one's bytes.
    this.block.release();
    // The last block's index key is the table's largest key itself, so a get beyond it stops at the index.
    const h = this.pending!;
    this.pending = undefined;
    const last = this.lastKey.subarray(0, this.lastLen);
    this.index.add(last, this.lastSeq, this.lastKind, this.encodeHandle(h));

    const dataSize = this.offset;
    const filter = this.append(buildFilter(this.hashes, this.distinct, this.bitsPerKey));
    const props: TableProperties = {
      formatVersion: TABLE_FORMAT_VERSION,
      entries: this.count,
      dataSize,
      dataBlocks: this.dataBlocks,
      tombstones: this.tombstones,
      smallestSeq: this.smallestSeq,
      largestSeq: this.largestSeq,
      userKeyBytes: this.userKeyBytes,
      valueBytes: this.valueBytes,
      distinctKeys: this.distinct,
      filterBitsPerKey: this.bitsPerKey,
      smallestKey: this.smallestKey!,
      largestKey: encodeInternalKey(last, this.lastSeq, this.lastKind),
      smallestUserKey: this.smallestKey!.subarray(0, this.smallestKey!.length - 8),
      largestUserKey: new Uint8Array(0),
    };
    props.largestUserKey = props.largestKey.subarray(0, props.largestKey.length - 8);
    const properties = this.append(encodeProperties(props));
    const index = this.append(this.index.finish());
    const footer = encodeFooter({ filter, properties, index, version: TABLE_FORMAT_VERSION });
    if (this.sink !== undefined) this.sink.write(footer);
    else this.chunks.push(footer);
    this.offset += footer.length;
    this.props = props;
  }

  /** What finish() recorded about the table. REQUIRES: finish() was called. */
  get properties(): TableProperties {
    if (this.props === undefined) throw new TypeError('TableBuilder.properties is available after finish()');
    return this.props;
  }

  private flushBlock(): void {
    const h = this.append(this.block.finish());
    this.block.reset();
    this.dataBlocks++;
    this.pending = h;
  }

  /** Seals block contents, appends them (or writes them to the sink), and returns their handle. */
  private append(contents: Uint8Array): BlockHandle {
    const h = { offset: this.offset, size: contents.length };
    const sink = this.sink;
    if (sink !== undefined) {
      // Contents may be a view of the block builder's buffer: the sink takes it before the reset.
      sink.write(contents);
      sink.write(blockTrailer(contents, this.trailer));
    } else {
      this.chunks.push(sealBlock(contents));
    }
    this.offset += contents.length + BLOCK_TRAILER_SIZE;
    if (this.offset > MAX_TABLE_SIZE) {
      throw new Eau2Error(ErrorCode.TOO_LARGE, `table exceeds ${MAX_TABLE_SIZE} bytes; split the output`);
    }
    return h;
  }

  /**
   * Writes the pending block's index entry: a key >= its last key (the table's last key so far) and
   * < `nextUser`'s first entry. With different user keys it is a short user key s, last < s < next,
   * at MAX_SEQUENCE (LevelDB's FindShortestSeparator, extended to any byte after the common prefix
   * that can be incremented); otherwise the last internal key itself.
   */
  private addIndexEntry(nextUser: Uint8Array, sameUser: boolean): void {
    const handle = this.encodeHandle(this.pending!);
    this.pending = undefined;
    const last = this.lastKey;
    const n = this.lastLen;
    if (!sameUser) {
      let i = 0;
      const min = Math.min(n, nextUser.length);
      while (i < min && last[i] === nextUser[i]) i++;
      if (i < n) {
        // last[i] < nextUser[i] here (last < next and neither is a prefix of the other at i).
        let j = i;
        if (last[i]! + 1 >= nextUser[i]!) {
          j = i + 1;
          while (j < n && last[j] === 0xff) j++;
        }
        if (j < n) {
          const sep = last.slice(0, j + 1);
          sep[j] = sep[j]! + 1;
          this.index.add(sep, MAX_SEQUENCE, Kind.VALUE, handle);
          return;
        }
      }
    }
    this.index.add(last.subarray(0, n), this.lastSeq, this.lastKind, handle);
  }

  private encodeHandle(h: BlockHandle): Uint8Array {
    const end = putVarint(this.handleScratch, putVarint(this.handleScratch, 0, h.offset), h.size);
    return this.handleScratch.subarray(0, end);
  }

  private addHash(userKey: Uint8Array): void {
    if (this.distinct === this.hashes.length) {
      const grown = new Uint32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[this.distinct++] = bloomHash(userKey);
  }
}

// Reads one SSTable (docs/format.md §5) synchronously: a get is served from the block cache or with
// one pread, with no promise in the way (engine/vfs/vfs.ts readSync).
//
// open() reads the footer and, in one more read, the filter, properties and index blocks, checks
// every checksum and bounds-checks every block handle, and keeps them for the life of the reader.
// Data blocks are read on demand through the shared BlockCache, keyed by (file number, offset); a
// block's CRC is checked once, when it is read from the file, and the cache keeps its raw bytes
// (block.ts searches them in place): a bad block is a CORRUPTION error naming the file and the
// offset, never data.

import { corruption } from '../../kv/index.js';
import { MAX_SEQUENCE } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';
import type { RandomAccessFile } from '../vfs/vfs.js';
import { Block, found, NOT_HERE, releaseFound } from './block.js';
import type { BlockCache, BlockSlots } from './block-cache.js';
import { TableBloom, bloomHash } from './bloom.js';
import { BLOCK_TRAILER_SIZE, decodeFooter, FOOTER_SIZE, unsealBlock } from './format.js';
import type { BlockHandle } from './format.js';
import { IndexBlock } from './index-block.js';
import { decodeProperties } from './properties.js';
import type { TableProperties } from './properties.js';
import { TableIterator } from './table-iterator.js';

export interface TableGetResult {
  /** Kind.VALUE or Kind.DELETE (a tombstone: the caller stops looking and reports not found). */
  kind: number;
  /**
   * A view of the cached block, valid only until the next block is read from any table: its memory
   * is recycled once the block leaves the cache (slot-arena.ts). Copy it before anything else.
   */
  value: Uint8Array;
  seq: number;
}

export interface TableIteratorOptions {
  /** Put the blocks this iterator reads into the cache (default true; compactions pass false). */
  fillCache?: boolean;
}

export interface TableOpenOptions {
  /** The size the manifest recorded; a file of any other size is refused as CORRUPTION. */
  expectedSize?: number;
}

export interface TableReaderStats {
  /** Gets answered "absent" by the bloom filter alone. */
  filterNegatives: number;
  /** Gets that passed the filter. */
  filterPositives: number;
  /** Gets that passed the filter but found no entry for the key (filter false positives). */
  filterFalsePositives: number;
  /** Data blocks read from the file (cache misses of this table). */
  blockReads: number;
}

export class TableReader {
  readonly file: RandomAccessFile;
  readonly path: string;
  readonly fileNumber: number;
  readonly fileSize: number;
  readonly properties: TableProperties;
  /** The index block: separator i separates data block i from i + 1. */
  readonly index: IndexBlock;
  readonly bloom: TableBloom;
  private readonly cache: BlockCache;
  private readonly blockOffsets: Float64Array;
  private readonly blockSizes: Float64Array;
  /** This table's cached blocks by block number, kept by the cache (block-cache.ts). */
  private readonly slots: BlockSlots;
  private readonly counters: TableReaderStats = {
    filterNegatives: 0,
    filterPositives: 0,
    filterFalsePositives: 0,
    blockReads: 0,
  };

  private constructor(
    file: RandomAccessFile,
    fileNumber: number,
    cache: BlockCache,
    fileSize: number,
    properties: TableProperties,
    index: IndexBlock,
    bloom: TableBloom,
  ) {
    this.file = file;
    this.path = file.path;
    this.fileNumber = fileNumber;
    this.cache = cache;
    this.fileSize = fileSize;
    this.properties = properties;
    this.index = index;
    this.bloom = bloom;
    this.blockOffsets = index.offsets;
    this.blockSizes = index.sizes;
    this.slots = new Array<undefined>(index.count).fill(undefined);
  }

  /**
   * Opens a table synchronously. Throws CORRUPTION ("not an eau2 table") for a file that is too
   * short or lacks the magic number, CORRUPTION for any checksum or structural failure, and INVALID
   * for a table written in a newer format version.
   */
  static open(file: RandomAccessFile, fileNumber: number, cache: BlockCache, opts: TableOpenOptions = {}): TableReader {
    const path = file.path;
    const fileSize = file.size();
    if (opts.expectedSize !== undefined && opts.expectedSize !== fileSize) {
      throw corruption(
        path,
        Math.min(fileSize, opts.expectedSize),
        `table is ${fileSize} bytes, expected ${opts.expectedSize}`,
      );
    }
    if (fileSize < FOOTER_SIZE) {
      throw corruption(path, 0, `not an eau2 table: ${fileSize} bytes is shorter than the ${FOOTER_SIZE}-byte footer`);
    }
    const footer = decodeFooter(file.readSync(fileSize - FOOTER_SIZE, FOOTER_SIZE), fileSize, path);

    // Filter, properties and index lie back to back before the footer (checked by decodeFooter).
    const metaStart = footer.filter.offset;
    const meta = file.readSync(metaStart, fileSize - FOOTER_SIZE - metaStart);
    const section = (h: BlockHandle, what: string): Uint8Array => {
      const from = h.offset - metaStart;
      return unsealBlock(meta.subarray(from, from + h.size + BLOCK_TRAILER_SIZE), h, path, what);
    };
    const filterContents = section(footer.filter, 'filter');
    const propsContents = section(footer.properties, 'properties');
    const indexContents = section(footer.index, 'index');

    const bloom = TableBloom.decode(filterContents);
    if (typeof bloom === 'string') throw corruption(path, footer.filter.offset, bloom);
    const properties = decodeProperties(propsContents);
    if (typeof properties === 'string')
      throw corruption(path, footer.properties.offset, `malformed properties block: ${properties}`);
    if (properties.dataSize !== metaStart || properties.formatVersion !== footer.version) {
      throw corruption(path, footer.properties.offset, 'properties disagree with the footer');
    }
    const index = IndexBlock.open(indexContents, path, footer.index.offset, properties.dataBlocks, metaStart);
    return new TableReader(file, fileNumber, cache, fileSize, properties, index, bloom);
  }

  /** Number of data blocks. */
  get blockCount(): number {
    return this.index.count;
  }

  /** The first data block that can hold an entry >= (userKey, seq): its separator is >= it. blockCount if none. */
  seekBlock(userKey: Uint8Array, seq: number): number {
    return this.index.seek(userKey, seq);
  }

  /** False iff the bloom filter says this table holds no entry for `userKey`. */
  mayContain(userKey: Uint8Array): boolean {
    return this.bloom.mayContain(userKey);
  }

  /**
   * The newest entry for `userKey` with sequence <= `seq`, or undefined if the table has none.
   * Kind DELETE is a tombstone, returned as such. Synchronous; with the block cached this allocates
   * only the result and its value view. `hash`: bloomHash(userKey), when the caller asks several
   * tables (hashed once per lookup). `fillCache` false: a block not in the cache is read into the
   * cache's lend buffer and left out of the cache (lentBlock); the value view is then valid only
   * until the next read, as it is anyway for a cached block (see TableGetResult.value).
   */
  get(userKey: Uint8Array, seq: number, hash = bloomHash(userKey), fillCache = true): TableGetResult | undefined {
    if (!this.bloom.mayContainHash(hash)) {
      this.counters.filterNegatives++;
      return undefined;
    }
    this.counters.filterPositives++;
    const index = this.index;
    const n = index.count;
    // The first separator >= (userKey, seq) names the only block that can hold the first entry >= it;
    // the loop moves on only if a separator equals its block's last key and the entry is further on.
    for (let bi = index.seek(userKey, seq); bi < n; bi++) {
      const block = fillCache ? this.dataBlock(bi, true) : this.lentBlock(bi);
      const i = block.find(userKey, seq);
      if (i >= 0) {
        const r = { kind: found.kind, value: block.data.subarray(found.valueAt, found.valueEnd), seq: found.seq };
        releaseFound();
        return r;
      }
      if (i === NOT_HERE) break;
    }
    this.counters.filterFalsePositives++;
    return undefined;
  }

  /** A two-level iterator (index, then data blocks) over every entry, in internal order. */
  iterator(opts: TableIteratorOptions = {}): InternalIterator {
    return new TableIterator(this, opts.fillCache ?? true);
  }

  /** Approximate file offset where entries for `userKey` begin: for stats and compaction picking. */
  approximateOffsetOf(userKey: Uint8Array): number {
    const bi = this.index.seek(userKey, MAX_SEQUENCE);
    return bi < this.index.count ? this.blockOffsets[bi]! : this.properties.dataSize;
  }

  stats(): TableReaderStats {
    return { ...this.counters };
  }

  /** Closes the file. Cached blocks stay valid (a table never changes); evict them when deleting it. */
  close(): Promise<void> {
    return this.file.close();
  }

  /**
   * Reads data block `bi` from the file (never from the cache: a scrub wants what is on disk now),
   * checks its checksum and structure, and returns its size with trailer. Throws CORRUPTION.
   */
  async verifyBlock(bi: number): Promise<number> {
    const offset = this.blockOffsets[bi]!;
    const size = this.blockSizes[bi]!;
    const raw = await this.file.read(offset, size + BLOCK_TRAILER_SIZE);
    Block.open(unsealBlock(raw, { offset, size }, this.path, 'data'), this.path, offset);
    return raw.length;
  }

  /** Reads the footer, filter, properties and index from the file again and checks them (as open does). */
  verifyMeta(): number {
    TableReader.open(this.file, this.fileNumber, this.cache, { expectedSize: this.fileSize });
    return this.fileSize - this.properties.dataSize;
  }

  /**
   * Data block `bi` from the cache, or read and checked into the cache's lend buffer without
   * caching it (LevelDB's ReadOptions.fill_cache = false, for bulk reads of data read once): the
   * block is valid only until the next block is read, so only get() uses this, never an iterator.
   * Falls back to memory of its own when the block is too big or the file cannot read into memory.
   */
  private lentBlock(bi: number): Block {
    const e = this.slots[bi];
    if (e !== undefined) return this.cache.touch(e);
    const n = this.blockSizes[bi]! + BLOCK_TRAILER_SIZE;
    const mem = this.file.readInto === undefined ? undefined : this.cache.lendBuffer(n);
    if (mem === undefined) return this.dataBlock(bi, false);
    this.cache.miss();
    this.counters.blockReads++;
    const offset = this.blockOffsets[bi]!;
    const got = this.file.readInto!(offset, mem.subarray(0, n));
    return Block.open(
      unsealBlock(mem.subarray(0, got), { offset, size: this.blockSizes[bi]! }, this.path, 'data'),
      this.path,
      offset,
    );
  }

  /**
   * Data block `bi`, from the cache or read and checked. REQUIRES: 0 <= bi < blockCount.
   * `fillCache` false leaves a block read from the file out of the cache.
   */
  dataBlock(bi: number, fillCache: boolean): Block {
    const e = this.slots[bi];
    if (e !== undefined) return this.cache.touch(e);
    this.cache.miss();
    const offset = this.blockOffsets[bi]!;
    const size = this.blockSizes[bi]!;
    this.counters.blockReads++;
    const n = size + BLOCK_TRAILER_SIZE;
    // Into a slot of the cache's arena when the file can read into memory (no allocation, see
    // slot-arena.ts); the slot is the cache's again if the block turns out bad.
    const mem = fillCache && this.file.readInto !== undefined ? this.cache.acquireSlot(n) : undefined;
    if (mem !== undefined) {
      let block: Block;
      try {
        const got = this.file.readInto!(offset, mem.subarray(0, n));
        block = Block.open(
          unsealBlock(mem.subarray(0, got), { offset, size }, this.path, 'data'),
          this.path,
          offset,
          'data',
          mem.length,
        );
      } catch (e) {
        this.cache.giveBack(mem);
        throw e;
      }
      this.cache.set(this.fileNumber, offset, block, this.slots, bi, mem);
      return block;
    }
    const raw = this.file.readSync(offset, n);
    let contents = unsealBlock(raw, { offset, size }, this.path, 'data');
    // A cached view would pin its whole buffer: Node's shared pool for reads under 4 KiB (a table's
    // last block), or a whole file (BytesFile). Such blocks are copied before they are cached.
    // (Uint8Array.from, not slice: a Buffer's slice is a view.)
    if (fillCache && contents.buffer.byteLength > 2 * contents.length) contents = Uint8Array.from(contents);
    const block = Block.open(contents, this.path, offset);
    if (fillCache) this.cache.set(this.fileNumber, offset, block, this.slots, bi);
    return block;
  }
}

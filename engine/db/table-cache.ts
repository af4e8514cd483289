// Open table readers by file number. Tables are opened when they join a Version (after a flush, a
// compaction, or at recovery), never on the read path, so a get needs no asynchronous open.

import { joinPath, type Vfs } from '../vfs/vfs.js';
import { TableReader } from '../table/table-reader.js';
import type { BlockCache } from '../table/block-cache.js';

export function tableName(n: number): string {
  return `${String(n).padStart(6, '0')}.sst`;
}

export function logName(n: number): string {
  return `${String(n).padStart(6, '0')}.log`;
}

export class TableCache {
  private readonly readers = new Map<number, TableReader>();

  constructor(
    private readonly vfs: Vfs,
    private readonly dir: string,
    private readonly blockCache: BlockCache,
  ) {}

  async open(number: number): Promise<TableReader> {
    const have = this.readers.get(number);
    if (have) return have;
    const file = await this.vfs.openRandom(joinPath(this.dir, tableName(number)));
    try {
      const r = TableReader.open(file, number, this.blockCache);
      this.readers.set(number, r);
      return r;
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  /** REQUIRES: open(number) resolved earlier and evict(number) has not been called since. */
  get(number: number): TableReader {
    const r = this.readers.get(number);
    if (!r) throw new Error(`table ${number} is not open`);
    return r;
  }

  async evict(number: number): Promise<void> {
    const r = this.readers.get(number);
    if (!r) return;
    this.readers.delete(number);
    this.blockCache.evictFile(number);
    await r.close();
  }

  async closeAll(): Promise<void> {
    for (const n of [...this.readers.keys()]) await this.evict(n);
  }
}

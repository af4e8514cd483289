// Reads and decodes single column chunks of one published version. Shared by lazy frames (client
// side) and query tasks (node side). A missing chunk is never treated as empty: it is either a frame
// replaced under a long-running reader (NOT_FOUND) or a damaged store (CORRUPTION).

import { getWith, type KvStore, type ReadOptions } from '../kv/index.js';
import { Eau2Error, ErrorCode } from '../kv/index.js';
import { decodeChunk, type DecodeArena } from './chunk-codec.js';
import type { Column } from './column.js';
import { chunkKey, metaKey } from './layout.js';
import { decodeMeta, rowsInChunk, slotOf, type FrameMeta } from './meta.js';

export class ChunkReader {
  constructor(
    readonly store: KvStore,
    readonly meta: FrameMeta,
    /**
     * Whether the metadata record is readable through `store`. A cluster node's local store holds only
     * its own partitions, so there a missing chunk cannot be checked against the current version.
     */
    private readonly canCheckMeta = true,
  ) {}

  key(chunk: number, col: number): string {
    return chunkKey(this.meta.name, this.meta.version, slotOf(this.meta, chunk), col);
  }

  /**
   * Column `col` of row-chunk `chunk`. With an arena its arrays are the arena's (chunk-codec.ts) and
   * never views of the stored value, so the value is only borrowed from the store (getWith): a store
   * that lends it (the engine's cache block, the cluster client's reply buffer) allocates nothing
   * for it. Without one, the column may be a view of the value, which the store then gives for good.
   * `opts` go to the store (a scan passes fillCache: false, so the engine's block cache is neither
   * filled nor emptied by a frame read once). Without `opts.read`, a cluster reads leader-first.
   */
  async read(chunk: number, col: number, arena?: DecodeArena, opts?: ReadOptions): Promise<Column> {
    const m = this.meta;
    if (!Number.isInteger(chunk) || chunk < 0 || chunk >= m.nchunks) {
      throw new RangeError(`chunk ${chunk} out of range (frame ${m.name} has ${m.nchunks})`);
    }
    const key = this.key(chunk, col);
    const type = m.fields[col]!.type;
    const rows = rowsInChunk(m, chunk);
    // A chunk key names one immutable version, so any replica's copy is the value: read from the
    // leader while it answers, else from a follower, and a frame stays readable with a node down.
    opts = opts?.read ? opts : { ...opts, read: 'leader-first' };
    const column = arena
      ? await getWith(this.store, key, (value) => decodeChunk(value, key, type, rows, arena), opts)
      : await this.store.get(key, opts).then((value) => value && decodeChunk(value, key, type, rows));
    if (column === undefined) throw await this.missing(key);
    return column;
  }

  private async missing(key: string): Promise<Eau2Error> {
    const m = this.meta;
    let current: FrameMeta | undefined;
    if (this.canCheckMeta) {
      const v = await this.store.get(metaKey(m.name));
      current = v === undefined ? undefined : decodeMeta(v, m.name);
      if (current?.version === m.version) {
        return new Eau2Error(
          ErrorCode.CORRUPTION,
          `frame ${JSON.stringify(m.name)} is published but chunk ${key} is missing`,
          {
            details: { key },
          },
        );
      }
    }
    return new Eau2Error(
      ErrorCode.NOT_FOUND,
      `chunk ${key} of frame ${JSON.stringify(m.name)} version ${m.version} is gone: ` +
        (this.canCheckMeta
          ? current
            ? `the frame was replaced by version ${current.version} while being read`
            : 'the frame was deleted while being read'
          : 'the frame was replaced or deleted, or this node does not hold it'),
      { details: { key } },
    );
  }
}

// Recycled array storage for lent scans (LazyFrame.chunks({ lend: true })). A scan that decodes every
// row-chunk into fresh arrays leaves ~1 MB of garbage per row-chunk (the bench's frame), and V8 frees
// array buffers that survived a young collection only at its next full one: at 10M rows the scanning
// client's RSS grows ~100 MiB for a few MiB of live data (docs/dataframe.md "Performance"). A lent
// scan decodes into buffers from this pool and gives a chunk's buffers back when the consumer moves
// on, so a scan of any length holds about `concurrency + 1` row-chunks of arrays, allocated once.

import type { DecodeArena } from './chunk-codec.js';

/** Free buffers by exact byte length: a frame's full row-chunks all ask for the same few sizes. */
export class ArrayPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Buffers allocated because none of the size was free (for tests and the bench's notes). */
  allocated = 0;

  take(bytes: number): ArrayBuffer {
    const b = this.free.get(bytes)?.pop();
    if (b) return b;
    this.allocated++;
    return new ArrayBuffer(bytes);
  }

  /** Returns buffers taken earlier; nothing may use them afterwards. */
  give(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) {
      let list = this.free.get(b.byteLength);
      if (!list) this.free.set(b.byteLength, (list = []));
      list.push(b);
    }
  }

  /** An arena for one row-chunk's decode that records what it took, so it can be given back. */
  arena(): DecodeArena & { readonly taken: ArrayBuffer[] } {
    const taken: ArrayBuffer[] = [];
    return {
      taken,
      take: (bytes) => {
        const b = this.take(bytes);
        taken.push(b);
        return b;
      },
    };
  }
}

// The writer encodes chunks into buffers of chunks already stored. A store may hold a value it was
// given until the write settles (ClusterClient sends large values without copying them), so a buffer
// must not be written to again before then: these stores hold every batch for a while and check that
// its bytes did not change meanwhile.

import { describe, expect, it } from 'vitest';
import { DataFrame } from '../../dataframe/index.js';
import type { Rng } from '../../app/apps/random.js';
import type { BatchOp, KeyLike, KvIterator, KvStore, Range, ValueLike, WriteOptions } from '../../kv/index.js';
import { parseChunkKey } from '../../dataframe/layout.js';
import { fromUtf8 } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

/**
 * Keeps each batch's values (the caller's buffers, not copies) for a random number of event-loop
 * turns, then stores them as they are at that moment and settles. `changed` lists every value whose
 * bytes differ between the call and the settle.
 */
class HoldingStore implements KvStore {
  readonly inner = new MemoryStore();
  readonly changed: string[] = [];
  /** The ArrayBuffer behind each stored chunk value, by key. */
  readonly buffers = new Map<string, ArrayBufferLike>();

  constructor(private readonly rng: Rng) {}

  async batch(ops: BatchOp[], opts?: WriteOptions): Promise<void> {
    const atCall = ops.map((o) =>
      o.type === 'put' && o.value instanceof Uint8Array ? Buffer.from(o.value) : undefined,
    );
    for (let turns = this.rng.int(0, 6); turns > 0; turns--) await new Promise((r) => setImmediate(r));
    ops.forEach((o, i) => {
      if (o.type !== 'put' || !(o.value instanceof Uint8Array)) return;
      const key = typeof o.key === 'string' ? o.key : fromUtf8(o.key as Uint8Array);
      if (!atCall[i]!.equals(o.value)) this.changed.push(key);
      this.buffers.set(key, o.value.buffer);
    });
    return this.inner.batch(ops, opts);
  }

  get(key: KeyLike): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }
  put(key: KeyLike, value: ValueLike, opts?: WriteOptions): Promise<void> {
    return this.inner.put(key, value, opts);
  }
  del(key: KeyLike, opts?: WriteOptions): Promise<void> {
    return this.inner.del(key, opts);
  }
  scan(range?: Range): KvIterator {
    return this.inner.scan(range);
  }
}

describe('writer encode buffers', () => {
  it('reuses a chunk buffer only after its batch settled: every chunk arrives intact', async () => {
    const rng = seededRng();
    const store = new HoldingStore(rng);
    const frame = randomFrame(rng, 100 * 37 + 13);
    await DataFrame.put(store, 'f', frame, { chunkRows: 100, concurrency: 3 });
    expect(store.changed).toEqual([]);
    const back = await (await DataFrame.get(store, 'f')).load();
    expect(rowsOf(back)).toEqual(rowsOf(frame));
  });

  it('streams appended rows through reused buffers intact', async () => {
    const rng = seededRng();
    const store = new HoldingStore(rng);
    const frame = randomFrame(rng, 64 * 25 + 5);
    const w = await DataFrame.writer(store, 'g', frame.schema, { chunkRows: 64, concurrency: 2 });
    for (const row of frame.rows()) await w.append(row);
    await w.close();
    expect(store.changed).toEqual([]);
    expect(rowsOf(await (await DataFrame.get(store, 'g')).load())).toEqual(rowsOf(frame));
  });

  // A row-chunk is encoded as soon as it is full and the builders' memory then takes the next rows:
  // appends not awaited (allowed, at the cost of memory) must not reach a chunk still to be encoded.
  it('appends not awaited, every write slot taken: each chunk is stored as it was filled', async () => {
    const rng = seededRng();
    const store = new HoldingStore(rng);
    const frame = randomFrame(rng, 50 * 30 + 7);
    const w = await DataFrame.writer(store, 'n', frame.schema, { chunkRows: 50, concurrency: 1 });
    const pending: Promise<void>[] = [];
    for (const row of frame.rows()) {
      const p = w.append(row);
      if (p) pending.push(p);
    }
    expect(pending.length).toBeGreaterThan(0);
    await Promise.all(pending);
    await w.close();
    expect(store.changed).toEqual([]);
    expect(rowsOf(await (await DataFrame.get(store, 'n')).load())).toEqual(rowsOf(frame));
  });

  // `concurrency` chunks in flight and the one encoded as soon as it filled, waiting for a slot.
  it('encodes a fixed-size column into at most `concurrency` + 1 buffers, however many chunks', async () => {
    const rng = seededRng();
    const store = new HoldingStore(rng);
    const frame = randomFrame(rng, 100 * 40);
    await DataFrame.put(store, 'h', frame, { chunkRows: 100, concurrency: 3 });
    // Column 1 is `d` (float64): every chunk of it encodes to about the same size.
    const bufs = new Set([...store.buffers].filter(([k]) => parseChunkKey(k)?.col === 1).map(([, b]) => b));
    expect(bufs.size).toBeGreaterThan(0);
    expect(bufs.size).toBeLessThanOrEqual(3 + 1);
  });
});

// Versioned, atomic publishing: readers see the old frame or the new one and never a mix, failures
// publish nothing, old and abandoned versions are removed, and the streaming writer cuts chunks right
// whatever the mix of rows and column batches. waitAndGet waits for a publish and times out cleanly.

import { describe, expect, it } from 'vitest';
import { DataFrame, waitAndGet } from '../../dataframe/index.js';
import { encodeChunk } from '../../dataframe/chunk-codec.js';
import { columnFromValues } from '../../dataframe/column-builder.js';
import { chunkKey, makeVersion, metaKey, parseChunkKey } from '../../dataframe/layout.js';
import type { BatchOp, KeyLike, ValueLike, WriteOptions } from '../../kv/index.js';
import { Eau2Error, ErrorCode, fromUtf8 } from '../../kv/index.js';
import { isEau2Error } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { InstrumentedStore, randomFrame, rowsOf, seededRng } from './helpers.js';

async function versionsOf(store: MemoryStore, name: string): Promise<string[]> {
  const vs = new Set<string>();
  for await (const [k] of store.scan({ gte: `\u0000df/c/{${name}/`, lt: `\u0000df/c/{${name}0` }))
    vs.add(parseChunkKey(fromUtf8(k))!.version);
  return [...vs];
}

const frame = (x: number, n = 100): DataFrame => DataFrame.fromColumns({ x: new Float64Array(n).fill(x) });

describe('publishing', () => {
  it('replaces a frame atomically and removes the old version', async () => {
    const store = new MemoryStore();
    const m1 = await DataFrame.put(store, 'f', frame(1), { chunkRows: 10 });
    const m2 = await DataFrame.put(store, 'f', frame(2, 50), { chunkRows: 10 });
    expect(m2.version > m1.version).toBe(true);
    expect(await versionsOf(store, 'f')).toEqual([m2.version]);
    const lf = await DataFrame.get(store, 'f');
    expect(lf.nrows).toBe(50);
    expect(await lf.sum('x')).toBe(100);
  });

  it('lets a reader that opened the old version finish it from cache or fail clearly, never mix versions', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'f', frame(1, 40), { chunkRows: 10 });
    const old = await DataFrame.get(store, 'f');
    await old.get('x', 0); // chunk 0 cached
    await DataFrame.put(store, 'f', frame(2, 40), { chunkRows: 10 });
    expect(await old.get('x', 5)).toBe(1); // from cache: still the old version
    const err = await old.get('x', 35).catch((e: unknown) => e);
    expect(isEau2Error(err, 'NOT_FOUND')).toBe(true);
    expect(String(err)).toMatch(/replaced by version/);
    const fresh = await DataFrame.get(store, 'f');
    expect(await fresh.get('x', 35)).toBe(2);
  });

  it('publishes nothing when a chunk write fails, and leaves the previous version readable', async () => {
    const mem = new MemoryStore();
    const store = new InstrumentedStore(mem);
    const prev = await DataFrame.put(store, 'f', frame(1), { chunkRows: 10 });
    const keysBefore = mem.size;
    store.batches = 0;
    store.failBatchFrom = 4;
    await expect(DataFrame.put(store, 'f', frame(2, 200), { chunkRows: 10 })).rejects.toMatchObject({ code: 'IO' });
    store.failBatchFrom = undefined;
    const lf = await DataFrame.get(store, 'f');
    expect(lf.version).toBe(prev.version);
    expect(await lf.sum('x')).toBe(100);
    expect(mem.size).toBe(keysBefore); // the failed version's chunks were removed
  });

  it('publishes nothing when the metadata write fails', async () => {
    const mem = new MemoryStore();
    const store = new InstrumentedStore(mem);
    store.failPutPrefix = '\u0000df/m/';
    await expect(DataFrame.put(store, 'g', frame(1), { chunkRows: 10 })).rejects.toMatchObject({ code: 'IO' });
    expect(await DataFrame.list(mem)).toEqual([]);
    expect(mem.size).toBe(0);
  });

  it("sweeps a crashed writer's unpublished chunks on the next publish", async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'f', frame(1), { chunkRows: 10 });
    // A writer that died after writing two chunks of a newer version.
    const orphan = makeVersion(5);
    for (const c of [0, 3]) await store.put(chunkKey('f', orphan, c, 0), encodeChunk(columnFromValues('D', [9])));
    const m = await DataFrame.put(store, 'f', frame(3), { chunkRows: 10 });
    expect(m.version.startsWith('0000000006')).toBe(true);
    expect(await versionsOf(store, 'f')).toEqual([m.version]);
  });

  it('refuses to publish over a newer version published meanwhile', async () => {
    const store = new MemoryStore();
    const slow = await DataFrame.writer(store, 'f', 'x:D', { chunkRows: 10 });
    await slow.appendColumns({ x: new Float64Array(25) });
    // The fast writer sees the slow one's chunks, so it takes a later version and sweeps them.
    const fast = await DataFrame.put(store, 'f', frame(7), { chunkRows: 10 });
    const err = await slow.close().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEau2Error(err, 'INVALID')).toBe(true);
    const lf = await DataFrame.get(store, 'f');
    expect(lf.version).toBe(fast.version);
    expect(await lf.sum('x')).toBe(700);
    expect(await versionsOf(store, 'f')).toEqual([fast.version]);
  });

  it('rejects a schema mismatch in a column batch without writing anything', async () => {
    const store = new MemoryStore();
    const w = await DataFrame.writer(store, 'f', 'a:I,b:S');
    await expect(w.appendColumns({ a: new Int32Array(3), b: ['x', 'y'] })).rejects.toThrow(/differ in length/);
    await expect(w.appendColumns({ a: new Float64Array(2), b: ['x', 'y'] })).rejects.toThrow(/is D, the schema says I/);
    expect(() => w.append([1.5, 'x'])).toThrow(/cannot store 1.5/);
    expect(() => w.append([1])).toThrow(/1 values, the frame has 2/);
    await w.append([1, 'ok']);
    const m = await w.close();
    expect(m.nrows).toBe(1);
  });

  it('takes rows by column name, a missing column as null, and refuses a name the frame does not have', async () => {
    const store = new MemoryStore();
    const w = await DataFrame.writer(store, 'f', 'ts:D,user:S,constructor:S');
    await w.append({ ts: 1, user: 'ann', constructor: 'x' });
    await w.append({ ts: 2 }); // user and constructor missing: nulls, never an inherited property
    expect(() => w.append({ ts: 3, usr: 'bob' })).toThrow(/column "usr" the frame does not have/);
    expect(() => w.append({ ts: 3, user: 'bob', constructor: null, extra: 1 })).toThrow(/column "extra"/);
    await expect(w.appendColumns({ ts: [4], user: ['c'], constructor: ['y'], bogus: [1] })).rejects.toThrow(
      /column "bogus"/,
    );
    const m = await w.close();
    expect(m.nrows).toBe(2);
    expect((await (await DataFrame.get(store, 'f')).load()).toObjects()).toEqual([
      { ts: 1, user: 'ann', constructor: 'x' },
      { ts: 2, user: null, constructor: null },
    ]);
  });
});

/**
 * Answers UNKNOWN_OUTCOME, as a cluster does when a leader loses its leadership before its followers
 * acknowledge (docs/api.md), to the writes `ambiguous` picks; `applied` says whether such a write took
 * effect anyway (both happen).
 */
class AmbiguousStore extends InstrumentedStore {
  ambiguous: (kind: 'batch' | 'meta', n: number, ops?: BatchOp[]) => boolean = () => false;
  applied: (kind: 'batch' | 'meta', n: number) => boolean = () => true;
  metaPuts = 0;
  /** Batches asked for, answered or not (InstrumentedStore counts those that reach it). */
  batchCalls = 0;

  private async answer(kind: 'batch' | 'meta', n: number, write: () => Promise<void>, ops?: BatchOp[]): Promise<void> {
    if (!this.ambiguous(kind, n, ops)) return write();
    if (this.applied(kind, n)) await write();
    throw new Eau2Error(ErrorCode.UNKNOWN_OUTCOME, `outcome unknown, the write may have been applied (${kind} ${n})`);
  }

  override batch(ops: BatchOp[], opts?: WriteOptions): Promise<void> {
    const n = ++this.batchCalls;
    return this.answer('batch', n, () => super.batch(ops, opts), ops);
  }

  override put(key: KeyLike, value: ValueLike, opts?: WriteOptions): Promise<void> {
    if (!String(key).startsWith('\u0000df/m/')) return super.put(key, value, opts);
    const n = ++this.metaPuts;
    return this.answer('meta', n, () => super.put(key, value, opts));
  }
}

describe('writes answered UNKNOWN_OUTCOME', () => {
  it('are repeated: chunks and metadata, applied or not, give the whole frame and no stray version', async () => {
    const mem = new MemoryStore();
    const store = new AmbiguousStore(mem);
    const prev = await DataFrame.put(store, 'f', frame(1), { chunkRows: 10 });
    // Batches 3 and 4 (applied) and 6 (not applied) and the first metadata put (not applied) are ambiguous.
    store.batchCalls = 0;
    store.ambiguous = (kind, n) => (kind === 'batch' ? n === 3 || n === 4 || n === 6 : n === 2);
    store.applied = (kind, n) => kind === 'batch' && n !== 6;
    const src = randomFrame(seededRng(), 95);
    const m = await DataFrame.put(store, 'f', src, { chunkRows: 10 });
    expect(m.version > prev.version).toBe(true);
    expect(store.metaPuts).toBe(3); // prev, then the new one twice
    const lf = await DataFrame.get(mem, 'f');
    expect(lf.version).toBe(m.version);
    expect(rowsOf(await lf.load())).toEqual(rowsOf(src));
    expect(await versionsOf(mem, 'f')).toEqual([m.version]);
  });

  it('a chunk write that stays unknown fails the put, publishes nothing and removes its chunks', async () => {
    const mem = new MemoryStore();
    const store = new AmbiguousStore(mem);
    const prev = await DataFrame.put(store, 'f', frame(1), { chunkRows: 10 });
    const keysBefore = mem.size;
    store.batchCalls = 0;
    let attempts = 0;
    store.ambiguous = (kind, n, ops) =>
      kind === 'batch' && n >= 2 && ops!.some((o) => o.type === 'put') && attempts++ >= 0;
    await expect(DataFrame.put(store, 'f', frame(2, 60), { chunkRows: 10, concurrency: 1 })).rejects.toMatchObject({
      code: 'UNKNOWN_OUTCOME',
    });
    expect(attempts).toBe(5); // the second chunk, five times; nothing after it
    const lf = await DataFrame.get(mem, 'f');
    expect(lf.version).toBe(prev.version);
    expect(mem.size).toBe(keysBefore);
  });

  it('a metadata put that stays unknown fails the put but keeps its chunks; the next publish sweeps them', async () => {
    const mem = new MemoryStore();
    const store = new AmbiguousStore(mem);
    const prev = await DataFrame.put(store, 'f', frame(1), { chunkRows: 10 });
    store.ambiguous = (kind) => kind === 'meta';
    store.applied = () => false;
    const w = await DataFrame.writer(store, 'f', 'x:D', { chunkRows: 10 });
    await w.appendColumns({ x: new Float64Array(30).fill(5) });
    await expect(w.close()).rejects.toMatchObject({ code: 'UNKNOWN_OUTCOME' });
    expect(store.metaPuts).toBe(6); // prev, then five attempts
    // It may have been published, so its chunks stay and abort() does not claim it is gone.
    const versions = await versionsOf(mem, 'f');
    expect(versions.length).toBe(2);
    expect(await w.abort()).toBe(false);
    expect(await versionsOf(mem, 'f')).toEqual(versions);
    expect((await DataFrame.get(mem, 'f')).version).toBe(prev.version);
    store.ambiguous = () => false;
    const next = await DataFrame.put(store, 'f', frame(3), { chunkRows: 10 });
    expect(await versionsOf(mem, 'f')).toEqual([next.version]);
  });
});

describe('write concern', () => {
  /** Records the options of every chunk batch and metadata put. */
  class OptsStore extends InstrumentedStore {
    seen: (WriteOptions | undefined)[] = [];
    override batch(ops: BatchOp[], opts?: WriteOptions): Promise<void> {
      if (ops.some((o) => o.type === 'put')) this.seen.push(opts);
      return super.batch(ops, opts);
    }
    override put(key: KeyLike, value: ValueLike, opts?: WriteOptions): Promise<void> {
      this.seen.push(opts);
      return super.put(key, value, opts);
    }
  }

  it("writes chunks and metadata with w: 'all' unless told otherwise, and refuses a bad w", async () => {
    const store = new OptsStore(new MemoryStore());
    await DataFrame.put(store, 'f', frame(1, 30), { chunkRows: 10 });
    expect(store.seen.length).toBe(4); // 3 chunk batches, the metadata
    for (const o of store.seen) expect(o).toEqual({ sync: false, w: 'all' });
    store.seen = [];
    await DataFrame.put(store, 'f', frame(1, 30), { chunkRows: 10, w: 1, sync: true });
    for (const o of store.seen) expect(o).toEqual({ sync: true, w: 1 });
    for (const w of [0, 1.5, 'any'] as const)
      await expect(DataFrame.put(store, 'g', frame(1), { w: w as never })).rejects.toThrow(TypeError);
    expect((await DataFrame.list(store)).map((m) => m.name)).toEqual(['f']);
  });
});

describe('DataFrame.writer', () => {
  it('cuts chunks correctly from any mix of rows and column batches', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const src = randomFrame(rng, 777);
    const w = await DataFrame.writer(store, 'mix', src.fields, { chunkRows: 50, concurrency: 2 });
    let r = 0;
    while (r < src.nrows) {
      if (rng.bool()) {
        await w.append(src.row(r));
        r++;
      } else {
        const k = rng.int(0, 130);
        await w.appendColumns(src.slice(r, r + k));
        r = Math.min(src.nrows, r + k);
      }
    }
    const meta = await w.close();
    expect(meta.nchunks).toBe(Math.ceil(777 / 50));
    const back = await (await DataFrame.get(store, 'mix')).load();
    expect(rowsOf(back)).toEqual(rowsOf(src));
  });

  it('accepts rows as objects and reports the writer state', async () => {
    const store = new MemoryStore();
    const w = await DataFrame.writer(store, 'o', { name: 'S', n: 'I' });
    await w.append({ name: 'a', n: 1 });
    await w.append({ name: 'b' });
    expect(w.nrows).toBe(2);
    await w.close();
    expect(() => w.append(['c', 3])).toThrow(/closed/);
    expect((await (await DataFrame.get(store, 'o')).load()).toObjects()).toEqual([
      { name: 'a', n: 1 },
      { name: 'b', n: null },
    ]);
  });

  it('abort removes everything written and publishes nothing', async () => {
    const store = new MemoryStore();
    const w = await DataFrame.writer(store, 'ab', 'x:D', { chunkRows: 4 });
    await w.appendColumns({ x: new Float64Array(20) });
    await w.abort();
    expect(store.size).toBe(0);
  });
});

describe('abort during close', () => {
  /** A store whose put of `name`'s metadata waits until released, with a flag telling it has started. */
  class GatedMetaStore extends MemoryStore {
    metaPutStarted = false;
    release!: () => void;
    private readonly gate = new Promise<void>((r) => (this.release = r));
    constructor(private readonly gated: string) {
      super();
    }
    override async put(key: KeyLike, value: ValueLike, opts?: WriteOptions): Promise<void> {
      if (typeof key === 'string' && key === metaKey(this.gated)) {
        this.metaPutStarted = true;
        await this.gate;
      }
      return super.put(key, value, opts);
    }
  }

  it('stops the publish when it comes before the metadata is written: close rejects, nothing of it stays', async () => {
    const inner = new MemoryStore();
    await DataFrame.put(inner, 'f', frame(1, 10), { chunkRows: 4 });
    const before = inner.size;
    const store = new InstrumentedStore(inner);
    const w = await DataFrame.writer(store, 'f', 'x:D', { chunkRows: 4 });
    await w.appendColumns({ x: new Float64Array(30).fill(2) });
    store.delayMs = 5; // close() is still writing chunks when abort() comes
    const closing = w.close();
    const aborted = w.abort();
    await expect(closing).rejects.toMatchObject({ code: 'INVALID' });
    expect(await aborted).toBe(true);
    // The old version is what readers see, whole; the aborted one left no key behind.
    expect(rowsOf(await (await DataFrame.get(inner, 'f')).load())).toEqual(rowsOf(frame(1, 10)));
    expect(inner.size).toBe(before);
  });

  it('leaves the frame published when the metadata is already being written, and says so', async () => {
    const store = new GatedMetaStore('g');
    const w = await DataFrame.writer(store, 'g', 'x:D', { chunkRows: 4 });
    await w.appendColumns({ x: new Float64Array(30).fill(3) });
    const closing = w.close();
    while (!store.metaPutStarted) await new Promise((r) => setTimeout(r, 1));
    const aborted = w.abort();
    store.release();
    await closing;
    expect(await aborted).toBe(false);
    expect(rowsOf(await (await DataFrame.get(store, 'g')).load())).toEqual(rowsOf(frame(3, 30)));
    expect(await w.abort()).toBe(false);
  });
});

describe('waitAndGet', () => {
  it('waits for a frame published later', async () => {
    const store = new MemoryStore();
    const waiting = waitAndGet(store, 'later', 5000);
    setTimeout(() => void DataFrame.put(store, 'later', frame(4, 10)), 30);
    const lf = await waiting;
    expect(await lf.sum('x')).toBe(40);
  });

  it('times out with TIMEOUT', async () => {
    await expect(waitAndGet(new MemoryStore(), 'never', 20)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});

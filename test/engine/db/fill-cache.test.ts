// ReadOptions.fillCache = false (LevelDB's fill_cache): reads that neither fill the block cache nor
// evict from it. Blocks a get misses are read into one buffer the engine reuses, so these tests hold
// values across later reads and check that nobody ever sees another block's bytes, that checksums
// are still verified, and that the cache is left exactly as it was.

import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, isEau2Error } from '../../../engine/index.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import { seededRng, type Rng } from '../vfs/seeded-random.js';

const root = mkdtempSync(join(tmpdir(), 'eau2-fillcache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const key = (i: number): string => `k${String(i).padStart(5, '0')}`;

/** A value whose every byte depends on (i, gen), so a value read from another block shows. */
function value(rng: Rng, i: number, gen: number): Uint8Array {
  // Mostly small values (many per 4 KiB block), some over the slot arena's 64 KiB (a block each).
  const n = rng.next() < 0.15 ? rng.int(64 * 1024, 200 * 1024) : rng.int(1, 3000);
  const v = new Uint8Array(n);
  for (let j = 0; j < n; j++) v[j] = (i * 31 + gen * 17 + j) & 0xff;
  return v;
}

/** A database of tables (and a memtable) holding `n` keys, some overwritten, some deleted. */
async function fill(db: Engine, rng: Rng, n: number): Promise<Map<string, Uint8Array>> {
  const model = new Map<string, Uint8Array>();
  for (let i = 0; i < n; i++) {
    const v = value(rng, i, 0);
    await db.put(key(i), v);
    model.set(key(i), v);
  }
  await db.compactRange();
  for (let i = 0; i < n; i += 5) {
    const v = value(rng, i, 1);
    await db.put(key(i), v);
    model.set(key(i), v);
  }
  for (let i = 3; i < n; i += 11) {
    await db.del(key(i));
    model.delete(key(i));
  }
  return model;
}

const cacheState = (db: Engine): { entries: number; bytes: number } => {
  const c = db.stats().blockCache;
  return { entries: c.entries, bytes: c.bytes };
};

describe('fillCache: false', () => {
  test('get, getSync and getWith return the newest values, keep copies intact, and leave the cache empty', async () => {
    const rng = seededRng();
    const db = await Engine.open('/db', { vfs: new MemVfs(), memtableBytes: 256 * 1024 });
    const n = 400;
    const model = await fill(db, rng, n);
    expect(db.stats().levels.some((l) => l.files > 0)).toBe(true);
    const kept: Array<[string, Uint8Array | undefined]> = [];
    for (let r = 0; r < 1500; r++) {
      const k = key(rng.int(0, n + 10));
      const want = model.get(k);
      const how = rng.int(0, 2);
      if (how === 0) kept.push([k, await db.get(k, { fillCache: false })]);
      else if (how === 1) kept.push([k, db.getSync(k, { fillCache: false })]);
      else {
        // Compared inside the call: the view is lent for it only.
        const same = await db.getWith(k, (v) => Buffer.compare(v, want ?? new Uint8Array(0)) === 0, {
          fillCache: false,
        });
        expect(same, k).toBe(want === undefined ? undefined : true);
      }
    }
    // What get/getSync returned belongs to the caller: later reads never overwrote it.
    for (const [k, v] of kept)
      expect(v === undefined ? undefined : Buffer.from(v).equals(model.get(k)!), k).toBe(
        model.has(k) ? true : undefined,
      );
    expect(cacheState(db)).toEqual({ entries: 0, bytes: 0 });
    // The default fills it.
    for (let i = 0; i < n; i += 7) db.getSync(key(i));
    expect(cacheState(db).entries).toBeGreaterThan(0);
    await db.close();
  });

  test('a block already cached serves the read from the cache, and stays cached', async () => {
    const rng = seededRng();
    const db = await Engine.open('/db', { vfs: new MemVfs(), memtableBytes: 64 * 1024 });
    const model = await fill(db, rng, 200);
    await db.compactRange();
    const k = key(1);
    expect(Buffer.from(db.getSync(k)!).equals(model.get(k)!)).toBe(true); // cached now
    const before = db.stats().blockCache;
    expect(Buffer.from(db.getSync(k, { fillCache: false })!).equals(model.get(k)!)).toBe(true);
    const after = db.stats().blockCache;
    expect(after.hits).toBe(before.hits + 1);
    expect(after.misses).toBe(before.misses);
    expect(after.entries).toBe(before.entries);
    await db.close();
  });

  test('getWith lends values of blocks it reads from one reused buffer, not a new one per value', async () => {
    const db = await Engine.open('/db', { vfs: new MemVfs() });
    // Values of 100-300 KiB: one block each, beyond the slot arena, so each read would allocate.
    const big = (i: number): Uint8Array => new Uint8Array(100 * 1024 * (1 + (i % 3))).fill(i);
    for (let i = 0; i < 12; i++) await db.put(key(i), big(i));
    await db.compactRange();
    const buffers = new Set<ArrayBufferLike>();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 12; i++) {
        const ok = await db.getWith(
          key(i),
          (v) => {
            buffers.add(v.buffer);
            return v.length === big(i).length && v.every((b) => b === i);
          },
          { fillCache: false },
        );
        expect(ok, key(i)).toBe(true);
      }
    }
    // The buffer grows to the largest block once and is then reused.
    expect(buffers.size).toBeLessThanOrEqual(3);
    expect(cacheState(db)).toEqual({ entries: 0, bytes: 0 });
    await db.close();
  });

  test('iterators and scans see the same entries as with the cache, and leave the cache empty', async () => {
    const rng = seededRng();
    const db = await Engine.open('/db', { vfs: new MemVfs(), memtableBytes: 128 * 1024 });
    const model = await fill(db, rng, 300);
    const want = [...model.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const read = async (it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<Array<[string, Uint8Array]>> => {
      const out: Array<[string, Uint8Array]> = [];
      for await (const [k, v] of it) out.push([Buffer.from(k).toString(), v]);
      return out;
    };
    const check = (got: Array<[string, Uint8Array]>, exp: Array<[string, Uint8Array]>): void => {
      expect(got.map(([k]) => k)).toEqual(exp.map(([k]) => k));
      got.forEach(([k, v], i) => expect(Buffer.from(v).equals(exp[i]![1]), k).toBe(true));
    };
    check(await read(db.iterator({ fillCache: false })), want);
    check(await read(db.iterator({ fillCache: false, reverse: true })), [...want].reverse());
    check(
      await read(db.scan({ gte: key(100), lt: key(200) }, { fillCache: false })),
      want.filter(([k]) => k >= key(100) && k < key(200)),
    );
    expect(cacheState(db)).toEqual({ entries: 0, bytes: 0 });
    check(await read(db.iterator()), want);
    expect(cacheState(db).entries).toBeGreaterThan(0);
    await db.close();
  });

  test('a damaged block is CORRUPTION naming the file, never data', async () => {
    const dir = join(root, 'damaged');
    let db = await Engine.open(dir);
    const v = new Uint8Array(20_000).fill(7);
    for (let i = 0; i < 20; i++) await db.put(key(i), v);
    await db.compactRange();
    await db.close();
    const name = readdirSync(dir).filter((f) => f.endsWith('.sst'))[0]!;
    const path = join(dir, name);
    const bytes = readFileSync(path);
    bytes[1000]! ^= 0x10; // inside the first data block's value (key0's)
    writeFileSync(path, bytes);
    db = await Engine.open(dir);
    const codeOf = async (p: () => unknown): Promise<string | undefined> => {
      try {
        await p();
        return undefined;
      } catch (e) {
        expect(isEau2Error(e) && e.message).toContain(name);
        return isEau2Error(e) ? e.code : String(e);
      }
    };
    expect(await codeOf(() => db.getSync(key(0), { fillCache: false }))).toBe('CORRUPTION');
    expect(await codeOf(() => db.getWith(key(0), (x) => x.length, { fillCache: false }))).toBe('CORRUPTION');
    expect(await codeOf(() => db.get(key(0), { fillCache: false }))).toBe('CORRUPTION');
    // Other blocks read fine through the same buffer afterwards.
    expect(await db.getWith(key(5), (x) => x.every((b) => b === 7), { fillCache: false })).toBe(true);
    await db.close();
  });

  test('must be a boolean', async () => {
    const db = await Engine.open('/db', { vfs: new MemVfs() });
    await db.put('k', 'v');
    const bad = { fillCache: 'no' } as unknown as { fillCache: boolean };
    expect(() => db.getSync('k', bad)).toThrow(TypeError);
    await expect(db.get('k', bad)).rejects.toThrow(TypeError);
    await expect(db.getWith('k', (v) => v, bad)).rejects.toThrow(TypeError);
    expect(() => db.iterator(bad)).toThrow(TypeError);
    await db.close();
  });
});

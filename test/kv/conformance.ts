// The KvStore contract (kv/kv-store.ts) as one shared suite, like abstract-level's: every store
// (Engine, ClusterClient, a node's task store, the test MemoryStore) runs the same tests. Each test
// works under a key prefix of its own, so one store instance serves the whole suite; random keys come
// from a seed printed in the test's name.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchOp, getWith, isEau2Error, type KvStore, type Range } from '../../kv/index.js';
import { seededRng, BASE_SEED } from '../engine/vfs/seeded-random.js';

export interface ConformanceTarget {
  store: KvStore;
  /** Releases the store and whatever it runs on. */
  close(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : dec.decode(b));

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function collect(store: KvStore, range: Range): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const [k, v] of store.scan(range)) out.push([dec.decode(k), dec.decode(v)]);
  return out;
}

/** Resolves when `f` rejected (or threw) with a TypeError. */
async function expectTypeError(f: () => unknown): Promise<void> {
  await expect((async () => f())()).rejects.toBeInstanceOf(TypeError);
}

/** Runs the KvStore conformance suite against the store `open` gives. */
export function kvStoreConformance(name: string, open: () => Promise<ConformanceTarget>): void {
  describe(`KvStore conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let store: KvStore;
    let n = 0;
    /** A fresh key prefix per test, so tests on one store see only their own keys. */
    let p = '';

    beforeAll(async () => {
      target = await open();
      store = target.store;
    });
    afterAll(async () => {
      await target?.close();
    });
    const fresh = (): string => {
      p = `cf${n++}-${name.replace(/\W/g, '')}/`;
      return p;
    };

    it('get of a missing key is undefined', async () => {
      const q = fresh();
      expect(await store.get(`${q}missing`)).toBeUndefined();
      expect(await getWith(store, `${q}missing`, () => 'called')).toBeUndefined();
    });

    it('put then get, overwrite, del; del of a missing key is fine', async () => {
      const q = fresh();
      await store.put(`${q}a`, 'one');
      const v = await store.get(`${q}a`);
      expect(v).toBeInstanceOf(Uint8Array);
      expect(text(v)).toBe('one');
      await store.put(`${q}a`, enc.encode('two'));
      expect(text(await store.get(enc.encode(`${q}a`)))).toBe('two');
      await store.del(`${q}a`);
      expect(await store.get(`${q}a`)).toBeUndefined();
      await store.del(`${q}never`);
    });

    it('values returned belong to the caller: changing one changes nothing stored', async () => {
      const q = fresh();
      const buf = enc.encode('value');
      await store.put(`${q}k`, buf);
      buf.fill(0);
      const v = (await store.get(`${q}k`))!;
      expect(text(v)).toBe('value');
      v.fill(0);
      expect(text(await store.get(`${q}k`))).toBe('value');
    });

    it('an empty value is stored and read back as empty, not missing', async () => {
      const q = fresh();
      await store.put(`${q}empty`, '');
      const v = await store.get(`${q}empty`);
      expect(v).toBeInstanceOf(Uint8Array);
      expect(v!.length).toBe(0);
      expect(await getWith(store, `${q}empty`, (x) => x.length)).toBe(0);
      await store.batch([{ type: 'put', key: `${q}empty2`, value: new Uint8Array(0) }]);
      expect((await store.get(`${q}empty2`))?.length).toBe(0);
      expect(await collect(store, { gte: q, lt: `${q}\xff` })).toEqual([
        [`${q}empty`, ''],
        [`${q}empty2`, ''],
      ]);
    });

    it('binary keys (0x00, 0xff, non-UTF-8) round-trip and sort by unsigned bytes', async () => {
      const q = enc.encode(fresh());
      const keys = [[0x00], [0x00, 0x00], [0x01], [0x7f], [0x80], [0xfe, 0xff], [0xff], [0xff, 0x00]].map((b) =>
        concat(q, Uint8Array.from(b)),
      );
      for (const [i, k] of [...keys].reverse().entries()) await store.put(k, Uint8Array.of(i, 0xff));
      for (const [i, k] of [...keys].reverse().entries()) expect([...(await store.get(k))!]).toEqual([i, 0xff]);
      const got: Uint8Array[] = [];
      for await (const [k] of store.scan({ gte: q, lt: concat(q, Uint8Array.of(0xff, 0xff)) })) got.push(k);
      expect(got.map((k) => [...k])).toEqual(keys.map((k) => [...k]));
    });

    it('getWith lends the value to its callback and resolves with what it returns', async () => {
      const q = fresh();
      await store.put(`${q}k`, 'lent');
      expect(await getWith(store, `${q}k`, (v) => dec.decode(v).toUpperCase())).toBe('LENT');
      if (store.getWith) {
        expect(await store.getWith(`${q}k`, (v) => v.length)).toBe(4);
        await expect(
          store.getWith(`${q}k`, () => {
            throw new Error('use failed');
          }),
        ).rejects.toThrow('use failed');
        let called = false;
        expect(await store.getWith(`${q}nope`, () => (called = true))).toBeUndefined();
        expect(called).toBe(false);
      }
    });

    it('a batch applies its puts and deletes together, in order', async () => {
      const q = fresh();
      await store.put(`${q}gone`, 'x');
      await store.batch([
        { type: 'put', key: `${q}a`, value: '1' },
        { type: 'put', key: `${q}b`, value: '2' },
        { type: 'del', key: `${q}gone` },
        { type: 'put', key: `${q}a`, value: '3' },
        { type: 'del', key: `${q}b` },
      ]);
      expect(await collect(store, { gte: q, lt: `${q}\xff` })).toEqual([[`${q}a`, '3']]);
      await store.batch([]);
    });

    it('a batch with a bad operation is a TypeError and applies nothing', async () => {
      const q = fresh();
      const bad: unknown[][] = [
        [
          { type: 'put', key: `${q}x`, value: '1' },
          { type: 'put', key: 42, value: '1' },
        ],
        [
          { type: 'put', key: `${q}x`, value: '1' },
          { type: 'put', key: `${q}y`, value: 7 },
        ],
        [
          { type: 'put', key: `${q}x`, value: '1' },
          { type: 'nope', key: `${q}y` },
        ],
        [{ type: 'put', key: `${q}x`, value: '1' }, null],
      ];
      for (const ops of bad) await expectTypeError(() => store.batch(ops as BatchOp[]));
      await expectTypeError(() => store.batch('ops' as unknown as BatchOp[]));
      expect(await store.get(`${q}x`)).toBeUndefined();
    });

    it('argument mistakes are TypeErrors', async () => {
      const q = fresh();
      await expectTypeError(() => store.get(42 as unknown as string));
      await expectTypeError(() => store.get(undefined as unknown as string));
      await expectTypeError(() => store.put(`${q}k`, 42 as unknown as string));
      await expectTypeError(() => store.put({} as unknown as string, 'v'));
      await expectTypeError(() => store.del(null as unknown as string));
      await expectTypeError(async () => {
        const it = store.scan({ gt: 5 as unknown as string });
        try {
          await it.next();
        } finally {
          await it.close().catch(() => undefined);
        }
      });
      expect(await store.get(`${q}k`)).toBeUndefined();
    });

    const seed = BASE_SEED + 17;
    it(`scans honour gt/gte/lt/lte, reverse and limit exactly (seed ${seed})`, async () => {
      const q = fresh();
      const rng = seededRng(seed).next;
      const keys = Array.from({ length: 20 }, (_, i) => `${q}${String(i).padStart(2, '0')}`);
      await store.batch(keys.map((key) => ({ type: 'put' as const, key, value: `v${key}` })));
      const all = keys.map((k) => [k, `v${k}`] as [string, string]);
      const pick = (): string => keys[Math.floor(rng() * keys.length)]! + (rng() < 0.3 ? '5' : '');
      for (let round = 0; round < 40; round++) {
        const range: Range = {};
        let want = all;
        const lo = rng() < 0.7 ? pick() : undefined;
        const hi = rng() < 0.7 ? pick() : undefined;
        if (lo !== undefined) {
          if (rng() < 0.5) {
            range.gt = lo;
            want = want.filter(([k]) => k > lo);
          } else {
            range.gte = lo;
            want = want.filter(([k]) => k >= lo);
          }
        } else {
          range.gte = q;
        }
        if (hi !== undefined) {
          if (rng() < 0.5) {
            range.lt = hi;
            want = want.filter(([k]) => k < hi);
          } else {
            range.lte = hi;
            want = want.filter(([k]) => k <= hi);
          }
        } else {
          range.lt = `${q}\xff`;
        }
        if (rng() < 0.5) {
          range.reverse = true;
          want = [...want].reverse();
        }
        const r = rng();
        if (r < 0.3) {
          range.limit = Math.floor(rng() * 6);
          want = want.slice(0, range.limit);
        } else if (r < 0.4) {
          range.limit = -1;
        }
        expect(await collect(store, range), `seed ${seed} round ${round} ${JSON.stringify(range)}`).toEqual(want);
      }
    });

    it('an iterator closed early gives nothing more; close is idempotent', async () => {
      const q = fresh();
      await store.batch(['a', 'b', 'c'].map((k) => ({ type: 'put' as const, key: `${q}${k}`, value: k })));
      const it = store.scan({ gte: q, lt: `${q}\xff` });
      expect(text((await it.next())?.[0])).toBe(`${q}a`);
      await it.close();
      await it.close();
      let after: unknown;
      try {
        after = await it.next();
      } catch (e) {
        expect(isEau2Error(e, 'NOT_OPEN')).toBe(true);
        after = undefined;
      }
      expect(after).toBeUndefined();
      // Leaving a for-await loop early closes the iterator; the store stays usable.
      for await (const [k] of store.scan({ gte: q, lt: `${q}\xff` })) {
        expect(text(k)).toBe(`${q}a`);
        break;
      }
      expect(text(await store.get(`${q}c`))).toBe('c');
    });
  });
}

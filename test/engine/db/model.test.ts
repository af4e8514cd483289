// Model-based randomized tests: the engine against a sorted in-memory map, through puts, deletes,
// batches, snapshots, range scans in both directions, close/reopen, flushes and compactions.
// Small memtables and tables make every run cross many flushes and compactions.

import { describe, expect, test } from 'vitest';
import { Engine, type Snapshot } from '../../../engine/index.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import { seededRng, BASE_SEED, type Rng } from '../vfs/seeded-random.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

type Model = Map<string, string>;

function sortedEntries(m: Model): Array<[string, string]> {
  // Keys are ASCII here, so JS string order equals byte order.
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function expectedRange(
  m: Model,
  r: { gte?: string; gt?: string; lte?: string; lt?: string; reverse?: boolean; limit?: number },
) {
  let e = sortedEntries(m).filter(([k]) => {
    if (r.gte !== undefined && k < r.gte) return false;
    if (r.gt !== undefined && k <= r.gt) return false;
    if (r.lte !== undefined && k > r.lte) return false;
    if (r.lt !== undefined && k >= r.lt) return false;
    return true;
  });
  if (r.reverse) e = e.reverse();
  if (r.limit !== undefined && r.limit >= 0) e = e.slice(0, r.limit);
  return e;
}

async function collect(db: Engine, r: Parameters<typeof expectedRange>[1] & { snapshot?: Snapshot }) {
  const out: Array<[string, string]> = [];
  for await (const [k, v] of db.iterator(r)) out.push([dec.decode(k), dec.decode(v)]);
  return out;
}

const smallOptions = {
  memtableBytes: 6 * 1024,
  blockSize: 256,
  targetFileSize: 8 * 1024,
  level1Bytes: 24 * 1024,
  levelMultiplier: 4,
  blockCacheBytes: 64 * 1024,
};

function randomKey(rng: Rng, space: number): string {
  return `k${String(rng.int(0, space - 1)).padStart(5, '0')}`;
}

function randomValue(rng: Rng): string {
  const n = rng.int(0, 120);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + rng.int(0, 25));
  return s;
}

function randomRange(rng: Rng, space: number) {
  const r: Parameters<typeof expectedRange>[1] = {};
  const a = randomKey(rng, space);
  const b = randomKey(rng, space);
  const [lo, hi] = a < b ? [a, b] : [b, a];
  if (rng.next() < 0.5) r[rng.next() < 0.5 ? 'gte' : 'gt'] = lo;
  if (rng.next() < 0.5) r[rng.next() < 0.5 ? 'lte' : 'lt'] = hi;
  if (rng.next() < 0.4) r.reverse = true;
  if (rng.next() < 0.3) r.limit = rng.int(0, 50);
  return r;
}

async function runModel(seed: number, steps: number, worker: boolean): Promise<void> {
  const rng = seededRng(seed);
  const vfs = new MemVfs();
  const opts = { ...smallOptions, vfs, compactionWorker: worker };
  let db = await Engine.open('/db', opts);
  const model: Model = new Map();
  const space = 400;
  const snaps: Array<{ snap: Snapshot; model: Model }> = [];
  try {
    for (let step = 0; step < steps; step++) {
      const p = rng.next();
      if (p < 0.55) {
        const k = randomKey(rng, space);
        const v = randomValue(rng);
        await db.put(k, v);
        model.set(k, v);
      } else if (p < 0.65) {
        const k = randomKey(rng, space);
        await db.del(k);
        model.delete(k);
      } else if (p < 0.7) {
        const ops = Array.from({ length: rng.int(1, 20) }, () =>
          rng.next() < 0.8
            ? { type: 'put' as const, key: randomKey(rng, space), value: randomValue(rng) }
            : { type: 'del' as const, key: randomKey(rng, space) },
        );
        await db.batch(ops);
        for (const op of ops) op.type === 'put' ? model.set(op.key, op.value) : model.delete(op.key);
      } else if (p < 0.85) {
        const k = randomKey(rng, space);
        const got = rng.next() < 0.5 ? await db.get(k) : db.getSync(k);
        expect(got === undefined ? undefined : dec.decode(got), `get ${k} at step ${step}`).toBe(model.get(k));
      } else if (p < 0.9) {
        const r = randomRange(rng, space);
        expect(await collect(db, r), `range ${JSON.stringify(r)} at step ${step}`).toEqual(expectedRange(model, r));
      } else if (p < 0.93) {
        if (snaps.length < 3) snaps.push({ snap: db.snapshot(), model: new Map(model) });
      } else if (p < 0.96 && snaps.length > 0) {
        const i = rng.int(0, snaps.length - 1);
        const { snap, model: old } = snaps[i]!;
        const k = randomKey(rng, space);
        const got = db.getSync(k, { snapshot: snap });
        expect(got === undefined ? undefined : dec.decode(got), `snapshot get ${k} at step ${step}`).toBe(old.get(k));
        const r = randomRange(rng, space);
        expect(await collect(db, { ...r, snapshot: snap }), `snapshot range at step ${step}`).toEqual(
          expectedRange(old, r),
        );
        if (rng.next() < 0.5) {
          snap.release();
          snaps.splice(i, 1);
        }
      } else if (p < 0.98) {
        for (const s of snaps) s.snap.release();
        snaps.length = 0;
        await db.close();
        db = await Engine.open('/db', opts);
      } else {
        await db.compactRange();
      }
    }
    expect(await collect(db, {})).toEqual(expectedRange(model, {}));
    // The run must have exercised tables, not only the memtable.
    expect(db.stats().levels.reduce((n, l) => n + l.files, 0)).toBeGreaterThan(0);
    for (const s of snaps) s.snap.release();
    await db.close();
    db = await Engine.open('/db', opts);
    expect(await collect(db, {})).toEqual(expectedRange(model, {}));
    expect(await collect(db, { reverse: true })).toEqual(expectedRange(model, { reverse: true }));
  } finally {
    await db.close();
  }
}

describe('engine against an in-memory model', () => {
  for (let i = 0; i < 4; i++) {
    const seed = BASE_SEED + i;
    test(`random operations match the model (seed ${seed})`, async () => {
      await runModel(seed, 2500, false);
    });
  }
  test(`random operations match the model with compaction on a worker thread (seed ${BASE_SEED + 100})`, async () => {
    await runModel(BASE_SEED + 100, 1200, true);
  });
});

describe('compaction reclaims space', () => {
  test('overwritten and deleted keys are dropped by compactRange while live data stays readable', async () => {
    const vfs = new MemVfs();
    const db = await Engine.open('/db', { ...smallOptions, vfs, compactionWorker: false });
    const value = 'v'.repeat(100);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 500; i++) await db.put(`key${i}`, `${value}${round}`);
    }
    for (let i = 0; i < 250; i++) await db.del(`key${i}`);
    await db.compactRange();
    const s = db.stats();
    const live = 250 * (6 + 101);
    expect(s.liveBytes).toBeLessThan(live * 1.6);
    for (let i = 0; i < 500; i++) {
      const v = db.getSync(`key${i}`);
      expect(v === undefined ? undefined : dec.decode(v)).toBe(i < 250 ? undefined : `${value}4`);
    }
    await db.close();
  });

  test('a snapshot keeps seeing the versions it was taken at across compactions', async () => {
    const vfs = new MemVfs();
    const db = await Engine.open('/db', { ...smallOptions, vfs, compactionWorker: false });
    for (let i = 0; i < 300; i++) await db.put(`key${i}`, `old${i}`);
    const snap = db.snapshot();
    for (let i = 0; i < 300; i++) await db.put(`key${i}`, `new${i}`);
    for (let i = 0; i < 300; i += 2) await db.del(`key${i}`);
    await db.compactRange();
    for (let i = 0; i < 300; i++) {
      expect(dec.decode(db.getSync(`key${i}`, { snapshot: snap })!)).toBe(`old${i}`);
    }
    let n = 0;
    for await (const [k, v] of db.iterator({ snapshot: snap })) {
      expect(dec.decode(v)).toBe(`old${dec.decode(k).slice(3)}`);
      n++;
    }
    expect(n).toBe(300);
    snap.release();
    await db.compactRange();
    expect(db.getSync('key0')).toBeUndefined();
    expect(dec.decode(db.getSync('key1')!)).toBe('new1');
    await db.close();
  });
});

void enc;

// Expiring values (engine/format/value-expiry.ts, docs/format.md 2.1): with valueExpiry on, a value
// whose header carries an expiry is invisible to get and to iterators (both directions) once the
// engine's clock reaches it, hides the older versions of its key, stays invisible across a reopen,
// and compaction (on the worker thread and inline) turns it into a tombstone that leaves the
// bottom level. Keys at or past keysBelow are never treated as expiring.

import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../engine/index.js';
import { Kind } from '../../../engine/format/internal-key.js';
import { EXPIRY_FLAG, expiryOf, isExpired, putExpiry } from '../../../engine/format/value-expiry.js';
import { TableBuilder } from '../../../engine/table/table-builder.js';
import { runCompactionJob } from '../../../engine/compaction/compaction-job.js';
import { TableReader } from '../../../engine/table/table-reader.js';
import { BytesFile } from '../../../engine/vfs/bytes-file.js';
import { BlockCache } from '../../../engine/table/block-cache.js';

const root = mkdtempSync(join(tmpdir(), 'eau2-expiry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A value in the convention: header byte, then (if expiring) the expiry, then the text. */
function val(text: string, expiresAt?: number): Uint8Array {
  const body = enc.encode(text);
  if (expiresAt === undefined) return Uint8Array.of(0, ...body);
  const out = new Uint8Array(9 + body.length);
  out[0] = EXPIRY_FLAG;
  putExpiry(out, 1, expiresAt);
  out.set(body, 9);
  return out;
}
const text = (v: Uint8Array | undefined): string | undefined =>
  v === undefined ? undefined : dec.decode(v.subarray(v[0]! & EXPIRY_FLAG ? 9 : 1));

async function keys(db: Engine, reverse = false): Promise<string[]> {
  const out: string[] = [];
  for await (const [k] of db.iterator({ reverse })) out.push(dec.decode(k));
  return out;
}

describe('value expiry convention', () => {
  test('the expiry field round-trips, up to 2^53 - 1', () => {
    for (const t of [0, 1, 1_700_000_000_000, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      expect(expiryOf(val('x', t))).toBe(t);
    }
    expect(expiryOf(val('x'))).toBeUndefined();
    expect(expiryOf(Uint8Array.of(EXPIRY_FLAG, 1, 2))).toBeUndefined(); // too short to hold one
    expect(() => putExpiry(new Uint8Array(8), 0, -1)).toThrow(TypeError);
  });

  test('keysBelow bounds which keys expire', () => {
    const v = val('x', 10);
    expect(isExpired(undefined, 10, enc.encode('a'), v)).toBe(true);
    expect(isExpired(undefined, 9, enc.encode('a'), v)).toBe(false);
    const below = Uint8Array.of(0xff, 0xff);
    expect(isExpired(below, 10, Uint8Array.of(0xff, 0xfe, 9), v)).toBe(true);
    expect(isExpired(below, 10, Uint8Array.of(0xff, 0xff), v)).toBe(false);
    expect(isExpired(below, 10, Uint8Array.of(0xff, 0xff, 1), v)).toBe(false);
    expect(isExpired(below, 10, Uint8Array.of(0xff), v)).toBe(true);
  });

  test('options are checked', async () => {
    await expect(Engine.open(join(root, 'bad'), { valueExpiry: 3 as never })).rejects.toThrow(TypeError);
    await expect(Engine.open(join(root, 'bad2'), { valueExpiry: { keysBelow: 'x' as never } })).rejects.toThrow(
      TypeError,
    );
  });
});

describe('an engine with valueExpiry', () => {
  for (const compactionWorker of [true, false]) {
    test(`expired values vanish from get, iterators, reopen and compaction (worker: ${compactionWorker})`, async () => {
      const dir = mkdtempSync(join(root, 'db-'));
      let now = 1_000_000;
      const opts = { compactionWorker, valueExpiry: { keysBelow: Uint8Array.of(0xff), clock: () => now } };
      let db = await Engine.open(dir, opts);
      // 'b' has an older, non-expiring version that the expiring one must keep hidden.
      await db.put('b', val('old b'));
      await db.put('a', val('a forever'));
      await db.put('b', val('b until 2000000', 2_000_000));
      await db.put('c', val('c until 3000000', 3_000_000));
      await db.put(Uint8Array.of(0xff, 1), val('meta', 1)); // past keysBelow: never expires
      expect(text(await db.get('b'))).toBe('b until 2000000');
      expect(await keys(db)).toEqual(['a', 'b', 'c', '\ufffd\u0001']);

      now = 2_000_000; // b's expiry is reached (expiry <= now)
      expect(await db.get('b')).toBeUndefined();
      expect(db.getSync('b')).toBeUndefined();
      expect(await db.getWith('b', (v) => v.length)).toBeUndefined();
      expect(await keys(db)).toEqual(['a', 'c', '\ufffd\u0001']);
      expect(await keys(db, true)).toEqual(['\ufffd\u0001', 'c', 'a']);

      // Across a reopen (the WAL replays it), then from tables (flushed and compacted).
      await db.close();
      db = await Engine.open(dir, opts);
      expect(await db.get('b')).toBeUndefined();
      expect(text(await db.get('c'))).toBe('c until 3000000');
      await db.compactRange();
      expect(await db.get('b')).toBeUndefined();
      expect(await keys(db)).toEqual(['a', 'c', '\ufffd\u0001']);

      // A rewrite without expiry makes the key live again; c expires in tables.
      await db.put('b', val('b again'));
      now = 3_000_001;
      expect(text(await db.get('b'))).toBe('b again');
      expect(await db.get('c')).toBeUndefined();
      await db.compactRange();
      expect(await keys(db)).toEqual(['a', 'b', '\ufffd\u0001']);
      // Turning the clock back shows the data is gone, not merely hidden: c was dropped.
      now = 0;
      expect(await db.get('c')).toBeUndefined();
      expect(text(await db.get('a'))).toBe('a forever');
      await db.close();
    });
  }

  test('without valueExpiry the header is just bytes', async () => {
    const db = await Engine.open(mkdtempSync(join(root, 'plain-')));
    await db.put('k', val('expired long ago', 1));
    expect(text(await db.get('k'))).toBe('expired long ago');
    await db.compactRange();
    expect(await keys(db)).toEqual(['k']);
    await db.close();
  });
});

describe('compaction job', () => {
  const table = (entries: [string, number, number, Uint8Array][]): Uint8Array => {
    const b = new TableBuilder({ blockSize: 256, bitsPerKey: 10 });
    for (const [k, seq, kind, v] of entries) b.add(enc.encode(k), seq, kind, v);
    return b.finish();
  };
  const read = (bytes: Uint8Array): [string, number, number][] => {
    const r = TableReader.open(new BytesFile('out', bytes), 99, new BlockCache(0));
    const it = r.iterator({ fillCache: false });
    const out: [string, number, number][] = [];
    for (it.seekToFirst(); it.valid(); it.next()) out.push([dec.decode(it.key()), it.seq(), it.kind()]);
    it.close();
    return out;
  };
  const base = { smallestSnapshot: 100, targetFileSize: 1 << 20, blockSize: 256, bitsPerKey: 10 };
  const inputs = () => [
    { number: 1, path: '1', bytes: table([['x', 5, Kind.VALUE, val('x1', 50)]]) },
    { number: 2, path: '2', bytes: table([['x', 2, Kind.VALUE, val('x0')]]) },
  ];

  test('above the bottom level an expired value becomes a tombstone hiding older versions', () => {
    const r = runCompactionJob({ ...base, bottommost: false, inputs: inputs(), expiry: { now: 50 } });
    expect(read(r.outputs[0]!.bytes!)).toEqual([['x', 5, Kind.DELETE]]);
    expect(r.entriesExpired).toBe(1);
  });

  test('at the bottom level it is dropped with every older version', () => {
    const r = runCompactionJob({ ...base, bottommost: true, inputs: inputs(), expiry: { now: 50 } });
    expect(r.outputs).toEqual([]);
  });

  test('a snapshot older than the expired version keeps the version it sees', () => {
    const r = runCompactionJob({
      ...base,
      smallestSnapshot: 3,
      bottommost: true,
      inputs: inputs(),
      expiry: { now: 50 },
    });
    expect(read(r.outputs[0]!.bytes!)).toEqual([
      ['x', 5, Kind.DELETE],
      ['x', 2, Kind.VALUE],
    ]);
  });

  test('not yet expired: kept as it is', () => {
    const r = runCompactionJob({ ...base, bottommost: true, inputs: inputs(), expiry: { now: 49 } });
    expect(read(r.outputs[0]!.bytes!)).toEqual([['x', 5, Kind.VALUE]]);
  });
});

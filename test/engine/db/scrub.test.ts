// Damage found before a read needs it: the scrub (background, paced; or verify() on demand) re-reads
// every table from disk and reports the damaged ones; dropTable takes one out so its range can be
// rewritten from a copy. A WAL damaged in its middle still stops the open, with a message saying how
// to open anyway; walRecovery 'pointInTime' keeps the records before the damage.

import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Engine } from '../../../engine/index.js';
import { BASE_SEED, seededRng } from '../vfs/seeded-random.js';
import { damageWalMiddle, flipTableBit } from '../../chaos/nemeses-disk.js';

const dec = new TextDecoder();
const root = mkdtempSync(join(tmpdir(), 'eau2-scrub-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const N = 4000;
const key = (i: number) => `key${String(i).padStart(5, '0')}`;
const val = (i: number) => `value-${i}-${'z'.repeat(i % 50)}`;

async function build(name: string): Promise<string> {
  const dir = join(root, name);
  const db = await Engine.open(dir, { memtableBytes: 32 * 1024, targetFileSize: 32 * 1024 });
  for (let i = 0; i < N; i++) await db.put(key(i), val(i));
  await db.compactRange();
  await db.close();
  return dir;
}

/** Flips one bit in a data block of a seeded table; returns the table's file name. */
function flipDataByte(dir: string, rng: ReturnType<typeof seededRng>): string {
  return basename(flipTableBit(dir, rng)!.file);
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('scrub', () => {
  test('verify() finds a flipped byte in a data block before any read meets it', async () => {
    const rng = seededRng(BASE_SEED + 1410);
    const dir = await build('verify');
    const db0 = await Engine.open(dir);
    expect(await db0.verify()).toEqual([]);
    const clean = db0.stats().scrub;
    expect(clean.tablesVerified).toBe(db0.stats().levels.reduce((n, l) => n + l.files, 0));
    await db0.close();
    const name = flipDataByte(dir, rng);
    const db = await Engine.open(dir);
    const damaged = await db.verify();
    expect(
      damaged.map((d) => `${String(d.file).padStart(6, '0')}.sst`),
      `seed ${rng.seed}`,
    ).toEqual([name]);
    expect(damaged[0]!.reason).toMatch(/checksum|malformed/);
    expect(db.stats().scrub.damagedTables).toBe(1);
    expect(db.damagedTables()).toHaveLength(1);
    await db.close();
  });

  test('the background scrub finds it at its configured pace', async () => {
    const rng = seededRng(BASE_SEED + 1411);
    const dir = await build('background');
    const name = flipDataByte(dir, rng);
    const db = await Engine.open(dir, { scrubBytesPerSecond: 4 * 1024 * 1024 });
    await until('the scrub to find the damage', () => db.damagedTables().length === 1);
    expect(`${String(db.damagedTables()[0]!.file).padStart(6, '0')}.sst`).toBe(name);
    await db.close();
  });

  test('damage done after a pass is found by the next one, scrubIntervalMs later', async () => {
    const rng = seededRng(BASE_SEED + 1415);
    const dir = await build('interval');
    const db = await Engine.open(dir, { scrubBytesPerSecond: 64 * 1024 * 1024, scrubIntervalMs: 200 });
    await until('a first clean pass', () => db.stats().scrub.passes >= 1);
    expect(db.damagedTables()).toEqual([]);
    const name = flipDataByte(dir, rng);
    await until('a later pass to find the damage', () => db.damagedTables().length === 1);
    expect(`${String(db.damagedTables()[0]!.file).padStart(6, '0')}.sst`).toBe(name);
    await db.close();
    await expect(Engine.open(dir, { scrubIntervalMs: -1 })).rejects.toThrow(TypeError);
  });

  test('an iterator that meets the damage lists the table as damaged, as a point read does', async () => {
    const rng = seededRng(BASE_SEED + 1414);
    const dir = await build('scan');
    const name = flipDataByte(dir, rng);
    // No scrub and no cache: only the scan reads the damaged block.
    const db = await Engine.open(dir, { blockCacheBytes: 0 });
    expect(db.damagedTables()).toEqual([]);
    const scan = async (): Promise<number> => {
      let n = 0;
      for await (const _ of db.iterator()) n++;
      return n;
    };
    await expect(scan(), `seed ${rng.seed}`).rejects.toMatchObject({ code: 'CORRUPTION' });
    expect(db.damagedTables().map((d) => `${String(d.file).padStart(6, '0')}.sst`)).toEqual([name]);
    await db.close();
  });

  test('dropTable removes a damaged table; rewriting its range from a copy makes the database whole', async () => {
    const rng = seededRng(BASE_SEED + 1412);
    const dir = await build('drop');
    flipDataByte(dir, rng);
    const db = await Engine.open(dir, { blockCacheBytes: 0 });
    const [bad] = await db.verify();
    expect(bad).toBeDefined();
    const range = await db.dropTable(bad!.file);
    expect(dec.decode(range!.smallest)).toBe(dec.decode(bad!.smallest));
    expect(db.damagedTables()).toEqual([]);
    // The "replica" here is the generator itself: rewrite every key of the dropped range.
    const lo = dec.decode(range!.smallest);
    const hi = dec.decode(range!.largest);
    for (let i = 0; i < N; i++) if (key(i) >= lo && key(i) <= hi) await db.put(key(i), val(i));
    let n = 0;
    for await (const [k, v] of db.iterator()) {
      expect(dec.decode(k)).toBe(key(n));
      expect(dec.decode(v)).toBe(val(n));
      n++;
    }
    expect(n).toBe(N);
    expect(await db.verify()).toEqual([]);
    expect(await db.dropTable(bad!.file)).toBeUndefined();
    await db.close();
  });
});

describe('a WAL damaged in its middle', () => {
  async function walDb(name: string): Promise<{ dir: string; path: string }> {
    const dir = join(root, name);
    const db = await Engine.open(dir, { memtableBytes: 64 * 1024 * 1024 });
    for (let i = 0; i < N; i++) await db.put(key(i), val(i));
    await db.close();
    const damage = damageWalMiddle(dir, seededRng(BASE_SEED + 1413));
    return { dir, path: damage!.file };
  }

  test('stops the open with a message naming the way to open anyway', async () => {
    const { dir } = await walDb('wal-strict');
    await expect(Engine.open(dir)).rejects.toMatchObject({
      code: 'CORRUPTION',
      message: expect.stringMatching(/walRecovery 'pointInTime'.*--drop-damaged-wal-tail/),
    });
  });

  test("walRecovery 'pointInTime' keeps a prefix of the writes and drops the rest", async () => {
    const { dir } = await walDb('wal-pit');
    const db = await Engine.open(dir, { walRecovery: 'pointInTime' });
    const keys: string[] = [];
    for await (const [k, v] of db.iterator()) {
      expect(dec.decode(v)).toBe(val(keys.length));
      keys.push(dec.decode(k));
    }
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.length).toBeLessThan(N);
    keys.forEach((k, i) => expect(k).toBe(key(i)));
    expect(db.stats().walDamageDropped).toBe(1);
    await db.put('after', 'x', { sync: true });
    await db.close();
    // The damaged log is gone: a plain open now works and keeps the writes made since.
    const again = await Engine.open(dir);
    expect(dec.decode((await again.get('after'))!)).toBe('x');
    await again.close();
  });
});

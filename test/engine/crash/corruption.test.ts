// Corruption is detected, reported with the file and offset, and never returned as data: a flipped
// byte anywhere in a table, or inside the WAL before its last record.

import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, isEau2Error } from '../../../engine/index.js';
import { BASE_SEED, seededRng } from '../vfs/seeded-random.js';

const dec = new TextDecoder();
const root = mkdtempSync(join(tmpdir(), 'eau2-corrupt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const N = 3000;
const key = (i: number) => `key${String(i).padStart(5, '0')}`;
const val = (i: number) => `value-${i}-${'z'.repeat(i % 50)}`;

/** Opens the db and reads everything; returns 'ok' if all correct, or the CORRUPTION error. */
async function readAll(dir: string): Promise<'ok' | Error> {
  let db: Engine | undefined;
  try {
    db = await Engine.open(dir, { blockCacheBytes: 0 });
    for (let i = 0; i < N; i += 7) {
      const v = db.getSync(key(i));
      if (v === undefined || dec.decode(v) !== val(i))
        throw new Error(`WRONG VALUE for ${key(i)}: ${v && dec.decode(v)}`);
    }
    let n = 0;
    for await (const [k, v] of db.iterator()) {
      if (dec.decode(k) !== key(n) || dec.decode(v) !== val(n))
        throw new Error(`WRONG ENTRY at ${n}: ${dec.decode(k)}`);
      n++;
    }
    if (n !== N) throw new Error(`WRONG COUNT ${n}`);
    return 'ok';
  } catch (e) {
    return e as Error;
  } finally {
    await db?.close().catch(() => undefined);
  }
}

describe('a flipped byte in an SSTable', () => {
  test('is reported as CORRUPTION naming the file and offset, never read as a wrong value', async () => {
    const rng = seededRng(BASE_SEED + 5);
    const dir = join(root, 'sst');
    const db = await Engine.open(dir, { memtableBytes: 32 * 1024 });
    for (let i = 0; i < N; i++) await db.put(key(i), val(i));
    await db.compactRange();
    await db.close();
    const tables = readdirSync(dir).filter((n) => n.endsWith('.sst'));
    expect(tables.length).toBeGreaterThan(0);
    let detected = 0;
    for (let t = 0; t < 60; t++) {
      const name = rng.pick(tables);
      const path = join(dir, name);
      const original = readFileSync(path);
      const off = rng.int(0, statSync(path).size - 1);
      const bad = Buffer.from(original);
      bad[off] = bad[off]! ^ (1 << rng.int(0, 7));
      writeFileSync(path, bad);
      const r = await readAll(dir);
      writeFileSync(path, original);
      if (r === 'ok') continue; // a byte no read depends on (e.g. padding)
      expect(isEau2Error(r, 'CORRUPTION'), `flip at ${name}:${off} gave ${r.message}`).toBe(true);
      expect(r.message).toContain(name);
      expect(r.message).toMatch(/offset \d+/);
      detected++;
    }
    expect(detected).toBeGreaterThan(40);
    expect(await readAll(dir)).toBe('ok');
  });
});

describe('a flipped byte in the WAL', () => {
  async function walDb(name: string): Promise<{ dir: string; log: string }> {
    const dir = join(root, name);
    const db = await Engine.open(dir, { memtableBytes: 64 * 1024 * 1024 });
    for (let i = 0; i < N; i++) await db.put(key(i), val(i));
    await db.close();
    const logs = readdirSync(dir).filter((n) => n.endsWith('.log'));
    const log = logs.map((n) => [n, statSync(join(dir, n)).size] as const).sort((a, b) => b[1] - a[1])[0]![0];
    return { dir, log };
  }

  test('before the tail is CORRUPTION naming the log and offset, and the open changes nothing', async () => {
    const { dir, log } = await walDb('wal-mid');
    const path = join(dir, log);
    const buf = readFileSync(path);
    buf[Math.floor(buf.length / 3)]! ^= 0x10;
    writeFileSync(path, buf);
    const before = readdirSync(dir).sort();
    const r = await readAll(dir);
    expect(r).not.toBe('ok');
    expect(isEau2Error(r, 'CORRUPTION'), String(r)).toBe(true);
    expect((r as Error).message).toContain(log);
    expect(readdirSync(dir).sort()).toEqual(before.filter((n) => n !== 'LOCK'));
  });

  test('in the last record is a torn tail: the log ends before it', async () => {
    const { dir, log } = await walDb('wal-tail');
    const path = join(dir, log);
    const buf = readFileSync(path);
    buf[buf.length - 3]! ^= 0x10;
    writeFileSync(path, buf);
    const db = await Engine.open(dir);
    expect(db.getSync(key(N - 1))).toBeUndefined();
    expect(dec.decode(db.getSync(key(N - 2))!)).toBe(val(N - 2));
    await db.close();
  });
});

// String columns imported from Arrow IPC and Parquet files are read as dictionaries straight from
// their UTF-8 bytes (io/arrow-columns.ts dictionaryStrings: short values keyed by their packed bytes,
// longer ones hashed). These tests store seeded random files through the importers and the same
// values through the plain row-by-row path (a frame of one JS string per row), and compare what the
// two leave in the store: every chunk byte for byte, and the zones. The values are built to reach
// every branch of the lookup: 0-8 byte values of one-, two-, three- and four-byte characters, NUL
// bytes (so "a" and "a\0" must differ), the empty string, values of exactly 7 and 8 bytes (the
// packed and hashed sides of the boundary), longer ones, values ending a buffer (read byte by byte),
// nulls, 32- and 64-bit offsets (Utf8, LargeUtf8), several record batches, sliced tables, and
// distinct counts on both sides of the dictionary limit. EAU2_TEST_SEED=<seed> replays a run.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DICT_RATIO } from '../../dataframe/chunk-codec.js';
import { StringColumn, bitSet, bitmapBytes } from '../../dataframe/column.js';
import { DataFrame, fromArrow, importArrow, importParquet } from '../../dataframe/index.js';
import { chunkKey } from '../../dataframe/layout.js';
import { slotOf } from '../../dataframe/meta.js';
import type { Field } from '../../dataframe/schema.js';
import { readMeta } from '../../dataframe/storage.js';
import { MemoryStore } from '../support/memory-store.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-arrow-strings-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// One to four UTF-8 bytes each, and NUL.
const CHARS = ['a', 'b', 'Z', '0', '\0', ' ', 'é', 'ß', '日', '€', '😀'];

function randomText(rng: Rng, maxBytes: number): string {
  const want = rng.int(0, maxBytes);
  let s = '';
  while (Buffer.byteLength(s) < want) {
    const c = rng.pick(CHARS);
    if (Buffer.byteLength(s + c) > maxBytes) break;
    s += c;
  }
  return s;
}

/** `distinct` different values, mostly of 0-6 bytes, some of exactly 7 and 8, some longer. */
function pool(rng: Rng, distinct: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let tries = 0; out.length < distinct && tries < distinct * 50; tries++) {
    const kind = rng.int(0, 9);
    let s: string;
    if (kind < 6) s = randomText(rng, 6);
    else if (kind === 6) s = `${randomText(rng, 3)}\0`;
    else if (kind === 7) s = 'abcdefg'.slice(0, rng.int(6, 7)) + (rng.bool() ? '' : 'h');
    else s = `${randomText(rng, 6)}:${out.length}`;
    if (!seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  }
  // Short values that differ only in a byte past the others' length, or in a trailing NUL.
  for (const s of ['', 'a', 'a\0', 'a\0\0\0', 'a\0\0\0\0', 'abcdefg', 'abcdefg\0'])
    if (out.length < distinct && !seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  return out;
}

function randomRows(rng: Rng, n: number, chunkRows: number): (string | null)[] {
  const limit = Math.floor(chunkRows / DICT_RATIO);
  const distinct = Math.max(1, rng.pick([1, 3, 40, limit, limit + 1, 2 * limit]));
  const values = pool(rng, distinct);
  const pNull = rng.pick([0, 0, 0.05, 0.5]);
  return Array.from({ length: n }, () => (rng.bool(pNull) ? null : rng.pick(values)));
}

/** What the row-by-row path holds: one JS string per row ('' for a null) and the null bitmap. */
function plainColumn(vals: readonly (string | null)[]): StringColumn {
  let nulls: Uint8Array | undefined;
  vals.forEach((v, i) => {
    if (v === null) bitSet((nulls ??= new Uint8Array(bitmapBytes(vals.length))), i);
  });
  return new StringColumn(
    vals.map((v) => v ?? ''),
    vals.length,
    nulls,
  );
}

/** The same values stored through the plain path, as the reference. */
async function storePlain(fields: Field[], cols: (string | null)[][], chunkRows: number): Promise<MemoryStore> {
  const store = new MemoryStore();
  await DataFrame.put(store, 'f', DataFrame.fromFields(fields, cols.map(plainColumn)), { chunkRows });
  return store;
}

/** Both stores' frame `f`: the same rows, zones and chunk bytes. */
async function expectSameFrame(got: MemoryStore, want: MemoryStore, where: string): Promise<void> {
  const a = (await readMeta(got, 'f'))!;
  const b = (await readMeta(want, 'f'))!;
  expect(a.nrows, where).toBe(b.nrows);
  expect(a.nchunks, where).toBe(b.nchunks);
  expect(a.zones, where).toEqual(b.zones);
  for (let i = 0; i < a.nchunks; i++) {
    for (let c = 0; c < a.fields.length; c++) {
      const x = await got.get(chunkKey('f', a.version, slotOf(a, i), c));
      const y = await want.get(chunkKey('f', b.version, slotOf(b, i), c));
      expect(x && y && Buffer.from(x).equals(Buffer.from(y)), `${where}: chunk ${i}, column ${c}`).toBe(true);
    }
  }
}

/** A table of one Utf8 and one LargeUtf8 column, a record batch per `chunkRows` rows. */
function tableOf(u: (string | null)[], l: (string | null)[], chunkRows: number): A.Table {
  const batches: A.RecordBatch[] = [];
  for (let at = 0; at < u.length; at += chunkRows) {
    const uv = A.vectorFromArray(u.slice(at, at + chunkRows), new A.Utf8());
    const lv = A.vectorFromArray(l.slice(at, at + chunkRows), new A.LargeUtf8());
    batches.push(new A.RecordBatch({ u: uv.data[0]!, l: lv.data[0]! }));
  }
  return new A.Table(batches);
}

const FIELDS: Field[] = [
  { name: 'u', type: 'S' },
  { name: 'l', type: 'S' },
];

describe('imported string columns read from their bytes', () => {
  it('store the chunks and zones the row-by-row path stores (Arrow IPC, Utf8 and LargeUtf8)', async () => {
    onTestFailed(() =>
      console.error(`[arrow-import-strings] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
    );
    const rng = new Rng(SEED);
    for (let round = 0; round < 12; round++) {
      const chunkRows = rng.pick([64, 100, 256, 1000]);
      const n = chunkRows * rng.int(1, 3) + rng.pick([0, 0, 1, rng.int(1, chunkRows - 1)]);
      const u = randomRows(rng, n, chunkRows);
      const l = randomRows(rng, n, chunkRows);
      const p = join(dir, `r${round}.arrow`);
      await writeFile(p, A.tableToIPC(tableOf(u, l, chunkRows), 'file'));
      const got = new MemoryStore();
      await importArrow(got, 'f', p, { chunkRows });
      await expectSameFrame(
        got,
        await storePlain(FIELDS, [u, l], chunkRows),
        `seed ${SEED} round ${round} (n ${n}, chunkRows ${chunkRows})`,
      );
    }
  });

  it('store the chunks and zones the row-by-row path stores (Parquet, several row groups)', async () => {
    onTestFailed(() =>
      console.error(`[arrow-import-strings] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
    );
    const rng = new Rng((SEED ^ 0x5bd1e995) >>> 0);
    for (let round = 0; round < 6; round++) {
      const chunkRows = rng.pick([64, 256, 1000]);
      const n = chunkRows * rng.int(1, 3) + rng.pick([0, rng.int(1, chunkRows - 1)]);
      const u = randomRows(rng, n, chunkRows);
      const p = join(dir, `r${round}.parquet`);
      const buf = parquetWriteBuffer({
        columnData: [{ name: 'u', data: u, type: 'STRING' }],
        rowGroupSize: chunkRows,
      });
      await writeFile(p, new Uint8Array(buf));
      const got = new MemoryStore();
      await importParquet(got, 'f', p, { chunkRows });
      await expectSameFrame(
        got,
        await storePlain([FIELDS[0]!], [u], chunkRows),
        `seed ${SEED} round ${round} (n ${n}, chunkRows ${chunkRows})`,
      );
    }
  });

  it('store a sliced table as its rows (offsets cut at the slice, validity bitmaps not)', async () => {
    onTestFailed(() =>
      console.error(`[arrow-import-strings] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
    );
    const rng = new Rng((SEED ^ 0x27d4eb2f) >>> 0);
    for (let round = 0; round < 8; round++) {
      const chunkRows = rng.pick([64, 200]);
      const n = chunkRows * 3;
      const u = randomRows(rng, n, chunkRows);
      const l = randomRows(rng, n, chunkRows);
      const a = rng.int(1, chunkRows);
      const b = rng.int(a + chunkRows, n);
      const got = new MemoryStore();
      await DataFrame.put(got, 'f', await fromArrow(tableOf(u, l, n).slice(a, b)), { chunkRows });
      await expectSameFrame(
        got,
        await storePlain(FIELDS, [u.slice(a, b), l.slice(a, b)], chunkRows),
        `seed ${SEED} round ${round} (rows ${a}-${b}, chunkRows ${chunkRows})`,
      );
    }
  });
});

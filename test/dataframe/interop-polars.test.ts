// Files Polars writes, imported by eau2: Parquet (each codec), Arrow IPC files (Polars writes their
// strings as Utf8View and categoricals as dictionaries of Utf8View) and IPC streams, uncompressed
// and compressed (LZ4_FRAME, ZSTD), from a seeded random table with every Polars type eau2 maps,
// nulls in every column, and several record batches.
// Every cell is compared with what Polars itself holds, read back through Polars: numbers as
// numbers, 64-bit integers and temporal values as the decimal text of their raw count (Polars casts
// a datetime, date, time or duration to its integer count exactly), which the test only rescales to
// eau2's units (ms and ns to µs, ns floored as eau2 documents). EAU2_TEST_SEED=<seed> replays a run.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, fromArrow, importArrow, importParquet } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

function seeded(label: string): Rng {
  onTestFailed(() =>
    console.error(`[interop-polars] ${label} failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
  );
  return new Rng(SEED);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-polars-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Kind = 'ints' | 'i64' | 'float' | 'text' | 'bool' | 'days' | 'ms' | 'us' | 'ns' | 'raw64';

/** Each column: its eau2 type, how the reference reads it from Polars, and how it is made from a raw column. */
const COLUMNS: [name: string, eau2: string, kind: Kind, make: (raw: pl.Series) => pl.Series][] = [
  ['i8', 'I', 'ints', (r) => r.cast(pl.Int8)],
  ['i16', 'I', 'ints', (r) => r.cast(pl.Int16)],
  ['i32', 'I', 'ints', (r) => r.cast(pl.Int32)],
  ['u8', 'I', 'ints', (r) => r.cast(pl.UInt8)],
  ['u16', 'I', 'ints', (r) => r.cast(pl.UInt16)],
  ['u32', 'L', 'i64', (r) => r.cast(pl.UInt32)],
  ['i64', 'L', 'i64', (r) => r.cast(pl.Int64)],
  ['u64', 'L', 'i64', (r) => r.cast(pl.UInt64)],
  ['f32', 'D', 'float', (r) => r.cast(pl.Float32)],
  ['f64', 'D', 'float', (r) => r],
  ['dec', 'D', 'float', (r) => r.cast(pl.Decimal(18, 3))],
  ['text', 'S', 'text', (r) => r],
  ['cat', 'S', 'text', (r) => r.cast(pl.Categorical)],
  ['flag', 'B', 'bool', (r) => r],
  ['day', 'd', 'days', (r) => r.cast(pl.Int32).cast(pl.Date)],
  ['at_ms', 'T', 'ms', (r) => r.cast(pl.Int64).cast(pl.Datetime('ms'))],
  ['at_us', 'T', 'us', (r) => r.cast(pl.Int64).cast(pl.Datetime('us'))],
  ['at_ns', 'T', 'ns', (r) => r.cast(pl.Int64).cast(pl.Datetime('ns'))],
  ['at_tz', 'T', 'us', (r) => r.cast(pl.Int64).cast(pl.Datetime('us', 'Europe/Paris'))],
  ['tod', 'L', 'raw64', (r) => r.cast(pl.Int64).cast(pl.Time)],
  ['dur', 'L', 'raw64', (r) => r.cast(pl.Int64).cast(pl.Duration('us'))],
];

const TEXT = ['', 'a', 'Zürich', '日本語', '😀 x', 'quote"comma,', 'line\nbreak', 'a-string-longer-than-twelve-bytes'];

/** One random raw value (what `make` casts) for a column, or null. */
function rawValue(rng: Rng, name: string): string | number | boolean | null {
  if (rng.bool(0.1)) return null;
  const big = (lo: bigint, hi: bigint): string => {
    // The extremes themselves, or a value spread over the whole range.
    if (rng.bool(0.1)) return String(rng.bool() ? lo : hi);
    const span = hi - lo;
    const r = (BigInt(rng.int(0, 2 ** 30)) << 33n) ^ (BigInt(rng.int(0, 2 ** 30)) << 3n) ^ BigInt(rng.int(0, 7));
    return String(lo + (r % (span + 1n)));
  };
  switch (name) {
    case 'i8':
      return rng.int(-128, 127);
    case 'i16':
      return rng.int(-32768, 32767);
    case 'i32':
      return rng.pick([-2147483648, 2147483647, rng.int(-2147483648, 2147483647)]);
    case 'u8':
      return rng.int(0, 255);
    case 'u16':
      return rng.int(0, 65535);
    case 'u32':
      return rng.pick([0, 4294967295, rng.int(0, 4294967295)]);
    case 'i64':
      return big(-(2n ** 63n), 2n ** 63n - 1n);
    case 'u64':
      return big(0n, 2n ** 63n - 1n); // past int64 is refused, tested below
    case 'f32':
      return rng.pick([Math.fround(rng.int(-1e6, 1e6) / 7), Number.NaN, -0, Number.POSITIVE_INFINITY, 3.4e38]);
    case 'f64':
      return rng.pick([rng.int(-1e9, 1e9) / 3, Number.NaN, -0, 0, Number.NEGATIVE_INFINITY, 1e308, 5e-324]);
    case 'dec':
      return `${rng.int(-999999999, 999999999)}.${String(rng.int(0, 999)).padStart(3, '0')}`;
    case 'text':
      return rng.bool(0.5) ? rng.pick(TEXT) : rng.word(rng.int(0, 8));
    case 'cat':
      return rng.pick(TEXT);
    case 'flag':
      return rng.bool();
    case 'day':
      // From year -5000 to 9999, 1970 and its neighbours included.
      return rng.pick([0, -1, rng.int(-2_547_000, 2_932_896)]);
    case 'at_ms':
    case 'at_us':
    case 'at_tz':
      return rng.pick(['0', '-1', String(rng.int(-(2 ** 31), 2 ** 31) * 1_000_003)]);
    case 'at_ns':
      return rng.pick(['0', '-1', '-1001', big(-(2n ** 62n), 2n ** 62n)]);
    case 'tod':
      return String(rng.int(0, 86_399_999) * 1_000_000 + rng.int(0, 999_999));
    case 'dur':
      return big(-(2n ** 50n), 2n ** 50n);
    default:
      throw new Error(name);
  }
}

/** Columns whose raw values are text (exact integers, decimals, strings). */
const TEXT_RAW = new Set(['i64', 'u64', 'dec', 'text', 'cat', 'at_ms', 'at_us', 'at_ns', 'at_tz', 'tod', 'dur']);

/** A Polars frame of `parts` pieces (record batches in an IPC file) of random rows. */
function polarsFrame(rng: Rng, parts: number[]): pl.DataFrame {
  const pieces = parts.map((n) => {
    const cols = COLUMNS.map(([name, , , make]) => {
      const vals = Array.from({ length: n }, () => rawValue(rng, name));
      // Integers travel as exact text, or as doubles when they fit one; Polars casts either.
      const dtype = name === 'flag' ? pl.Bool : TEXT_RAW.has(name) ? pl.Utf8 : pl.Float64;
      // The categorical is cast once over all pieces: an IPC file holds one dictionary per column.
      const raw = pl.Series(name, vals as never[], dtype);
      return (name === 'cat' ? raw : make(raw)).alias(name);
    });
    return pl.DataFrame(cols);
  });
  const df = pieces.length === 1 ? pieces[0]! : pl.concat(pieces, { rechunk: false, how: 'vertical' });
  return df.withColumns(pl.col('cat').cast(pl.Categorical));
}

const US: Partial<Record<Kind, bigint>> = { ms: 1000n, us: 1n };

/** Polars' own values of a column, in eau2's representation (see the file's header). */
function reference(df: pl.DataFrame, name: string, kind: Kind): unknown[] {
  const s = df.getColumn(name);
  switch (kind) {
    case 'ints':
    case 'bool':
    case 'text':
      return s.toArray() as unknown[];
    case 'float':
      return s.cast(pl.Float64).toArray() as unknown[];
    case 'days':
      return s.cast(pl.Int32).toArray() as unknown[];
    case 'i64':
      return s.cast(pl.Utf8).toArray() as unknown[];
    case 'raw64':
      return s.cast(pl.Int64).cast(pl.Utf8).toArray() as unknown[];
    default: {
      const raw = s.cast(pl.Int64).cast(pl.Utf8).toArray() as (string | null)[];
      return raw.map((v) => {
        if (v === null) return null;
        const x = BigInt(v);
        if (kind === 'ns') return String(x / 1000n - (x % 1000n < 0n ? 1n : 0n));
        return String(x * US[kind]!);
      });
    }
  }
}

/** A cell as compared: bigints as their digits; NaN and -0 kept apart from null and 0. */
const norm = (v: unknown): unknown =>
  typeof v === 'bigint' ? v.toString() : Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v;

async function expectSameAsPolars(store: MemoryStore, src: pl.DataFrame, what: string): Promise<void> {
  const df = await (await DataFrame.get(store, 'f')).load();
  expect(df.columnNames, what).toEqual(COLUMNS.map(([n]) => n));
  expect(df.schema, what).toBe(COLUMNS.map(([, t]) => t).join(''));
  expect(df.nrows, what).toBe(src.height);
  for (const [name, , kind] of COLUMNS) {
    const want = reference(src, name, kind).map(norm);
    const got = df.column(name).toArray().map(norm);
    for (let i = 0; i < want.length; i++)
      if (got[i] !== want[i])
        expect(`${what}: ${name} row ${i}: ${String(got[i])}`, `seed ${SEED}`).toBe(
          `${what}: ${name} row ${i}: ${String(want[i])}`,
        );
  }
}

describe('files Polars wrote', () => {
  for (const codec of ['uncompressed', 'snappy', 'zstd', 'gzip', 'lz4', 'brotli'] as const) {
    it(`Parquet (${codec}): every value as Polars holds it, categoricals included`, async () => {
      const rng = seeded(`Parquet ${codec}`);
      const src = polarsFrame(rng, [rng.int(1, 1500)]);
      const p = join(dir, `all-${codec}.parquet`);
      src.writeParquet(p, { compression: codec });
      const store = new MemoryStore();
      expect((await importParquet(store, 'f', p, { chunkRows: 700 })).rows).toBe(src.height);
      await expectSameAsPolars(store, src, `Parquet ${codec}`);
    });
  }

  // Polars refuses to write a categorical over several record batches of an IPC file ("Dictionary
  // replacement detected"): the several-batch file has that column as text.
  for (const batches of [1, 4])
    it(`an Arrow IPC file of ${batches} record batch(es) (Utf8View strings): every value as Polars holds it`, async () => {
      const rng = seeded(`IPC file, ${batches} batches`);
      let src = polarsFrame(
        rng,
        Array.from({ length: batches }, (_, k) => (k === 1 ? 0 : rng.int(1, 600))),
      );
      if (batches > 1) src = src.withColumns(pl.col('cat').cast(pl.Utf8));
      const p = join(dir, `all-${batches}.arrow`);
      src.writeIPC(p);
      const store = new MemoryStore();
      expect((await importArrow(store, 'f', p, { chunkRows: 500 })).rows).toBe(src.height);
      await expectSameAsPolars(store, src, 'IPC file');
      // The same file through apache-arrow and fromArrow.
      const direct = new MemoryStore();
      await DataFrame.put(direct, 'f', await fromArrow(A.tableFromIPC(await readFile(p))));
      await expectSameAsPolars(direct, src, 'IPC file through fromArrow');
    });

  it('an Arrow IPC stream: every value as Polars holds it', async () => {
    const rng = seeded('IPC stream');
    const src = polarsFrame(rng, [rng.int(1, 600), rng.int(1, 600)]);
    const p = join(dir, 'all.arrows');
    src.writeIPCStream(p);
    const store = new MemoryStore();
    expect((await importArrow(store, 'f', p)).rows).toBe(src.height);
    await expectSameAsPolars(store, src, 'IPC stream');
  });

  // Polars compresses IPC bodies on request (pyarrow's feather does with LZ4 by default). The
  // stream holds one categorical over several batches; the file has it as text, as above.
  for (const codec of ['lz4', 'zstd'] as const)
    for (const stream of [false, true])
      it(`a ${codec}-compressed IPC ${stream ? 'stream' : 'file'}: every value as Polars holds it, and as the uncompressed one reads`, async () => {
        const rng = seeded(`IPC ${codec} ${stream ? 'stream' : 'file'}`);
        let src = polarsFrame(rng, [rng.int(1, 600), 0, rng.int(1, 600)]);
        if (!stream) src = src.withColumns(pl.col('cat').cast(pl.Utf8));
        const ext = stream ? 'arrows' : 'arrow';
        const p = join(dir, `compressed-${codec}.${ext}`);
        const plain = join(dir, `plain-${codec}.${ext}`);
        if (stream) {
          src.writeIPCStream(p, { compression: codec });
          src.writeIPCStream(plain);
        } else {
          src.writeIPC(p, { compression: codec });
          src.writeIPC(plain);
        }
        const store = new MemoryStore();
        expect((await importArrow(store, 'f', p, { chunkRows: 500 })).rows).toBe(src.height);
        await expectSameAsPolars(store, src, `IPC ${codec}`);
        await importArrow(store, 'u', plain, { chunkRows: 500 });
        const [got, want] = [
          await (await DataFrame.get(store, 'f')).load(),
          await (await DataFrame.get(store, 'u')).load(),
        ];
        for (const [name] of COLUMNS)
          expect(got.column(name).toArray().map(String), name).toEqual(want.column(name).toArray().map(String));
        if (!stream) {
          const direct = new MemoryStore();
          await DataFrame.put(direct, 'f', await fromArrow(A.tableFromIPC(await readFile(p))));
          await expectSameAsPolars(direct, src, `IPC ${codec} through fromArrow`);
        }
      });

  it('refuses list and struct columns naming the column and its type, and publishes nothing', async () => {
    const src = pl
      .DataFrame({ x: pl.Series('x', [1, 2, null], pl.Int32) })
      .select(pl.col('x'), pl.concatList([pl.col('x'), pl.col('x')]).alias('xs'));
    const files: [string, (s: MemoryStore, p: string) => Promise<unknown>, RegExp][] = [
      ['nested.parquet', (s, p) => importParquet(s, 'n', p), /column "xs": nested columns/],
      ['nested.arrow', (s, p) => importArrow(s, 'n', p), /column "xs": Arrow type LargeList<.*> is not supported/],
    ];
    for (const [file, load, message] of files) {
      const p = join(dir, file);
      if (file.endsWith('.parquet')) src.writeParquet(p);
      else src.writeIPC(p);
      const store = new MemoryStore();
      await expect(load(store, p)).rejects.toThrow(message);
      await expect(DataFrame.get(store, 'n')).rejects.toThrow();
    }
  });

  it('reads a Parquet column of Polars type Null as nulls', async () => {
    const src = pl.DataFrame({ x: pl.Series('x', [1, 2, 3], pl.Int32) }).withColumns(pl.lit(null).alias('nothing'));
    const p = join(dir, 'null.parquet');
    src.writeParquet(p);
    const store = new MemoryStore();
    await importParquet(store, 'n', p);
    const df = await (await DataFrame.get(store, 'n')).load();
    expect(df.column('x').toArray()).toEqual([1, 2, 3]);
    expect(df.column('nothing').toArray()).toEqual(src.getColumn('nothing').toArray());
  });
});

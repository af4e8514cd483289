// Arrow data from outside eau2: tables DuckDB computes, handed over as apache-arrow record batches
// and written as IPC files and streams in the shapes other writers produce (many small batches,
// empty batches, a schema with no rows, dictionaries that grow by delta batches or are replaced),
// and apache-arrow tables sliced by the caller. Each import is compared cell by cell with DuckDB's
// own values of the same query (converted by DuckDB's SQL to days and microseconds), or, for
// slices, with the same rows of the whole table. EAU2_TEST_SEED=<seed> replays a run.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import * as A from 'apache-arrow';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, fromArrow, importArrow } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture } from './duck-fixture.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

function seeded(label: string): Rng {
  onTestFailed(() =>
    console.error(`[interop-arrow] ${label} failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
  );
  return new Rng(SEED);
}

let dir: string;
let con: DuckDBConnection;
duckFixture('eau2-arrow-interop-', (d, c) => {
  dir = d;
  con = c;
});

/** Each column: DuckDB's expression for row `i` (random `r`), its eau2 type, and its value in eau2's representation. */
const COLUMNS: [name: string, make: string, type: string, asEau2: string][] = [
  ['i', '(r % 4294967296 - 2147483648)::INTEGER', 'I', 'i'],
  [
    'l',
    'CASE r % 7 WHEN 0 THEN -9223372036854775808 WHEN 1 THEN 9223372036854775807 ELSE ((r % 4294967296)::HUGEINT * 2147483647 - 4611686018427387904)::BIGINT END',
    'L',
    'l::VARCHAR',
  ],
  [
    'd',
    "CASE r % 11 WHEN 0 THEN 'NaN'::DOUBLE WHEN 1 THEN '-0'::DOUBLE WHEN 2 THEN 'inf'::DOUBLE ELSE r / 7.0 - 1e9 END",
    'D',
    'd',
  ],
  [
    's',
    "CASE r % 5 WHEN 0 THEN '' WHEN 1 THEN 'é日本-' || (r % 13)::VARCHAR ELSE 'k' || (r % 40)::VARCHAR END",
    'S',
    's',
  ],
  ['b', 'r % 2 = 0', 'B', 'b'],
  ['day', "DATE '1970-01-01' + ((r % 2000000) - 1000000)::INTEGER", 'd', "date_diff('day', DATE '1970-01-01', day)"],
  [
    'ts',
    "TIMESTAMP '1970-01-01' + INTERVAL ((r % 200000000000000) - 100000000000000) MICROSECOND",
    'T',
    'epoch_us(ts)::VARCHAR',
  ],
];

/** A cell as compared: bigints as their digits; NaN and -0 kept apart from null and 0. */
const norm = (v: unknown): unknown =>
  typeof v === 'bigint' ? v.toString() : Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v;

async function duckTable(rows: number, seed: number): Promise<void> {
  const cols = COLUMNS.map(
    ([n, make], k) => `CASE WHEN hash(i, ${k}, ${seed}) % 10 = 0 THEN NULL ELSE ${make} END AS ${n}`,
  ).join(',\n');
  await con.run(
    `CREATE OR REPLACE TABLE t AS SELECT ${cols} FROM (SELECT i, (hash(i, ${seed}) % 9223372036854775807)::BIGINT AS r FROM range(${rows}) t(i)) ORDER BY i`,
  );
}

/** DuckDB's rows of table t in eau2's representation, column by column. */
async function duckColumns(): Promise<unknown[][]> {
  const rows = (await con.runAndReadAll(`SELECT ${COLUMNS.map(([, , , e]) => e).join(', ')} FROM t`)).getRows();
  return COLUMNS.map((_, c) => rows.map((r) => norm(r[c])));
}

function validity(vals: readonly unknown[]): { nullBitmap?: Uint8Array; nullCount: number } {
  const nullCount = vals.filter((v) => v === null).length;
  if (nullCount === 0) return { nullCount };
  const nullBitmap = new Uint8Array(Math.ceil(vals.length / 8));
  vals.forEach((v, i) => {
    if (v !== null) nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap, nullCount };
}

/** A vector of these values through apache-arrow's builder (vectorFromArray fails on no values). */
function built(type: A.DataType, vals: unknown[]): A.Vector {
  const b = A.makeBuilder({ type, nullValues: [null] });
  for (const v of vals) b.append(v as never);
  return b.finish().toVector();
}

/** Table t's rows [a, b) as Arrow vectors (strings as a dictionary when `dict` is given), from DuckDB's values. */
async function arrowColumns(a: number, b: number, dict?: A.Vector<A.Utf8>): Promise<A.Vector[]> {
  const rows = (
    await con.runAndReadAll(
      `SELECT i, l, d, s, b, date_diff('day', DATE '1970-01-01', day) AS day, epoch_us(ts) AS ts FROM t LIMIT ${b - a} OFFSET ${a}`,
    )
  ).getRows();
  const [i, l, d, s, bo, day, ts] = COLUMNS.map((_, c) => rows.map((r) => r[c]));
  const length = b - a;
  const fixed = (type: A.DataType, vals: unknown[], data: ArrayLike<unknown>): A.Vector =>
    A.makeVector(A.makeData({ type, length, ...validity(vals), data } as never));
  const strings = (): A.Vector => {
    if (!dict) return built(new A.Utf8(), s!);
    const where = new Map<string, number>();
    for (let k = 0; k < dict.length; k++) where.set(dict.get(k)!, k);
    const codes = Int32Array.from(s!, (v) => (v === null ? 0 : where.get(v as string)!));
    return A.makeVector(
      A.makeData({
        type: new A.Dictionary(new A.Utf8(), new A.Int32(), 0),
        length,
        ...validity(s!),
        data: codes,
        dictionary: dict,
      }),
    );
  };
  return [
    built(new A.Int32(), i!),
    built(new A.Int64(), l!),
    built(new A.Float64(), d!),
    strings(),
    built(new A.Bool(), bo!),
    fixed(
      new A.DateDay(),
      day!,
      Int32Array.from(day!, (v) => (v === null ? 0 : Number(v))),
    ),
    fixed(
      new A.TimestampMicrosecond(),
      ts!,
      BigInt64Array.from(ts!, (v) => (v === null ? 0n : (v as bigint))),
    ),
  ];
}

function batchOf(vectors: A.Vector[]): A.RecordBatch {
  const fields = COLUMNS.map(([n], k) => new A.Field(n, vectors[k]!.type, true));
  const length = vectors[0]!.length;
  const children = vectors.map((v) => v.data[0]!);
  return new A.RecordBatch(
    new A.Schema(fields),
    A.makeData({ type: new A.Struct(fields), length, nullCount: 0, children }),
  );
}

async function expectSameAsDuck(store: MemoryStore, name: string, what: string): Promise<void> {
  const df = await (await DataFrame.get(store, name)).load();
  expect(df.schema, what).toBe(COLUMNS.map(([, , t]) => t).join(''));
  const want = await duckColumns();
  COLUMNS.forEach(([n], c) => {
    const got = df.column(n).toArray().map(norm);
    expect(got.length, what).toBe(want[c]!.length);
    for (let r = 0; r < got.length; r++)
      if (got[r] !== want[c]![r])
        expect(`${what}: ${n} row ${r}: ${String(got[r])}`, `seed ${SEED}`).toBe(
          `${what}: ${n} row ${r}: ${String(want[c]![r])}`,
        );
  });
}

/** Cuts [0, rows) into random batch sizes, empty batches among them. */
function cuts(rng: Rng, rows: number): [number, number][] {
  const out: [number, number][] = [];
  let at = 0;
  while (at < rows) {
    const n = rng.bool(0.15) ? 0 : Math.min(rows - at, rng.pick([1, 2, 3, 7, rng.int(1, 300)]));
    out.push([at, at + n]);
    at += n;
  }
  return out;
}

describe('Arrow IPC from DuckDB results', () => {
  for (const stream of [true, false])
    it(`many small and empty record batches, strings as a dictionary growing by deltas (${stream ? 'stream' : 'file'})`, async () => {
      const rng = seeded(`deltas ${stream ? 'stream' : 'file'}`);
      const rows = rng.int(200, 1500);
      await duckTable(rows, rng.int(1, 1_000_000));
      // The distinct strings in order of first appearance: each batch's dictionary is the previous
      // one plus one chunk of the strings it meets first, written as a delta dictionary batch.
      const order = (await con.runAndReadAll('SELECT s FROM t')).getRows().map((r) => r[0] as string | null);
      const writer = stream ? new A.RecordBatchStreamWriter() : new A.RecordBatchFileWriter();
      const seen = new Set<string>();
      let dict: A.Vector<A.Utf8> | undefined;
      for (const [a, b] of cuts(rng, rows)) {
        const fresh = [...new Set(order.slice(a, b).filter((v): v is string => v !== null && !seen.has(v)))];
        fresh.forEach((v) => seen.add(v));
        const chunk = A.vectorFromArray(fresh.length ? fresh : dict ? [] : [''], new A.Utf8());
        dict = dict ? (dict.concat(chunk) as A.Vector<A.Utf8>) : chunk;
        writer.write(batchOf(await arrowColumns(a, b, dict)));
      }
      writer.finish();
      const p = join(dir, `deltas.${stream ? 'arrows' : 'arrow'}`);
      await writeFile(p, await writer.toUint8Array());
      const store = new MemoryStore();
      expect((await importArrow(store, 'f', p, { chunkRows: 256 })).rows).toBe(rows);
      await expectSameAsDuck(store, 'f', `deltas ${stream ? 'stream' : 'file'}`);
    });

  it('a stream whose string dictionary is replaced between batches', async () => {
    const rng = seeded('replaced dictionary');
    const rows = rng.int(100, 600);
    await duckTable(rows, rng.int(1, 1_000_000));
    const writer = new A.RecordBatchStreamWriter();
    for (const [a, b] of cuts(rng, rows)) {
      const vals = (await con.runAndReadAll(`SELECT s FROM t LIMIT ${b - a} OFFSET ${a}`)).getRows().map((r) => r[0]);
      // A new dictionary per batch, its own values in reverse order: codes differ from batch to batch.
      const own = [...new Set(vals.filter((v): v is string => v !== null))].reverse();
      writer.write(batchOf(await arrowColumns(a, b, A.vectorFromArray(own.length ? own : [''], new A.Utf8()))));
    }
    writer.finish();
    const p = join(dir, 'replaced.arrows');
    await writeFile(p, await writer.toUint8Array());
    const store = new MemoryStore();
    expect((await importArrow(store, 'f', p)).rows).toBe(rows);
    await expectSameAsDuck(store, 'f', 'replaced dictionary');
  });

  for (const stream of [true, false])
    it(`a schema with no rows (${stream ? 'stream' : 'file'}) gives an empty frame of its types`, async () => {
      await duckTable(0, 1);
      const writer = stream ? new A.RecordBatchStreamWriter() : new A.RecordBatchFileWriter();
      writer.write(batchOf(await arrowColumns(0, 0)));
      writer.finish();
      const p = join(dir, `empty.${stream ? 'arrows' : 'arrow'}`);
      await writeFile(p, await writer.toUint8Array());
      const store = new MemoryStore();
      expect((await importArrow(store, 'e', p)).rows).toBe(0);
      const df = await (await DataFrame.get(store, 'e')).load();
      expect(df.columnNames).toEqual(COLUMNS.map(([n]) => n));
      expect(df.schema).toBe(COLUMNS.map(([, , t]) => t).join(''));
      expect(df.nrows).toBe(0);
    });
});

describe('fromArrow of damaged data', () => {
  it('refuses a string view pointing outside its data buffers, naming the column and row', async () => {
    const v = A.vectorFromArray(['short', 'a string longer than twelve bytes', 'x'], new A.Utf8View());
    const views = v.data[0]!.values as Uint8Array;
    new DataView(views.buffer, views.byteOffset).setInt32(16 + 8, 7, true); // row 2's buffer index
    await expect(fromArrow(new A.Table({ s: v }))).rejects.toThrow(
      'column "s", row 2: the string view points outside its data buffers',
    );
  });
});

describe('fromArrow of a sliced table', () => {
  it('reads the slice, for every Arrow type eau2 maps', async () => {
    const rng = seeded('slices');
    const n = 2000;
    const maybe = <T>(v: T): T | null => (rng.bool(0.1) ? null : v);
    const ints = Array.from({ length: n }, () => maybe(rng.int(-100, 100)));
    const big = Array.from({ length: n }, () => maybe(BigInt(rng.int(-1e9, 1e9)) * 1_000_003n));
    // Few distinct strings (the dictionary fast path) in one column, many in another.
    const few = Array.from({ length: n }, () => maybe(rng.pick(['a', 'é', '', '日本'])));
    const many = Array.from({ length: n }, () => maybe(`${rng.word(rng.int(0, 20))}é${rng.int(0, 1e6)}`));
    const fixed = (type: A.DataType, vals: unknown[], data: ArrayLike<unknown>): A.Vector =>
      A.makeVector(A.makeData({ type, length: n, ...validity(vals), data } as never));
    const table = new A.Table({
      i8: A.vectorFromArray(ints, new A.Int8()),
      i16: A.vectorFromArray(ints, new A.Int16()),
      i32: A.vectorFromArray(ints, new A.Int32()),
      u32: A.vectorFromArray(
        ints.map((v) => (v === null ? null : v + 100)),
        new A.Uint32(),
      ),
      i64: A.vectorFromArray(big, new A.Int64()),
      f32: A.vectorFromArray(
        ints.map((v) => (v === null ? null : v / 4)),
        new A.Float32(),
      ),
      f64: A.vectorFromArray(
        ints.map((v) => (v === null ? null : v / 3)),
        new A.Float64(),
      ),
      few: A.vectorFromArray(few, new A.Utf8()),
      many: A.vectorFromArray(many, new A.Utf8()),
      large: A.vectorFromArray(many, new A.LargeUtf8()),
      view: A.vectorFromArray(many, new A.Utf8View()),
      dict: A.vectorFromArray(few, new A.Dictionary(new A.Utf8(), new A.Int32())),
      flag: A.vectorFromArray(
        ints.map((v) => (v === null ? null : v > 0)),
        new A.Bool(),
      ),
      day: fixed(
        new A.DateDay(),
        ints,
        Int32Array.from(ints, (v) => (v ?? 0) * 1000),
      ),
      day64: fixed(
        new A.DateMillisecond(),
        ints,
        BigInt64Array.from(ints, (v) => BigInt(v ?? 0) * 86_400_007n),
      ),
      // Decimal128 with scale 3: the value in the low word, its sign spread over the others.
      dec: fixed(
        new A.Decimal(3, 38, 128),
        ints,
        Uint32Array.from({ length: 4 * n }, (_, w) => {
          const v = ints[w >> 2] ?? 0;
          return w % 4 === 0 ? v >>> 0 : v < 0 ? 0xffffffff : 0;
        }),
      ),
      at_us: fixed(
        new A.TimestampMicrosecond('UTC'),
        big,
        BigInt64Array.from(big, (v) => v ?? 0n),
      ),
      at_ns: fixed(
        new A.TimestampNanosecond(),
        big,
        BigInt64Array.from(big, (v) => v ?? 0n),
      ),
      at_ms: fixed(
        new A.TimestampMillisecond(),
        ints,
        BigInt64Array.from(ints, (v) => BigInt(v ?? 0)),
      ),
    });
    const whole = await fromArrow(table);
    for (let round = 0; round < 20; round++) {
      const a = rng.int(0, n - 1);
      const b = rng.int(a, n);
      const part = await fromArrow(table.slice(a, b));
      expect(part.schema).toBe(whole.schema);
      for (const name of whole.columnNames) {
        const got = part.column(name).toArray().map(norm);
        const want = whole.column(name).toArray().slice(a, b).map(norm);
        expect(got, `${name} rows ${a}-${b} (seed ${SEED})`).toEqual(want);
      }
    }
  });
});

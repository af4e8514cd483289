// eau2's Parquet and Arrow exports read back by the peers analysts use: DuckDB reads the Parquet
// (read_parquet), Polars the Parquet, the Arrow IPC file and the IPC stream. Seeded random frames of
// every eau2 type (int32 and int64 at their extremes, doubles with NaN, -0 and infinities, strings
// with non-ASCII text and empty strings, booleans, dates and timestamps far from 1970, nulls in
// every column), in memory and stored in chunks (0, 1 and several), are compared cell by cell with
// what each peer reads, converted by the peer itself to eau2's representation (DuckDB's SQL,
// Polars' casts to the integer count of days and microseconds). DuckDB has no Arrow IPC reader
// without an extension (downloaded at run time), so the Arrow exports are checked with Polars only.
// EAU2_TEST_SEED=<seed> replays a run.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { DuckDBConnection } from '@duckdb/node-api';
import pl from 'nodejs-polars';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { Command } from 'commander';
import { registerDfCommands } from '../../app/cli/df-commands.js';
import { DataFrame, exportArrow, exportParquet, type LazyFrame } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture } from './duck-fixture.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

function seeded(label: string): Rng {
  onTestFailed(() =>
    console.error(`[interop-export] ${label} failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
  );
  return new Rng(SEED);
}

let dir: string;
let con: DuckDBConnection;
duckFixture('eau2-export-interop-', (d, c) => {
  dir = d;
  con = c;
});

const NAMES = ['i', 'l', 'x', 'y', 's', 'b', 'day', 'at'];

/** A random frame of every eau2 type, ~10% nulls, edge values often. */
function frame(rng: Rng, n: number): DataFrame {
  const maybe = <T>(f: () => T): T | null => (rng.bool(0.1) ? null : f());
  const col = <T>(f: () => T): (T | null)[] => Array.from({ length: n }, () => maybe(f));
  const big = (): bigint => BigInt.asIntN(64, (BigInt(rng.int(0, 0xffffffff)) << 32n) | BigInt(rng.int(0, 0xffffffff)));
  const text = ['', ' ', 'Zürich', '日本語', '😀', 'a,"b"', 'x\ny', '\u0000nul'];
  return DataFrame.fromColumns({
    i: { type: 'I', values: col(() => rng.pick([-2147483648, 2147483647, 0, rng.int(-2147483648, 2147483647)])) },
    l: { type: 'L', values: col(() => rng.pick([-(2n ** 63n), 2n ** 63n - 1n, 0n, big()])) },
    x: {
      type: 'D',
      values: col(() =>
        rng.pick([
          Number.NaN,
          -0,
          0,
          Number.POSITIVE_INFINITY,
          Number.NEGATIVE_INFINITY,
          5e-324,
          rng.int(-1e9, 1e9) / 7,
        ]),
      ),
    },
    // NaN among finite numbers: DuckDB prunes by min/max only when they are finite.
    y: { type: 'D', values: col(() => (rng.bool(0.05) ? Number.NaN : rng.int(-1e6, 1e6) / 8)) },
    s: { type: 'S', values: col(() => (rng.bool(0.5) ? rng.pick(text) : rng.word(rng.int(0, 20)))) },
    b: { type: 'B', values: col(() => rng.bool()) },
    // Days from year -9999 to 9999 (DuckDB's and Polars' date range is wider than that).
    day: { type: 'd', values: col(() => rng.pick([0, -1, -4371587, 2932896, rng.int(-4371587, 2932896)])) },
    // Timestamps from year 1 to 9999, to the microsecond.
    at: {
      type: 'T',
      values: col(() =>
        rng.pick([
          0n,
          -1n,
          -62135596800000000n,
          253402300799999999n,
          BigInt(rng.int(-62135596800, 253402300799)) * 1_000_000n + BigInt(rng.int(0, 999_999)),
        ]),
      ),
    },
  });
}

/** A cell as compared: bigints as their digits; NaN and -0 kept apart from null and 0. */
const norm = (v: unknown): unknown =>
  typeof v === 'bigint' ? v.toString() : Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v;

async function bytesOf(write: (out: Writable) => Promise<number>): Promise<Buffer> {
  const parts: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (c: Buffer) => parts.push(c));
  await write(out);
  out.end();
  return Buffer.concat(parts);
}

function expectColumns(got: unknown[][], want: DataFrame, what: string): void {
  NAMES.forEach((n, c) => {
    const exp = want.column(n).toArray().map(norm);
    const have = got[c]!.map(norm);
    expect(have.length, `${what}: ${n}`).toBe(exp.length);
    for (let r = 0; r < exp.length; r++)
      if (have[r] !== exp[r])
        expect(`${what}: ${n} row ${r}: ${String(have[r])}`, `seed ${SEED}`).toBe(
          `${what}: ${n} row ${r}: ${String(exp[r])}`,
        );
  });
}

/** What DuckDB reads from a Parquet file, in eau2's representation, with the types DuckDB gives the columns. */
async function duckRead(p: string): Promise<{ types: string[]; columns: unknown[][] }> {
  const types = (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${p}')`))
    .getRows()
    .map((r) => String(r[1]));
  const rows = (
    await con.runAndReadAll(
      `SELECT i, l::VARCHAR, x, y, s, b, date_diff('day', DATE '1970-01-01', "day"), epoch_us("at")::VARCHAR FROM read_parquet('${p}')`,
    )
  ).getRows();
  return { types, columns: NAMES.map((_, c) => rows.map((r) => r[c])) };
}

/** What Polars holds after reading, in eau2's representation (its casts to integer counts). */
function polarsRead(df: pl.DataFrame): { types: string[]; columns: unknown[][] } {
  const types = NAMES.map((n) => String(df.getColumn(n).dtype));
  const get = (n: string): pl.Series => df.getColumn(n);
  return {
    types,
    columns: [
      get('i').toArray(),
      get('l').cast(pl.Utf8).toArray(),
      get('x').toArray(),
      get('y').toArray(),
      get('s').toArray(),
      get('b').toArray(),
      get('day').cast(pl.Int32).toArray(),
      get('at').cast(pl.Int64).cast(pl.Utf8).toArray(),
    ] as unknown[][],
  };
}

const DUCK_TYPES = ['INTEGER', 'BIGINT', 'DOUBLE', 'DOUBLE', 'VARCHAR', 'BOOLEAN', 'DATE', 'TIMESTAMP WITH TIME ZONE'];
const POLARS_TYPES = ['Int32', 'Int64', 'Float64', 'Float64', 'String', 'Bool', 'Date', 'Datetime(us,UTC)'].map(
  (t) => `DataType(${t})`,
);

/**
 * DuckDB skips row groups by the file's min/max statistics: a filter on a constant, which it compares
 * with them, must count the rows the same filter counts over the rows read (an aggregate's FILTER
 * clause, which is not pushed into the scan). Constants are values of random rows, and NaN.
 */
async function expectStatisticsAgree(rng: Rng, p: string, rows: number): Promise<void> {
  if (rows === 0) return;
  const cols: [string, string][] = [
    ['i', 'INTEGER'],
    ['l', 'BIGINT'],
    ['x', 'DOUBLE'],
    ['y', 'DOUBLE'],
    ['s', 'VARCHAR'],
    ['"day"', 'DATE'],
    ['"at"', 'TIMESTAMPTZ'],
  ];
  const conds = ["x = 'NaN'::DOUBLE", "y = 'NaN'::DOUBLE", "y > '1e300'::DOUBLE", "y >= 'NaN'::DOUBLE"];
  for (let k = 0; k < 16; k++) {
    const [c, type] = rng.pick(cols);
    const [row] = (
      await con.runAndReadAll(
        `SELECT ${c}::VARCHAR FROM read_parquet('${p}') WHERE ${c} IS NOT NULL LIMIT 1 OFFSET ${rng.int(0, rows - 1)}`,
      )
    ).getRows();
    // DuckDB's SQL text cannot hold a NUL character.
    if (!row || String(row[0]).includes('\0')) continue;
    const literal = `'${String(row[0]).replaceAll("'", "''")}'::${type}`;
    conds.push(`${c} ${rng.pick(['>', '>=', '<', '<=', '='])} ${literal}`);
  }
  for (const cond of conds) {
    const [pushed] = (await con.runAndReadAll(`SELECT count(*) FROM read_parquet('${p}') WHERE ${cond}`)).getRows();
    const [read] = (
      await con.runAndReadAll(`SELECT count(*) FILTER (WHERE ${cond}) FROM read_parquet('${p}')`)
    ).getRows();
    expect(`${cond}: ${pushed![0]}`, `seed ${SEED}`).toBe(`${cond}: ${read![0]}`);
  }
}

/** The frame to export: in memory, or stored in chunks of `chunkRows` rows. */
async function source(df: DataFrame, chunkRows: number | undefined): Promise<DataFrame | LazyFrame> {
  if (chunkRows === undefined) return df;
  const store = new MemoryStore();
  await DataFrame.put(store, 'src', df, { chunkRows });
  return DataFrame.get(store, 'src');
}

describe('eau2 exports read by DuckDB and Polars', () => {
  // [rows, chunkRows]: no rows, one row, one chunk in memory, several stored chunks with a short last one.
  const shapes: [number, number | undefined][] = [
    [0, undefined],
    [0, 100],
    [1, undefined],
    [1, 100],
    [1000, undefined],
    [1000, 300],
  ];
  for (const [rows, chunkRows] of shapes) {
    const shape = `${rows} rows${chunkRows ? ` stored in chunks of ${chunkRows}` : ' in memory'}`;

    it(`Parquet, ${shape}: DuckDB and Polars read every value`, async () => {
      const rng = seeded(`Parquet ${shape}`);
      const df = frame(rng, rows);
      const p = join(dir, `out-${rows}-${chunkRows}.parquet`);
      await writeFile(p, await bytesOf(async (o) => exportParquet(await source(df, chunkRows), o)));
      const d = await duckRead(p);
      expect(d.types).toEqual(DUCK_TYPES);
      expectColumns(d.columns, df, `DuckDB ${shape}`);
      const q = polarsRead(pl.readParquet(p));
      expect(q.types).toEqual(POLARS_TYPES);
      expectColumns(q.columns, df, `Polars ${shape}`);
      await expectStatisticsAgree(rng, p, rows);
    });

    for (const stream of [false, true])
      it(`Arrow IPC ${stream ? 'stream' : 'file'}, ${shape}: Polars reads every value`, async () => {
        const rng = seeded(`Arrow ${stream ? 'stream' : 'file'} ${shape}`);
        const df = frame(rng, rows);
        const p = join(dir, `out-${rows}-${chunkRows}.${stream ? 'arrows' : 'arrow'}`);
        await writeFile(p, await bytesOf(async (o) => exportArrow(await source(df, chunkRows), o, { stream })));
        // nodejs-polars reads a path only when it ends in .ipc, and anything else as IPC bytes: read the bytes.
        const bytes = await readFile(p);
        const q = polarsRead(stream ? pl.readIPCStream(bytes) : pl.readIPC(bytes));
        expect(q.types).toEqual(POLARS_TYPES);
        expectColumns(q.columns, df, `Polars ${stream ? 'stream' : 'file'} ${shape}`);
      });
  }
});

describe('the CLI', () => {
  it('imports a Polars IPC file, and its Parquet and Arrow exports read back in DuckDB and Polars', async () => {
    const rng = seeded('CLI');
    const df = frame(rng, 500);
    const store = new MemoryStore();
    const program = new Command('eau2').exitOverride();
    registerDfCommands(
      program,
      async () => Object.assign(Object.create(store) as MemoryStore, { close: async () => {} }),
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
    const run = (...args: string[]) => program.parseAsync(['node', 'eau2', ...args]);
    // The frame goes out through Polars (an IPC file of Utf8View strings) and in through the CLI.
    await DataFrame.put(store, 'src', df, { chunkRows: 200 });
    const viaPolars = join(dir, 'cli-src.parquet');
    await writeFile(viaPolars, await bytesOf(async (o) => exportParquet(await DataFrame.get(store, 'src'), o)));
    const ipc = join(dir, 'cli-polars.arrow');
    pl.readParquet(viaPolars).writeIPC(ipc);
    await run('df', 'import', 'f', ipc);
    const pq = join(dir, 'cli.parquet');
    await run('df', 'export', 'f', '--format', 'parquet', '--out', pq);
    const d = await duckRead(pq);
    expect(d.types).toEqual(DUCK_TYPES);
    expectColumns(d.columns, df, 'CLI Parquet, DuckDB');
    expectColumns(polarsRead(pl.readParquet(pq)).columns, df, 'CLI Parquet, Polars');
    for (const [format, read] of [
      ['arrow', pl.readIPC],
      ['arrows', pl.readIPCStream],
    ] as const) {
      const out = join(dir, `cli.${format}`);
      await run('df', 'export', 'f', '--format', format, '--out', out);
      const q = polarsRead(read(await readFile(out)));
      expect(q.types).toEqual(POLARS_TYPES);
      expectColumns(q.columns, df, `CLI ${format}, Polars`);
    }
  });
});

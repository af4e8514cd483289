// Parquet files another engine wrote: DuckDB writes seeded random tables with every Parquet type
// eau2 maps (narrow and unsigned ints, int64, float, double, decimals of every width, strings with
// and without non-ASCII text, binary, UUIDs, dates, times, timestamps in ms/us/ns and with a time
// zone, booleans), nulls, several row groups and each codec; eau2 imports each file, and every cell
// is compared with what DuckDB itself reads from the same file, converted by DuckDB's SQL into
// eau2's representation (days, microseconds, decimals as doubles, UUIDs as text). The reference is
// computed by DuckDB, independently of the importer under test.

import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { Eau2Error } from '../../kv/index.js';
import { DataFrame, importParquet } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { seededRng } from './helpers.js';
import { duckFixture } from './duck-fixture.js';

let dir: string;
let con: DuckDBConnection;
duckFixture('eau2-pq-duck-', (d, c) => {
  dir = d;
  con = c;
});

/** Each column: DuckDB's expression for a row `i` (with random `r`), its type in eau2, and the
 *  expression turning the stored value back into eau2's representation. */
const COLUMNS: [name: string, make: string, type: string, asEau2: string][] = [
  ['i8', '(r % 256 - 128)::TINYINT', 'I', 'i8::INTEGER'],
  ['i16', '(r % 65536 - 32768)::SMALLINT', 'I', 'i16::INTEGER'],
  ['i32', '(r - 2147483648)::INTEGER', 'I', 'i32'],
  ['u8', '(r % 256)::UTINYINT', 'I', 'u8::INTEGER'],
  ['u16', '(r % 65536)::USMALLINT', 'I', 'u16::INTEGER'],
  ['u32', 'r::UINTEGER', 'L', 'u32::BIGINT::VARCHAR'],
  ['i64', '(r::HUGEINT * 2147483647 - 4611686018427387904)::BIGINT', 'L', 'i64::VARCHAR'],
  ['u64', '(r::UBIGINT * 2147483647)', 'L', 'u64::VARCHAR'],
  ['f32', '(r / 7.0)::FLOAT', 'D', 'f32::DOUBLE'],
  ['f64', '(r / 3.0 - 1e9)::DOUBLE', 'D', 'f64'],
  ['dec4', '((r % 19999) - 9999)::DECIMAL(4,0) / 10', 'D', 'dec4::DOUBLE'],
  ['dec9', '(((r % 1999999999) - 999999999) / 1000)::DECIMAL(9,3)', 'D', 'dec9::DOUBLE'],
  ['dec18', '((r::HUGEINT * 99991 - 99999999999999) / 100)::DECIMAL(18,2)', 'D', 'dec18::DOUBLE'],
  ['dec38', '((r::HUGEINT * 1000003 - 2147483648000000) / 100000)::DECIMAL(38,5)', 'D', 'dec38::DOUBLE'],
  ['ascii', "'city-' || (r % 300)::VARCHAR", 'S', 'ascii'],
  ['text', "CASE r % 3 WHEN 0 THEN 'é-' WHEN 1 THEN '日本-' ELSE 'x-' END || (r % 97)::VARCHAR", 'S', 'text'],
  ['bin', "('b' || (r % 50)::VARCHAR)::BLOB", 'S', 'decode(bin)'],
  ['id', 'md5(r::VARCHAR)::UUID', 'S', 'id::VARCHAR'],
  ['day', "DATE '1970-01-01' + ((r % 80000) - 40000)::INTEGER", 'd', "date_diff('day', DATE '1970-01-01', day)"],
  ['tod', "TIME '00:00:00' + INTERVAL (r % 86400000000) MICROSECOND", 'L', 'epoch_us(tod)::VARCHAR'],
  ['ts', "TIMESTAMP '2000-01-01' + INTERVAL (r * 1000003 - 500000000000000) MICROSECOND", 'T', 'epoch_us(ts)::VARCHAR'],
  ['ts_ms', 'epoch_ms(r::BIGINT * 1009 - 1000000000000)', 'T', '(epoch_ms(ts_ms)::HUGEINT * 1000)::VARCHAR'],
  ['ts_ns', 'make_timestamp_ns(r::BIGINT * 1000000007)', 'T', '(epoch_ns(ts_ns) // 1000)::VARCHAR'],
  ['ts_tz', "(TIMESTAMP '2020-06-01' + INTERVAL (r) SECOND)::TIMESTAMPTZ", 'T', 'epoch_us(ts_tz)::VARCHAR'],
  ['flag', 'r % 2 = 0', 'B', 'flag'],
];

/** A cell as compared: bigints and the VARCHAR forms of big numbers as decimal text. */
const norm = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

async function writeFile(name: string, rows: number, seed: number, codec: string): Promise<string> {
  const p = join(dir, `${name}.parquet`);
  const cols = COLUMNS.map(
    ([n, make], k) => `CASE WHEN hash(i, ${k}, ${seed}) % 10 = 0 THEN NULL ELSE ${make} END AS ${n}`,
  ).join(',\n');
  await con.run(
    `COPY (SELECT ${cols} FROM (SELECT i, (hash(i, ${seed}) % 4294967296)::BIGINT AS r FROM range(${rows}) t(i)) ORDER BY i)
     TO '${p}' (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 2048)`,
  );
  return p;
}

describe('Parquet files DuckDB wrote', () => {
  for (const codec of ['snappy', 'zstd', 'gzip', 'uncompressed']) {
    it(`every type, nulls, several row groups (${codec})`, async () => {
      const rng = seededRng();
      const seed = rng.int(1, 1_000_000);
      const rows = 5000;
      const p = await writeFile(`all-${codec}`, rows, seed, codec);
      const store = new MemoryStore();
      const res = await importParquet(store, 'f', p, { chunkRows: 3000 });
      expect(res.rows).toBe(rows);
      const df = await (await DataFrame.get(store, 'f')).load();
      expect(df.columnNames).toEqual(COLUMNS.map(([n]) => n));
      expect(df.schema).toBe(COLUMNS.map(([, , t]) => t).join(''));
      const ref = await con.runAndReadAll(`SELECT ${COLUMNS.map(([, , , e]) => e).join(', ')} FROM '${p}'`);
      const want = ref.getRows();
      expect(want.length).toBe(rows);
      COLUMNS.forEach(([n], c) => {
        const got = df.column(n).toArray().map(norm);
        const exp = want.map((r) => norm(r[c]));
        for (let i = 0; i < rows; i++)
          if (got[i] !== exp[i]) expect(`${n} row ${i}: ${got[i]}`, `seed ${seed}`).toBe(`${n} row ${i}: ${exp[i]}`);
      });
    });
  }

  it('refuses a uint64 above the int64 range, naming the file, column and row, and publishes nothing', async () => {
    const p = join(dir, 'u64.parquet');
    await con.run(`COPY (SELECT (CASE WHEN i = 70 THEN 18446744073709551615 ELSE i END)::UBIGINT AS u FROM range(100) t(i))
                   TO '${p}' (FORMAT parquet)`);
    const store = new MemoryStore();
    const err = await importParquet(store, 'u', p).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Error).message).toBe(
      `cannot import ${p}: column "u", row 71: 18446744073709551615 does not fit int64 (L)`,
    );
    await expect(DataFrame.get(store, 'u')).rejects.toThrow();
  });

  it('refuses a damaged row group with a clear error and publishes nothing', async () => {
    const p = await writeFile('damaged', 3000, 5, 'snappy');
    const { readFile, writeFile: write } = await import('node:fs/promises');
    const bytes = await readFile(p);
    // Damage the middle of the file (a data page), not the footer.
    for (let k = 0, at = Math.floor(bytes.length / 3); k < 64; k++) bytes[at + k] = bytes[at + k]! ^ 0xff;
    await write(p, bytes);
    const store = new MemoryStore();
    await expect(importParquet(store, 'd', p)).rejects.toThrow(
      /cannot read row group at row \d+ of .*damaged\.parquet/,
    );
    await expect(DataFrame.get(store, 'd')).rejects.toThrow();
  });
});

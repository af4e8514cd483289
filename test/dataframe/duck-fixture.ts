// A DuckDB connection and a temporary directory for the tests of one file that compare eau2 with
// DuckDB: opened before the file's tests, closed and removed after them.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll } from 'vitest';
import type { DataFrame, Value } from '../../dataframe/index.js';

/**
 * Registers the file's hooks; `use` receives the directory and the connection once they are open.
 * `utc` sets DuckDB's TimeZone to UTC (TIMESTAMPTZ then reads a zone's offset as eau2 does, and a
 * value without one as UTC).
 */
export function duckFixture(
  prefix: string,
  use: (dir: string, con: DuckDBConnection) => void,
  opts: { utc?: boolean } = {},
): void {
  let dir: string | undefined;
  let duck: DuckDBInstance | undefined;
  let con: DuckDBConnection | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    duck = await DuckDBInstance.create(':memory:');
    con = await duck.connect();
    if (opts.utc) await con.run("SET TimeZone = 'UTC'");
    use(dir, con);
  });
  afterAll(async () => {
    con?.closeSync();
    duck?.closeSync();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
}

const DUCK_TYPES: Record<string, string> = { I: 'INTEGER', D: 'DOUBLE', S: 'VARCHAR', B: 'BOOLEAN', L: 'BIGINT' };

/** A value as a DuckDB literal: -0, NaN and the infinities as typed doubles (String() loses -0's sign). */
const duckValue = (v: Value): string =>
  v === null
    ? 'NULL'
    : typeof v === 'string'
      ? `'${v.replace(/'/g, "''")}'`
      : typeof v === 'number' && (Object.is(v, -0) || !Number.isFinite(v))
        ? `'${Object.is(v, -0) ? '-0.0' : String(v)}'::DOUBLE`
        : String(v);

/** Creates (or replaces) DuckDB table `name` holding `df`'s rows (int32, double, string, bool, int64 columns). */
export async function duckLoad(con: DuckDBConnection, name: string, df: DataFrame): Promise<void> {
  const cols = df.fields.map((f) => {
    const t = DUCK_TYPES[f.type];
    if (!t) throw new TypeError(`duckLoad takes I, D, S, B and L columns, not ${f.type}`);
    return `${f.name} ${t}`;
  });
  await con.run(`CREATE OR REPLACE TABLE ${name} (${cols.join(', ')})`);
  if (df.nrows > 0)
    await con.run(
      `INSERT INTO ${name} VALUES ${[...df.rows()].map((r) => `(${r.map(duckValue).join(', ')})`).join(',')}`,
    );
}

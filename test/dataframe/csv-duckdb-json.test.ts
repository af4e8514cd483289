// NDJSON and JSON-array import against DuckDB's read_json, differentially: seeded random files of
// int32 and int64 edges, doubles in JSON's spellings (exponents, many digits, -0.0), booleans,
// strings with escapes and non-ASCII text, ISO dates and timestamps as strings (zones, fractions),
// nulls and missing keys, CRLF lines, blank lines and a UTF-8 byte-order mark. eau2 imports each
// file; DuckDB reads it with the column types eau2 inferred; every cell is compared exactly (int64
// and timestamps (µs) as bigints, dates as days, doubles bit for bit). Each column is generated
// for one type, so inference is checked too. Then the defects this comparison found, one test each.
//
// Not generated, because eau2 and DuckDB differ there by a documented choice (docs/dataframe.md
// "JSON and NDJSON"): nested objects and arrays (eau2 keeps their JSON text), an integral double
// such as 2.0 among integers (JSON.parse gives eau2 the number 2, an int), strings that are numbers
// (eau2 keeps them S; DuckDB would cast them), and the timestamp and date shapes the CSV test leaves out.
// A failure prints the seed: EAU2_TEST_SEED=<seed> EAU2_TEST_FILE=<n> replays one file.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, importJson } from '../../dataframe/index.js';
import type { ColumnType } from '../../dataframe/schema.js';
import { Eau2Error } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture } from './duck-fixture.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
const ONLY = process.env.EAU2_TEST_FILE === undefined ? undefined : Number(process.env.EAU2_TEST_FILE);
const FILES = Number(process.env.EAU2_TEST_FILES ?? 40);

let dir: string;
let con: DuckDBConnection;
duckFixture(
  'eau2-json-duck-',
  (d, c) => {
    dir = d;
    con = c;
  },
  { utc: true },
);

const pad = (n: number, w: number): string => String(n).padStart(w, '0');
const digits = (rng: Rng, n: number): string => {
  let s = String(rng.int(1, 9));
  for (let i = 1; i < n; i++) s += String(rng.int(0, 9));
  return s;
};

const int32 = (rng: Rng): string =>
  rng.bool(0.2)
    ? rng.pick(['0', '1', '-1', '2147483647', '-2147483648'])
    : `${rng.bool() ? '-' : ''}${rng.int(0, 2147483647)}`;
const int64 = (rng: Rng): string =>
  rng.bool(0.3)
    ? rng.pick([
        '2147483648',
        '-2147483649',
        '9007199254740993',
        '-9007199254740993',
        '9223372036854775807',
        '-9223372036854775808',
      ])
    : `${rng.bool() ? '-' : ''}${(BigInt(digits(rng, rng.int(10, 19))) % (2n ** 63n - 2147483648n)) + 2147483648n}`;
function double(rng: Rng): string {
  const x = (rng.next() - 0.5) * 10 ** rng.int(-30, 30);
  switch (rng.int(0, 5)) {
    case 0:
      return /[.e]/.test(String(x)) ? String(x) : `${x}.5`;
    case 1:
      return x.toExponential(rng.int(1, 16)).replace('e+', rng.pick(['e+', 'E', 'e']));
    case 2:
      return `${rng.bool() ? '-' : ''}${rng.int(0, 9)}.${digits(rng, rng.int(17, 40))}`;
    case 3:
      return rng.pick([
        '-0.0',
        '0.5',
        '1.7976931348623157e308',
        '5e-324',
        '2.2250738585072011e-308',
        '0.30000000000000004',
      ]);
    default:
      return `${rng.bool() ? '-' : ''}${rng.int(0, 99999)}.${digits(rng, rng.int(1, 8))}`;
  }
}
function date(rng: Rng): string {
  const y = rng.bool(0.7) ? rng.int(1900, 2100) : rng.int(0, 9999);
  const m = rng.int(1, 12);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(rng.int(1, 28), 2)}`;
}
function timestamp(rng: Rng): string {
  let t = `${date(rng)}${rng.pick(['T', ' '])}${pad(rng.int(0, 23), 2)}:${pad(rng.int(0, 59), 2)}:${pad(rng.int(0, 59), 2)}`;
  if (rng.bool()) t += `.${pad(rng.int(0, 999999), rng.pick([3, 6]))}`.slice(0, rng.int(2, 7));
  return (
    t + rng.pick(['', 'Z', `+${pad(rng.int(0, 14), 2)}:${rng.pick(['00', '30'])}`, `-${pad(rng.int(0, 12), 2)}00`])
  );
}
const text = (rng: Rng): string =>
  rng.pick([
    rng.word(rng.int(1, 8)),
    'line\nbreak',
    'tab\there',
    'quote " and \\ backslash',
    'é 日本語 👍🏽',
    '',
    '007',
    '2024-02-30',
    'true',
    'x'.repeat(rng.int(1, 5000)),
  ]);

/** A column generator: its JSON value text and the type eau2 must infer. */
const GENS: Record<string, [ColumnType, (rng: Rng) => string, string[]]> = {
  i: ['I', int32, []],
  l: ['L', (rng) => (rng.bool(0.3) ? int32(rng) : int64(rng)), ['9223372036854775807']],
  d: ['D', (rng) => (rng.bool(0.8) ? double(rng) : int32(rng)), ['0.5']],
  b: ['B', (rng) => rng.pick(['true', 'false']), []],
  s: ['S', (rng) => JSON.stringify(text(rng)), ['"word"']],
  dt: ['d', (rng) => JSON.stringify(date(rng)), []],
  ts: ['T', (rng) => JSON.stringify(timestamp(rng)), []],
  dts: [
    'T',
    (rng) => JSON.stringify(rng.bool() ? date(rng) : timestamp(rng)),
    ['"2024-01-01"', '"2024-01-01T10:00:00Z"'],
  ],
};

const DUCK_TYPE: Record<ColumnType, string> = {
  I: 'INTEGER',
  L: 'BIGINT',
  D: 'DOUBLE',
  B: 'BOOLEAN',
  S: 'VARCHAR',
  T: 'TIMESTAMPTZ',
  d: 'DATE',
};
const duckCell = (t: ColumnType, c: string): string =>
  t === 'T' ? `epoch_us(${c})` : t === 'd' ? `(${c} - DATE '1970-01-01')::INTEGER` : c;
const sqlText = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const show = (v: unknown): string =>
  typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : (JSON.stringify(v)?.slice(0, 80) ?? String(v));

describe('JSON import against DuckDB', () => {
  it(`reads ${FILES} random NDJSON and JSON files as DuckDB does`, async () => {
    onTestFailed(() => console.error(`[csv-duckdb-json] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const failures: string[] = [];
    for (let f = 0; f < FILES; f++) {
      if (ONLY !== undefined && f !== ONLY) continue;
      const rng = new Rng((SEED ^ Math.imul(f + 1, 0x9e3779b1)) >>> 0);
      const fail = (what: string): void => {
        failures.push(`seed ${SEED} file ${f} (EAU2_TEST_SEED=${SEED} EAU2_TEST_FILE=${f}): ${what}`);
      };
      const names = Array.from({ length: rng.int(1, 6) }, (_, i) => `${rng.pick(Object.keys(GENS))}_${i}`);
      const gens = names.map((n) => GENS[n.slice(0, n.lastIndexOf('_'))]!);
      const rows = rng.int(2, 300);
      const cells: (string | undefined)[][] = gens.map(([, gen, forced]) => {
        const col = Array.from({ length: rows }, () =>
          rng.bool(0.1) ? 'null' : rng.bool(0.05) ? undefined : gen(rng),
        );
        const at = Array.from({ length: rows }, (_, r) => r).sort(() => rng.next() - 0.5);
        forced.forEach((v, k) => {
          col[at[k]!] = v;
        });
        return col;
      });
      const wants = gens.map(([t], c) => (cells[c]!.every((v) => v === undefined || v === 'null') ? 'S' : t));
      // eau2's columns are the keys it saw: one missing or null in every record is S only if seen.
      const seen = names.map((_, c) => cells[c]!.some((v) => v !== undefined));
      if (!seen.some((s) => s)) continue;
      const nd = rng.bool(0.7);
      const objs = Array.from({ length: rows }, (_, r) => {
        const fields = names.flatMap((n, c) =>
          cells[c]![r] === undefined ? [] : [`${JSON.stringify(n)}:${rng.pick(['', ' '])}${cells[c]![r]}`],
        );
        return `{${fields.join(',')}}`;
      });
      const eol = rng.pick(['\n', '\r\n']);
      const body = nd
        ? objs.map((o) => (rng.bool(0.03) ? `${eol}${o}` : o)).join(eol) + (rng.bool() ? eol : '')
        : `[${objs.join(`,${eol}`)}]`;
      const path = join(dir, `f${f}.${nd ? 'ndjson' : 'json'}`);
      await writeFile(path, (rng.bool(0.25) ? '\ufeff' : '') + body);
      // DuckDB refuses a byte-order mark in JSON ("not supported"): it reads the file without one.
      const duckPath = join(dir, `f${f}-duck.${nd ? 'ndjson' : 'json'}`);
      await writeFile(duckPath, body);

      const store = new MemoryStore();
      try {
        await importJson(store, 'f', path);
      } catch (e) {
        fail(`eau2 refused the file: ${(e as Error).message.slice(0, 300)}`);
        continue;
      }
      const df = await (await DataFrame.get(store, 'f')).load();
      const cols = names.filter((_, c) => seen[c]);
      const types = [...df.schema] as ColumnType[];
      const want = wants.filter((_, c) => seen[c]).join('');
      if (df.columnNames.join(',') !== cols.join(',') || types.join('') !== want) {
        // Keys appear in order of first appearance: compare as sets, types by name.
        const byName = new Map(df.columnNames.map((n, i) => [n, types[i]]));
        const wrong = cols.filter((n, i) => byName.get(n) !== want[i]);
        if (wrong.length > 0 || byName.size !== cols.length)
          fail(`columns ${df.columnNames.join(',')} types ${types.join('')}, want ${cols.join(',')} ${want}`);
      }
      const spec = df.columnNames.map((n, i) => `${sqlText(n)}: ${sqlText(DUCK_TYPE[types[i]!])}`).join(', ');
      const select = df.columnNames.map((n, i) => duckCell(types[i]!, `"${n}"`)).join(', ');
      let ref: unknown[][];
      try {
        ref = (
          await con.runAndReadAll(
            `SELECT ${select} FROM read_json(${sqlText(duckPath)}, format = '${nd ? 'newline_delimited' : 'array'}', columns = {${spec}})`,
          )
        ).getRows();
      } catch (e) {
        fail(`DuckDB cannot read it as ${types.join('')}: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      if (ref.length !== df.nrows || df.nrows !== rows) {
        fail(`eau2 has ${df.nrows} rows, DuckDB ${ref.length}, the file ${rows}`);
        continue;
      }
      let bad = 0;
      df.columnNames.forEach((n, k) => {
        const got = df.column(n).toArray();
        const t = types[k]!;
        for (let r = 0; r < rows && bad < 5; r++) {
          const w = ref[r]![k];
          const ok =
            t === 'D' ? Object.is(got[r], w) : t === 'd' && typeof w === 'bigint' ? got[r] === Number(w) : got[r] === w;
          if (!ok) {
            bad++;
            fail(`row ${r + 1}, column ${n} (${t}): eau2 ${show(got[r])}, DuckDB ${show(w)}`);
          }
        }
      });
    }
    if (failures.length > 0) expect.fail(`${failures.length} differences:\n${failures.slice(0, 30).join('\n')}`);
  });
});

describe('JSON import keeps what it reads', () => {
  const load = async (name: string, body: string, opts: { sampleRows?: number } = {}) => {
    const path = join(dir, name);
    await writeFile(path, body);
    const store = new MemoryStore();
    await importJson(store, 'f', path, opts);
    return (await DataFrame.get(store, 'f')).load();
  };

  it('reads a file that starts with a UTF-8 byte-order mark', async () => {
    const nd = await load('bom.ndjson', '\ufeff{"a":1,"b":"x"}\n{"a":2,"b":"y"}\n');
    expect(nd.columnNames).toEqual(['a', 'b']);
    expect(nd.column('a').toArray()).toEqual([1, 2]);
    const arr = await load('bom.json', '\ufeff[{"a":1},{"a":2}]');
    expect(arr.column('a').toArray()).toEqual([1, 2]);
    // A BOM alone on the first line is a blank line.
    expect((await load('bom-blank.ndjson', '\ufeff\n{"a":3}\n')).column('a').toArray()).toEqual([3]);
  });

  it('keeps as text a number float64 would turn into Infinity or 0', async () => {
    const nd = await load('far.ndjson', '{"a":1.5,"b":2}\n{"a":1e400,"b":-1E-400}\n{"a":-2.5e+999,"b":0.0e-500}\n');
    expect(nd.schema).toBe('SS');
    expect(nd.column('a').toArray()).toEqual(['1.5', '1e400', '-2.5e+999']);
    expect(nd.column('b').toArray()).toEqual(['2', '-1E-400', '0']);
    const arr = await load('far.json', '[{"a":1.5,"s":"1e400"},{"a":1e309,"s":"x"}]');
    expect(arr.schema).toBe('SS');
    expect(arr.column('a').toArray()).toEqual(['1.5', '1e309']);
    // Numbers float64 holds are untouched, strings too, and a number where a key belongs stays an error.
    expect((await load('near.ndjson', '{"a":1e308,"b":"1e400","c":5e-324}\n')).column('a').toArray()).toEqual([1e308]);
    await expect(load('key.ndjson', '{1e400:1}\n')).rejects.toThrow(/line 1 .* is not JSON/);
  });

  it('keeps the sign of -0.0: a column with it is float64', async () => {
    const df = await load('negz.ndjson', '{"a":-0.0}\n{"a":1}\n');
    expect(df.schema).toBe('D');
    expect(Object.is(df.column('a').toArray()[0], -0)).toBe(true);
  });

  it('refuses a later value that does not fit the sampled type, naming its line and field', async () => {
    const cases: [string, RegExp][] = [
      ['{"a":1}\n\n{"a":2.5}\n', /line 3, field "a": 2\.5 is not an int32/],
      ['{"a":1}\n{"a":3000000000}\n', /line 2, field "a": 3000000000 is not an int32/],
      ['{"a":"2024-01-01"}\n{"a":""}\n', /line 2, field "a": "" is not a date/],
      ['{"a":9007199254740993}\n{"a":1.5}\n', /line 2, field "a": 1\.5 is not an int64/],
    ];
    for (const [body, err] of cases) {
      const store = new MemoryStore();
      const path = join(dir, 'late.ndjson');
      await writeFile(path, body);
      const e = await importJson(store, 'f', path, { sampleRows: 1 }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(Eau2Error);
      expect((e as Error).message).toMatch(err);
      await expect(DataFrame.get(store, 'f')).rejects.toThrow();
    }
  });
});

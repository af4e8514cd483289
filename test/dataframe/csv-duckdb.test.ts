// The CSV importer against DuckDB's read_csv, differentially: seeded random files of the shapes
// analysts meet (a header or none, a UTF-8 BOM, LF / CRLF / CR records, `,` `;` `|` or tab, quoted
// fields holding delimiters, quotes and line breaks, empty fields, quoted empty fields and null
// markers, int32 and int64 edges and integers beyond int64, doubles in every spelling, ISO dates and
// timestamps with and without fractions and zones, booleans, text that looks like numbers, very long
// fields). eau2 imports each file into a MemoryStore three ways (types inferred; a schema of letters
// giving every column, some widened; name:type pairs giving some) and DuckDB reads the same file
// with explicit column types equal to the ones eau2 used; every cell is compared exactly (int64 and
// timestamps (µs) as bigints, dates as days, doubles bit for bit with NaN equal to NaN and -0 apart
// from 0). Every column is generated for one intended type, so inference is checked too: all-int64
// columns are L, never D; dates with timestamps are T; a column whose first rows are null still gets
// its values' type.
//
// Not generated, because eau2 and DuckDB differ there by a documented choice (docs/dataframe.md
// "CSV"):
// - more than six fraction digits that are not zero: eau2 keeps such text as S, DuckDB truncates;
// - `inf`, `nan`, `infinity` in other cases: eau2 reads only NaN / Infinity / ±Infinity as D;
// - numbers with spaces around them, or with a leading zero: eau2 keeps them as text;
// - a one-column file with a null: its record is a blank line, which eau2 skips;
// - a quote inside an unquoted field, or spaces after a closing quote (DuckDB's strict mode refuses them);
// - years outside 0000-9999 (DuckDB reads neither `+012345` nor `-0001` the same way), a `,` before
//   the fraction or a lower-case `z` (DuckDB refuses them), `HH:MM` with a zone but no seconds
//   (DuckDB refuses it).
// A failure prints the seed and the file's number: EAU2_TEST_SEED=<seed> EAU2_TEST_FILE=<n> replays
// that one file.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, importCsv, type CsvImportOptions } from '../../dataframe/index.js';
import type { ColumnType } from '../../dataframe/schema.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture } from './duck-fixture.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
const ONLY = process.env.EAU2_TEST_FILE === undefined ? undefined : Number(process.env.EAU2_TEST_FILE);
const FILES = Number(process.env.EAU2_TEST_FILES ?? 60);

let dir: string;
let con: DuckDBConnection;
duckFixture(
  'eau2-csv-duck-',
  (d, c) => {
    dir = d;
    con = c;
  },
  { utc: true },
);

const INT32_MAX = 2147483647;
const INT64_MAX = 2n ** 63n - 1n;

const sign = (rng: Rng): string => rng.pick(['', '', '', '-', '+']);
const digits = (rng: Rng, n: number): string => {
  let s = String(rng.int(1, 9));
  for (let i = 1; i < n; i++) s += String(rng.int(0, 9));
  return s;
};
const int32Text = (rng: Rng): string =>
  rng.bool(0.2)
    ? rng.pick([
        '0',
        '-0',
        '+0',
        '1',
        '-1',
        '+7',
        '2147483647',
        '-2147483648',
        '+2147483647',
        '2147483646',
        '-2147483647',
      ])
    : `${sign(rng)}${rng.int(0, INT32_MAX)}`;
/** An integer beyond int32 that int64 holds: edges around 2^31, 2^53 and 2^63, and random ones. */
const int64Text = (rng: Rng): string => {
  if (rng.bool(0.3))
    return rng.pick([
      '2147483648',
      '-2147483649',
      '+2147483648',
      '9007199254740991',
      '9007199254740992',
      '9007199254740993',
      '-9007199254740993',
      '9223372036854775807',
      '-9223372036854775808',
      '+9223372036854775807',
      '9223372036854775806',
      '-9223372036854775807',
    ]);
  let v = BigInt(digits(rng, rng.int(10, 19)));
  if (v > INT64_MAX) v = v % INT64_MAX;
  if (v <= 2147483647n) v += 2147483648n;
  return `${rng.bool() ? '-' : rng.bool(0.1) ? '+' : ''}${v}`;
};
/** An integer float64 holds exactly, beyond int32. */
const safeIntText = (rng: Rng): string => `${rng.bool() ? '-' : ''}${rng.int(2 ** 31, 2 ** 53 - 1)}`;
const beyondInt64Text = (rng: Rng): string =>
  rng.pick(['9223372036854775808', '-9223372036854775809', '18446744073709551616', `${digits(rng, rng.int(20, 40))}`]);

/** A double's text in one of the spellings the importer reads as D (never an integer's). */
function doubleText(rng: Rng): string {
  const x = (rng.next() - 0.5) * 10 ** rng.int(-30, 30);
  switch (rng.int(0, 12)) {
    case 0:
      return String(x).includes('.') || String(x).includes('e') ? String(x) : `${x}.0`;
    case 1:
      return x.toExponential(rng.int(0, 16));
    case 2:
      return x.toExponential(rng.int(0, 16)).toUpperCase();
    case 3:
      return (x / 10 ** 20).toFixed(rng.int(1, 20));
    case 4:
      return x.toPrecision(rng.int(1, 21)).replace(/^(-?\d+)$/, '$1.');
    case 5:
      return rng.pick([
        '.5',
        '5.',
        '-0.0',
        '+.5',
        '-.5e-3',
        '1e5',
        '1E5',
        '1e+05',
        '1E-05',
        '+1.5',
        '-0.',
        '0e0',
        '-0e5',
      ]);
    case 6:
      return rng.pick(['NaN', 'Infinity', '-Infinity', '+Infinity']);
    case 7:
      // More digits than a double holds: both must round the decimal the same way.
      return `${sign(rng)}${rng.int(0, 9)}.${digits(rng, rng.int(17, 60))}`;
    case 8:
      return rng.pick([
        '1.7976931348623157e308',
        '-1.7976931348623157E+308',
        '2.2250738585072014e-308',
        '2.2250738585072011e-308',
        '4.9406564584124654e-324',
        '5e-324',
        '0.1000000000000000055511151231257827021181583404541015625',
        '9007199254740993.0',
        '9007199254740992.5',
        '0.30000000000000004',
        '123456789012345678901234567890.5',
      ]);
    case 9:
      return `${sign(rng)}${rng.int(0, 99999)}.${digits(rng, rng.int(1, 8))}`;
    case 10:
      return `${sign(rng)}.${digits(rng, rng.int(1, 12))}e${sign(rng)}${rng.int(0, 300)}`;
    case 11:
      return `${sign(rng)}${rng.int(1, 999)}.e${rng.pick(['', '+', '-'])}${rng.int(0, 30)}`;
    default:
      return `${sign(rng)}${digits(rng, rng.int(1, 15))}e${rng.pick(['', '+', '-'])}${rng.int(0, 200)}`;
  }
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');
function dateText(rng: Rng): string {
  const y = rng.bool(0.7) ? rng.int(1900, 2100) : rng.int(0, 9999);
  const m = rng.int(1, 12);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const dim = m === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(rng.bool(0.1) ? dim : rng.int(1, dim), 2)}`;
}
function timestampText(rng: Rng): string {
  const date = dateText(rng);
  const sep = rng.bool() ? 'T' : ' ';
  const hm = `${pad(rng.int(0, 23), 2)}:${pad(rng.int(0, 59), 2)}`;
  // DuckDB refuses `HH:MM` followed by a zone: minutes-only times come without one.
  if (rng.bool(0.1)) return `${date}${sep}${hm}`;
  let t = `${date}${sep}${hm}:${pad(rng.int(0, 59), 2)}`;
  const f = rng.int(0, 4);
  if (f === 1) t += `.${digits(rng, rng.int(1, 6)).replace(/^./, String(rng.int(0, 9)))}`;
  else if (f === 2) t += `.${pad(rng.int(0, 999999), 6)}`;
  else if (f === 3) t += `.${pad(rng.int(0, 999999), 6)}${'0'.repeat(rng.int(1, 3))}`;
  const oh = pad(rng.int(0, 14), 2);
  const om = rng.pick(['00', '30', '45', pad(rng.int(0, 59), 2)]);
  switch (rng.int(0, 5)) {
    case 0:
      return t;
    case 1:
      return `${t}Z`;
    case 2:
      return `${t}${rng.pick(['+', '-'])}${oh}:${om}`;
    case 3:
      return `${t}${rng.pick(['+', '-'])}${oh}${om}`;
    case 4:
      return `${t}${rng.pick(['+', '-'])}${oh}`;
    default:
      return `${t}-00:00`;
  }
}
const boolText = (rng: Rng): string => rng.pick(['true', 'false', 'TRUE', 'False', 'tRuE', 'FALSE']);

/** Text that only a string column holds, much of it shaped like other types. */
function textText(rng: Rng, delimiter: string): string {
  switch (rng.int(0, 9)) {
    case 0:
      return rng.word(rng.int(1, 8));
    case 1:
      return rng.pick([
        '007',
        '0123',
        '-012',
        '00.5',
        '1,000',
        '0x1F',
        ' 5',
        '5 ',
        '1e400',
        '-1e400',
        '1e-400',
        'inf',
        '-inf',
        'nan',
        'infinity',
        'NA',
        'null',
        'N/A',
        '1_000',
        '1.2.3',
        '--5',
        '+-5',
        '5e',
        'e5',
        '.',
        '-',
        '+',
        'yes',
        'no',
        't',
        'f',
        '2024-02-30',
        '2023-02-29',
        '2024-13-01',
        '2024-1-5',
        '24:00:00',
        '2024-01-01T24:00:00',
        '2024-01-01T10:00:00.1234567Z',
        '2024-01-01T10:00:60',
        '10000-01-01',
        '+2024-01-01',
        '2024-01-01T10:00:00+25:00',
      ]);
    case 2:
      return `${rng.word(2)}${delimiter}${rng.word(3)}`;
    case 3:
      return `say "${rng.word(3)}"${rng.bool() ? '' : '"'}`;
    case 4:
      return `${rng.word(3)}${rng.pick(['\n', '\r\n', '\r'])}${rng.word(2)}${rng.bool() ? '\n' : ''}`;
    case 5:
      return rng.pick(['é', 'naïve café', '日本語', '👍🏽 ok', 'Ελληνικά', '\u00a0nbsp', 'tab\there', 'a;b|c']);
    case 6:
      return `  ${rng.word(3)}  `;
    case 7:
      // A very long field (DuckDB's default line limit is 2 MB): quotes, delimiters, breaks inside.
      return rng.bool(0.3)
        ? `${'long "field", '.repeat(rng.int(1000, 20000))}\n${rng.word(5)}`
        : rng.word(rng.int(20, 200));
    case 8:
      return `${rng.int(0, 9)}${rng.word(1)}`;
    default:
      return `"${rng.word(2)}"`;
  }
}

interface ColGen {
  /** The type eau2 must infer for the column. */
  want: ColumnType;
  /** Values that must appear once (making the column its type); the rest come from `cell`. */
  forced: (rng: Rng) => string[];
  cell: (rng: Rng, delimiter: string) => string;
  /** Rows at the start that are null. */
  leadNulls?: boolean;
}

const GENS: Record<string, ColGen> = {
  int32: { want: 'I', forced: () => [], cell: int32Text },
  int64: {
    want: 'L',
    forced: (rng) => [int64Text(rng)],
    cell: (rng) => (rng.bool(0.3) ? int32Text(rng) : int64Text(rng)),
  },
  safeint64: {
    want: 'L',
    forced: (rng) => [safeIntText(rng)],
    cell: (rng) => (rng.bool() ? int32Text(rng) : safeIntText(rng)),
  },
  beyond64: {
    want: 'S',
    forced: (rng) => [beyondInt64Text(rng)],
    cell: (rng) => (rng.bool(0.3) ? beyondInt64Text(rng) : rng.bool() ? int64Text(rng) : int32Text(rng)),
  },
  double: {
    want: 'D',
    forced: (rng) => [doubleText(rng)],
    cell: (rng) => (rng.bool(0.8) ? doubleText(rng) : rng.bool() ? int32Text(rng) : safeIntText(rng)),
  },
  doubleint64: {
    // Decimals with an integer float64 cannot hold: no type keeps both, so the text is kept.
    want: 'S',
    forced: () => ['0.5', '9007199254740993'],
    cell: (rng) => (rng.bool() ? doubleText(rng) : int64Text(rng)),
  },
  bool: { want: 'B', forced: () => [], cell: boolText },
  date: { want: 'd', forced: () => [], cell: dateText },
  ts: { want: 'T', forced: () => [], cell: timestampText },
  datets: {
    want: 'T',
    forced: (rng) => [dateText(rng), timestampText(rng)],
    cell: (rng) => (rng.bool() ? dateText(rng) : timestampText(rng)),
  },
  lateint: { want: 'I', forced: () => [], cell: int32Text, leadNulls: true },
  latedbl: { want: 'D', forced: (rng) => [doubleText(rng)], cell: doubleText, leadNulls: true },
  latets: { want: 'T', forced: () => [], cell: timestampText, leadNulls: true },
  text: { want: 'S', forced: (rng) => [rng.word(4)], cell: textText },
  mixed: {
    want: 'S',
    forced: () => ['true', '1'],
    cell: (rng) => rng.pick([int32Text, doubleText, boolText, dateText])(rng),
  },
  numdate: { want: 'S', forced: () => ['1', '2024-01-01'], cell: (rng) => rng.pick([int32Text, dateText])(rng) },
  allnull: { want: 'S', forced: () => [], cell: () => '' },
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
/** DuckDB's expression giving a column in eau2's representation. */
const duckCell = (t: ColumnType, c: string): string =>
  t === 'T' ? `epoch_us(${c})` : t === 'd' ? `(${c} - DATE '1970-01-01')::INTEGER` : c;

/** Types a schema may give a column of this inferred type without refusing any of its values. */
const WIDER: Record<ColumnType, ColumnType[]> = {
  I: ['I', 'L', 'D', 'S'],
  L: ['L', 'S'],
  D: ['D', 'S'],
  B: ['B', 'S'],
  S: ['S'],
  T: ['T', 'S'],
  d: ['d', 'T', 'S'],
};

interface CsvCase {
  text: string;
  names: string[];
  wants: ColumnType[];
  header: boolean;
  delimiter: string;
  newline: string;
  nulls: string[];
  rows: number;
}

function quote(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

function randomCsv(rng: Rng): CsvCase {
  const delimiter = rng.pick([',', ',', ',', '\t', ';', '|']);
  const newline = rng.pick(['\n', '\n', '\r\n', '\r\n', '\r']);
  const header = rng.bool(0.85);
  const nulls = rng.bool(0.5) ? [] : ['NA', 'null', 'n/a', '\\N'].filter(() => rng.bool(0.6));
  const kinds = Object.keys(GENS);
  const width = rng.int(2, 8);
  const names: string[] = [];
  for (let i = 0; i < width; i++) {
    const k = rng.pick(kinds);
    names.push(`${k}_${i}`);
  }
  const gens = names.map((n) => GENS[n.slice(0, n.lastIndexOf('_'))]!);
  const rows = rng.int(2, rng.bool(0.2) ? 1500 : 120); // 2: room for two forced values
  const pNull = rng.pick([0, 0.05, 0.3]);
  // Column c's values: its forced values at random rows, its lead nulls, the rest random.
  const cols = gens.map((g) => {
    const forced = g.forced(rng);
    const lead = g.leadNulls ? rng.int(0, rows - forced.length) : 0;
    const vals: (string | null)[] = [];
    for (let r = 0; r < rows; r++) {
      if (r < lead || rng.bool(pNull)) vals.push(null);
      else vals.push(g.cell(rng, delimiter));
    }
    // Each forced value at its own row after the lead nulls.
    const at = Array.from({ length: rows - lead }, (_, k) => lead + k).sort(() => rng.next() - 0.5);
    forced.forEach((f, k) => {
      vals[at[k]!] = f;
    });
    return vals;
  });
  // With no value at all, a column is S whatever it was meant to be.
  const wants = gens.map((g, c) => (cols[c]!.every((v) => v === null || v === '') ? 'S' : g.want));
  const field = (s: string): string => {
    const must = s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r');
    return must || rng.bool(0.08) ? quote(s) : s;
  };
  const nullField = (): string =>
    nulls.length > 0 && rng.bool(0.6) ? field(rng.pick(nulls)) : rng.pick(['', '', '""']);
  const lines: string[] = [];
  if (header) lines.push(names.map((n) => (rng.bool(0.1) ? quote(n) : n)).join(delimiter));
  for (let r = 0; r < rows; r++) {
    // Blank lines are skipped by both readers (in a file of more than one column).
    if (lines.length > 0 && rng.bool(0.02)) lines.push('');
    lines.push(
      cols.map((vals) => (vals[r] === null || vals[r] === '' ? nullField() : field(vals[r]!))).join(delimiter),
    );
  }
  const bom = rng.bool(0.25) ? '\ufeff' : '';
  const text = bom + lines.join(newline) + (rng.bool(0.7) ? newline : '');
  return { text, names, wants, header, delimiter, newline, nulls, rows };
}

const sqlText = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** DuckDB's reading of the file with the given types, as rows of eau2 values. */
async function duckRead(path: string, c: CsvCase, types: ColumnType[]): Promise<unknown[][]> {
  const cols = c.names.map((n, i) => `${sqlText(n)}: ${sqlText(DUCK_TYPE[types[i]!])}`).join(', ');
  const nullstr = ['', ...c.nulls].map(sqlText).join(', ');
  const select = c.names.map((n, i) => duckCell(types[i]!, `"${n}"`)).join(', ');
  const sql =
    `SELECT ${select} FROM read_csv(${sqlText(path)}, header = ${c.header}, auto_detect = false, ` +
    `delim = ${sqlText(c.delimiter)}, new_line = ${sqlText(JSON.stringify(c.newline).slice(1, -1))}, quote = '"', escape = '"', parallel = false, ` +
    `nullstr = [${nullstr}], columns = {${cols}})`;
  return (await con.runAndReadAll(sql)).getRows();
}

/** Whether eau2's cell equals DuckDB's: doubles bit for bit (NaN equal to NaN, -0 apart from 0). */
function same(t: ColumnType, got: unknown, want: unknown): boolean {
  if (t === 'D') return Object.is(got, want);
  if (t === 'd' && typeof want === 'bigint') return got === Number(want);
  return got === want;
}

const show = (v: unknown): string =>
  typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : (JSON.stringify(v)?.slice(0, 80) ?? String(v));

/** Imports with `opts`, reads the file with DuckDB using the types eau2 used, compares every cell. */
async function compare(
  path: string,
  c: CsvCase,
  opts: CsvImportOptions,
  label: string,
  fail: (what: string) => void,
  expectTypes?: ColumnType[],
): Promise<void> {
  const store = new MemoryStore();
  try {
    await importCsv(store, 'f', path, { ...opts, delimiter: c.delimiter, nullValues: c.nulls });
  } catch (e) {
    fail(`${label}: eau2 refused the file: ${(e as Error).message.slice(0, 300)}`);
    return;
  }
  const df = await (await DataFrame.get(store, 'f')).load();
  const names = c.header ? c.names : c.names.map((_, i) => `c${i}`);
  if (df.columnNames.join(',') !== names.join(',')) {
    fail(`${label}: columns ${df.columnNames.join(',')}, want ${names.join(',')}`);
    return;
  }
  const types = [...df.schema] as ColumnType[];
  if (expectTypes && types.join('') !== expectTypes.join(''))
    fail(`${label}: types ${types.join('')}, want ${expectTypes.join('')} (columns ${c.names.join(',')})`);
  let want: unknown[][];
  try {
    want = await duckRead(path, c, types);
  } catch (e) {
    fail(
      `${label}: DuckDB cannot read it as ${types.join('')}: ${(e as Error).message.split('\n').slice(0, 3).join(' | ')}`,
    );
    return;
  }
  if (want.length !== df.nrows || df.nrows !== c.rows) {
    fail(`${label}: eau2 has ${df.nrows} rows, DuckDB ${want.length}, the file ${c.rows}`);
    return;
  }
  let bad = 0;
  names.forEach((n, k) => {
    const got = df.column(n).toArray();
    for (let r = 0; r < want.length && bad < 5; r++) {
      if (!same(types[k]!, got[r], want[r]![k])) {
        bad++;
        fail(`${label}: row ${r + 1}, column ${n} (${types[k]}): eau2 ${show(got[r])}, DuckDB ${show(want[r]![k])}`);
      }
    }
  });
}

describe('CSV import against DuckDB', () => {
  it(`reads ${FILES} random files as DuckDB does, inferring the types the values call for`, async () => {
    onTestFailed(() => console.error(`[csv-duckdb] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const failures: string[] = [];
    for (let f = 0; f < FILES; f++) {
      if (ONLY !== undefined && f !== ONLY) continue;
      const rng = new Rng((SEED ^ Math.imul(f + 1, 0x9e3779b1)) >>> 0);
      const c = randomCsv(rng);
      const path = join(dir, `f${f}.csv`);
      await writeFile(path, c.text);
      const fail = (what: string): void => {
        failures.push(`seed ${SEED} file ${f} (EAU2_TEST_SEED=${SEED} EAU2_TEST_FILE=${f}): ${what}`);
      };
      await compare(path, c, { header: c.header }, 'inferred', fail, c.wants);
      // A schema of letters giving every column, some wider than inferred.
      const letters = c.wants.map((t) => (rng.bool(0.3) ? rng.pick(WIDER[t]) : t));
      await compare(
        path,
        c,
        { header: c.header, schema: letters.join('') },
        `schema ${letters.join('')}`,
        fail,
        letters,
      );
      if (rng.bool(0.25)) {
        // Parse threads reading the file by small byte ranges, cut anywhere (inside quoted fields too).
        const rangeBytes = rng.int(64, 2048);
        const opts = { header: c.header, parseThreads: 2, rangeBytes };
        await compare(path, c, opts, `parseThreads 2, rangeBytes ${rangeBytes}`, fail, c.wants);
      }
      if (c.header) {
        // name:type pairs for some columns, in any order; the others inferred.
        const given = c.names.map((n, i) => ({ n, i, t: rng.pick(WIDER[c.wants[i]!]) })).filter(() => rng.bool());
        const pairs = given.sort(() => rng.next() - 0.5);
        const spec = pairs.map(({ n, t }) => `${n}:${t}`).join(',');
        const want = c.wants.map((t, i) => pairs.find((p) => p.i === i)?.t ?? t);
        if (spec !== '') await compare(path, c, { schema: spec }, `schema ${spec}`, fail, want);
      }
    }
    if (failures.length > 0) expect.fail(`${failures.length} differences:\n${failures.slice(0, 30).join('\n')}`);
  });
});

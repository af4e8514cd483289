// The CSV importer's fast paths read numbers, dates and timestamps by hand instead of through the
// regexes, and store timestamps as numbers without a bigint. Each must give exactly what the regex
// definitions give: checked here on random text built to sit near the edges of every rule (and by
// random mutation of valid text), against a copy of the regex-only parsers kept as the reference.

import { describe, expect, it } from 'vitest';
import { ColumnBuilder } from '../../dataframe/column-builder.js';
import { DataFrame, importCsv, parseDate, parseTimestamp } from '../../dataframe/index.js';
import { convertText, textConverter } from '../../dataframe/io/text-values.js';
import { valueFits, type ColumnType, type Value } from '../../dataframe/schema.js';
import { DataFrameWriter } from '../../dataframe/writer.js';
import { parseTimestampMicros } from '../../dataframe/temporal.js';
import { MemoryStore } from '../support/memory-store.js';
import { seededRng } from './helpers.js';
import { Readable } from 'node:stream';

// ---- the reference: regexes only (as the parsers were before the fast paths) ----
const DATE_RE = /^([+-]\d{4,6}|\d{4})-(\d{2})-(\d{2})$/;
const TS_RE =
  /^([+-]\d{4,6}|\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:(Z|z)|([+-])(\d{2})(?::?(\d{2}))?)?$/;

function refDays(ys: string, ms: string, ds: string): number | undefined {
  const y = Number(ys);
  const m = Number(ms);
  const d = Number(ds);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const dim = m === 2 ? (leap ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
  if (m < 1 || m > 12 || d < 1 || d > dim) return undefined;
  // Days from 1970-01-01 through JavaScript's Date, not the code's algorithm; a year beyond Date's
  // range is moved into it by whole 400-year cycles of the Gregorian calendar (146,097 days each).
  const base = 2000 + (((y % 400) + 400) % 400);
  const t = new Date(0);
  t.setUTCFullYear(base, m - 1, d);
  return Math.round(t.getTime() / 86_400_000) + ((y - base) / 400) * 146_097;
}

function refDate(s: string): number | undefined {
  const m = DATE_RE.exec(s);
  return m ? refDays(m[1]!, m[2]!, m[3]!) : undefined;
}

function refTimestamp(s: string, dateOk: boolean): bigint | undefined {
  if (dateOk) {
    const d = refDate(s);
    if (d !== undefined) {
      const us = BigInt(d) * 86_400_000_000n;
      return us >= -(2n ** 63n) && us < 2n ** 63n ? us : undefined;
    }
  }
  const m = TS_RE.exec(s);
  if (!m) return undefined;
  const days = refDays(m[1]!, m[2]!, m[3]!);
  if (days === undefined) return undefined;
  const hh = Number(m[4]);
  const mi = Number(m[5]);
  const ss = m[6] === undefined ? 0 : Number(m[6]);
  if (hh > 23 || mi > 59 || ss > 59) return undefined;
  const f = m[7] ?? '';
  if (f.length > 6 && /[1-9]/.test(f.slice(6))) return undefined;
  const micros = f === '' ? 0n : BigInt(f.slice(0, 6).padEnd(6, '0'));
  let off = 0n;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    off = BigInt((m[9] === '-' ? -1 : 1) * (oh * 60 + om));
  }
  const us = BigInt(days) * 86_400_000_000n + ((BigInt(hh * 60 + mi) - off) * 60n + BigInt(ss)) * 1_000_000n + micros;
  return us >= -(2n ** 63n) && us < 2n ** 63n ? us : undefined;
}

const INT_RE = /^[+-]?(?:0|[1-9]\d*)$/;
const DEC_RE = /^[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The regex reading of a number for column type I or D (undefined: does not fit). */
function refNumber(t: 'I' | 'D', s: string): number | null | undefined {
  if (s === '') return null;
  if (INT_RE.test(s)) {
    const v = Number(s);
    if (t === 'I') return v >= -2147483648 && v <= 2147483647 ? (v === 0 ? 0 : v) : undefined;
    return Number.isSafeInteger(v) ? v : undefined;
  }
  if (t === 'I') return undefined;
  if (s === 'NaN' || s === 'Infinity' || s === '+Infinity' || s === '-Infinity') return Number(s);
  if (!DEC_RE.test(s)) return undefined;
  const v = Number(s);
  if (!Number.isFinite(v)) return undefined;
  if (v === 0 && /[1-9]/.test(s.replace(/[eE].*$/, ''))) return undefined;
  return v;
}

// ---- random text near the rules' edges ----
type Rng = ReturnType<typeof seededRng>;
const digits = (rng: Rng, n: number): string => Array.from({ length: n }, () => String(rng.int(0, 9))).join('');
const d2 = (rng: Rng, hi: number): string => String(rng.int(0, hi)).padStart(2, '0');

function randomTimestampText(rng: Rng): string {
  const year = rng.bool(0.85)
    ? String(rng.pick([1970, 2024, 1600, 1685, 2254, 2300, 0, 9999, rng.int(0, 9999)])).padStart(4, '0')
    : `${rng.pick(['+', '-'])}${String(rng.int(0, 200_000)).padStart(rng.int(4, 6), '0')}`; // within Date's range
  let s = `${year}-${d2(rng, 13)}-${d2(rng, 31)}`;
  if (rng.bool(0.8)) {
    s += `${rng.pick(['T', ' ', 't'])}${d2(rng, 24)}:${d2(rng, 60)}`;
    if (rng.bool(0.8)) s += `:${d2(rng, 60)}`;
    if (rng.bool(0.5)) {
      const k = rng.int(0, 11);
      s +=
        rng.pick(['.', ',']) +
        (rng.bool(0.3) ? `${digits(rng, Math.min(k, 6))}${'0'.repeat(Math.max(0, k - 6))}` : digits(rng, k));
    }
    const z = rng.int(0, 6);
    if (z === 1) s += 'Z';
    else if (z === 2) s += 'z';
    else if (z === 3) s += `${rng.pick(['+', '-'])}${d2(rng, 24)}:${d2(rng, 60)}`;
    else if (z === 4) s += `${rng.pick(['+', '-'])}${d2(rng, 24)}${rng.bool() ? d2(rng, 60) : ''}`;
  }
  // Mutations: a replaced, dropped or inserted character.
  if (rng.bool(0.3)) {
    const i = rng.int(0, s.length - 1);
    const c = rng.pick(['0', '9', '-', ':', 'T', ' ', '.', 'Z', 'x', '+', '']);
    s = rng.bool() ? s.slice(0, i) + c + s.slice(i + 1) : s.slice(0, i) + c + s.slice(i);
  }
  return s;
}

function randomNumberText(rng: Rng): string {
  const alphabet = ['0', '1', '5', '9', '.', 'e', 'E', '+', '-', ' ', 'x', 'N', 'a'];
  if (rng.bool(0.1))
    return rng.pick(['NaN', 'Infinity', '-Infinity', '+Infinity', '1e400', '1e-400', '0e-400', '9007199254740993']);
  if (rng.bool(0.5)) {
    let s = `${rng.pick(['', '+', '-'])}${rng.bool(0.2) ? '0' : String(rng.int(1, 9))}${digits(rng, rng.int(0, 19))}`;
    if (rng.bool(0.4)) s += `.${digits(rng, rng.int(0, 4))}`;
    if (rng.bool(0.2)) s += `${rng.pick(['e', 'E'])}${rng.pick(['', '+', '-'])}${digits(rng, rng.int(0, 3))}`;
    return s;
  }
  return Array.from({ length: rng.int(0, 8) }, () => rng.pick(alphabet)).join('');
}

describe('CSV fast paths equal the regex definitions', () => {
  it('dates and timestamps, random and mutated text', () => {
    const rng = seededRng();
    for (let k = 0; k < 15_000; k++) {
      const s = randomTimestampText(rng);
      const ctx = `text ${JSON.stringify(s)}`;
      expect(parseDate(s), ctx).toBe(refDate(s));
      for (const dateOk of [false, true]) {
        const want = refTimestamp(s, dateOk);
        expect(parseTimestamp(s, dateOk), ctx).toBe(want);
        const micros = parseTimestampMicros(s, dateOk);
        expect(micros === undefined ? undefined : BigInt(micros), ctx).toBe(want);
        if (typeof micros === 'number') expect(Number.isSafeInteger(micros), ctx).toBe(true);
      }
    }
  });

  it('numbers for I and D columns, and the other types through textConverter', () => {
    const rng = seededRng();
    for (let k = 0; k < 20_000; k++) {
      const s = randomNumberText(rng);
      for (const t of ['I', 'D'] as const) {
        const ctx = `${t} ${JSON.stringify(s)}`;
        expect(textConverter(t)(s), ctx).toBe(refNumber(t, s));
        expect(convertText(t, s), ctx).toBe(refNumber(t, s));
      }
    }
    // The int32 bounds and the forms around the I converter's one-pass reading.
    const edges = ['0', '-0', '+0', '00', '-00', '01', '-', '+', '+-1', '--1', '1-', ' 1', '1 ', '1.', '1e1'];
    edges.push('2147483647', '+2147483647', '2147483648', '-2147483648', '-2147483649', '9999999999');
    edges.push('-9999999999', '1234567890', '12345678901', '-12345678901', '0000000001', '4294967296');
    for (const s of edges)
      for (const t of ['I', 'D'] as const)
        expect(textConverter(t)(s), `${t} ${JSON.stringify(s)}`).toBe(refNumber(t, s));
    for (const t of ['S', 'B', 'L', 'd'] as ColumnType[])
      for (const s of ['', 'true', 'FALSE', '12', '9223372036854775808', '2024-02-29', 'x'])
        expect(textConverter(t)(s), `${t} ${s}`).toBe(convertText(t, s));
  });

  // The importer makes one converter per column and feeds it every field of that column, in order; a
  // converter may remember what it read (a date column's last text). Fed texts in runs, invalid ones
  // and empty fields between them, each answer must be what a fresh reading of that text gives, and
  // every value must fit its column (the writer's appendFitted trusts them to).
  it('a converter fed a column field after field reads each as if alone, and its values fit', () => {
    const rng = seededRng();
    const types: ColumnType[] = ['I', 'D', 'B', 'S', 'L', 'T', 'd'];
    for (const t of types) {
      const conv = textConverter(t);
      const pool = Array.from({ length: 40 }, () =>
        rng.bool(0.1)
          ? ''
          : t === 'T' || t === 'd'
            ? rng.bool(0.3)
              ? randomTimestampText(rng)
              : // Days shared by several texts, valid times or not, so a kept day is used often.
                rng.pick(['2024-01-01', '2024-02-29', '2023-02-29', '1600-03-01', '2254-12-31', '2024-1-011']) +
                rng.pick([
                  '',
                  'T00:00:00Z',
                  ' 23:59:59.999999',
                  'T24:00',
                  'T12:00+05:30',
                  'T07:08z',
                  'x',
                  'T01:02:03.1234567',
                ])
            : t === 'B'
              ? rng.pick(['true', 'False', 'x', '1'])
              : randomNumberText(rng),
      );
      for (let k = 0; k < 3000; ) {
        const s = rng.pick(pool);
        for (let run = rng.int(1, 5); run > 0; run--, k++) {
          const ctx = `${t} field ${k} ${JSON.stringify(s)}`;
          const v = conv(s);
          const want = convertText(t, s);
          expect(typeof v === 'number' && t === 'T' ? BigInt(v) : v, ctx).toBe(want);
          if (v !== undefined) expect(valueFits(t, v), ctx).toBe(true);
        }
      }
    }
  });

  // appendFitted is append without the per-value check: the same rows must store the same chunks.
  it("the writer's appendFitted stores exactly what append stores", async () => {
    const rng = seededRng();
    const schema = 'IdTSSDBL';
    const types = [...schema] as ColumnType[];
    const convs = types.map((t) => textConverter(t));
    const text = (t: ColumnType): string => {
      if (rng.bool(0.1)) return '';
      if (t === 'I' || t === 'L' || t === 'D') return String(rng.int(-100_000, 100_000));
      if (t === 'd') return `2024-0${rng.int(1, 9)}-1${rng.int(0, 9)}`;
      if (t === 'T') return `2024-0${rng.int(1, 9)}-1${rng.int(0, 9)}T0${rng.int(0, 9)}:30:00Z`;
      if (t === 'B') return rng.pick(['true', 'false']);
      return rng.pick(['a', 'b', '__proto__', `u${rng.int(0, 5000)}`]);
    };
    const rows = Array.from({ length: 2500 }, () => types.map((t, i) => convs[i]!(text(t)) as Value));
    // The chunks byte for byte (under keys naming the version, which is random), and the metadata but
    // for its version and publish time.
    const stored = async (fitted: boolean): Promise<{ chunks: Map<string, string>; meta: object }> => {
      const store = new MemoryStore();
      const w = await DataFrameWriter.open(store, 'f', schema, { chunkRows: 700 });
      for (const r of rows) await (fitted ? w.appendFitted(r) : w.append(r));
      const { version, created, ...meta } = await w.close();
      const chunks = new Map<string, string>();
      for await (const [k, v] of store.scan()) {
        const key = Buffer.from(k).toString('latin1');
        if (key.includes(version)) chunks.set(key.replace(version, 'V'), Buffer.from(v).toString('hex'));
      }
      return { chunks, meta };
    };
    const plain = await stored(false);
    expect(plain.chunks.size).toBe(4 * types.length);
    expect(await stored(true)).toEqual(plain);
  });

  it('the column builder stores safe-integer numbers in L and T columns exactly, without a bigint', () => {
    const rng = seededRng();
    const vals: (number | bigint | null)[] = [0, -0, 1, -1, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, -(2 ** 32) + 1];
    vals.push(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2n ** 62n, -(2n ** 63n), null);
    for (let k = 0; k < 5_000; k++) vals.push(rng.int(-(2 ** 20), 2 ** 20) * 2 ** rng.int(0, 32) + rng.int(0, 1000));
    for (const t of ['L', 'T'] as const) {
      const b = new ColumnBuilder(t, 8); // small, so it grows (the word view must follow the new memory)
      for (const v of vals) b.push(v);
      const c = b.finish();
      vals.forEach((v, i) => expect(c.get(i), `${t} row ${i}: ${v}`).toBe(v === null ? null : BigInt(v)));
    }
  });

  it('an import of timestamps and dates gives the same frame as the reference parsers', async () => {
    const rng = seededRng();
    const lines = ['at,day'];
    const want: [bigint | null, number | null][] = [];
    for (let k = 0; k < 3_000; k++) {
      const y = rng.pick([1600, 1970, 2024, 2400, 9999]);
      const day = `${y}-${d2(rng, 11).replace('00', '01')}-${String(rng.int(1, 28)).padStart(2, '0')}`;
      const ts = rng.bool(0.1)
        ? ''
        : `${day}${rng.pick(['T', ' '])}${d2(rng, 23)}:${d2(rng, 59)}:${d2(rng, 59)}${rng.bool() ? `.${digits(rng, rng.int(1, 6))}` : ''}${rng.pick(['Z', '', '+02:00'])}`;
      lines.push(`${ts},${day}`);
      want.push([ts === '' ? null : refTimestamp(ts, true)!, refDate(day)!]);
    }
    const store = new MemoryStore();
    const res = await importCsv(store, 'ts', () => Readable.from([`${lines.join('\n')}\n`]), {
      schema: 'at:T,day:d',
      chunkRows: 1000,
    });
    expect(res.rows).toBe(want.length);
    const df: DataFrame = await (await DataFrame.get(store, 'ts')).load();
    want.forEach(([at, day], i) => {
      expect(df.get('at', i), `row ${i}: ${lines[i + 1]}`).toBe(at);
      expect(df.get('day', i), `row ${i}`).toBe(day);
    });
  });

  it('a date whose midnight is past the int64 range of microseconds is not a timestamp', async () => {
    // Dates are int32 days; a timestamp's midnight is an int64 only from -290308-12-22 to
    // +294247-01-10. Past them a bare date was once taken as a timestamp, wrapped by the column.
    expect(parseTimestamp('+294247-01-10', true)).toBe(106_751_991n * 86_400_000_000n);
    expect(parseTimestamp('-290308-12-22', true)).toBe(-106_751_991n * 86_400_000_000n);
    for (const s of ['+294247-01-11', '-290308-12-21', '+567930-08-28']) {
      expect(parseDate(s), s).toBeTypeOf('number');
      expect(parseTimestamp(s, true), s).toBeUndefined();
      expect(parseTimestampMicros(s, true), s).toBeUndefined();
      expect(textConverter('T')(s), s).toBeUndefined();
    }
    // An import into a T column refuses the field, naming it, and stores nothing.
    const store = new MemoryStore();
    await expect(
      importCsv(store, 'far', () => Readable.from(['at\n2024-01-01\n+567930-08-28\n']), { schema: 'at:T' }),
    ).rejects.toThrow(/\+567930-08-28/);
    expect(store.size).toBe(0);
  });
});

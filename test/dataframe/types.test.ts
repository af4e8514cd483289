// The int64 (L), timestamp (T) and date (d) types: exact storage over their whole range, text that
// round-trips, CSV inference, exact aggregates, filters and group keys, and the format versions
// that keep older frames readable. References are computed independently: JavaScript's Date for the
// calendar, BigInt arithmetic and plain loops for the aggregates.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../kv/index.js';
import {
  DataFrame,
  add,
  and,
  col,
  exportCsv,
  exportJson,
  formatDate,
  formatTimestamp,
  ge,
  gt,
  importCsv,
  isIn,
  lt,
  parseDate,
  parseTimestamp,
  type Value,
} from '../../dataframe/index.js';
import { decodeChunk, encodeChunk } from '../../dataframe/chunk-codec.js';
import { columnFromValues } from '../../dataframe/column-builder.js';
import { FORMAT_VERSION, Kind, META_SLOTS_VERSION, openVersioned } from '../../dataframe/envelope.js';
import { decodeMeta, encodeMeta, type FrameMeta } from '../../dataframe/meta.js';
import { metaKey } from '../../dataframe/layout.js';
import type { Rng } from '../../app/apps/random.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

/** A random int64: uniform over all 64 bits, or one of the edges, or small. */
function randInt64(rng: Rng): bigint {
  const r = rng.int(0, 9);
  if (r === 0)
    return rng.pick([I64_MIN, I64_MAX, I64_MIN + 1n, I64_MAX - 1n, 0n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n]);
  if (r < 3) return BigInt(rng.int(-1000, 1000));
  const hi = BigInt(rng.int(0, 0xffffffff));
  const lo = BigInt(rng.int(0, 0xffffffff));
  return BigInt.asIntN(64, (hi << 32n) | lo);
}

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-types-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dates and timestamps as text', () => {
  it('agrees with Date on every day from year 0 to 9999, and round-trips', () => {
    const rng = seededRng();
    const lo = Date.UTC(0, 0, 1) / 864e5 - 366;
    for (let k = 0; k < 20_000; k++) {
      const days = rng.int(lo, 2932896);
      const ref = new Date(days * 864e5);
      const text = formatDate(days);
      if (ref.getUTCFullYear() >= 0) expect(text).toBe(ref.toISOString().slice(0, 10));
      expect(parseDate(text)).toBe(days);
    }
    expect(formatDate(0)).toBe('1970-01-01');
    expect(formatDate(-1)).toBe('1969-12-31');
    expect(parseDate('2024-02-30')).toBeUndefined();
    expect(parseDate('1900-02-29')).toBeUndefined();
    expect(parseDate('2000-02-29')).toBe(Date.UTC(2000, 1, 29) / 864e5);
  });

  it('agrees with Date to the millisecond, keeps microseconds, and round-trips the whole int64 range', () => {
    const rng = seededRng();
    for (let k = 0; k < 20_000; k++) {
      const ms = rng.int(-62135596800000, 253402300799999); // years 1-9999, Date's ISO form
      const us = BigInt(ms) * 1000n + BigInt(rng.int(0, 999));
      const text = formatTimestamp(us);
      const iso = new Date(ms).toISOString(); // 2024-02-29T13:45:00.123Z
      expect(text.slice(0, 19)).toBe(iso.slice(0, 19));
      expect(text.endsWith('Z')).toBe(true);
      expect(parseTimestamp(text)).toBe(us);
    }
    for (let k = 0; k < 5000; k++) {
      const us = randInt64(rng);
      expect(parseTimestamp(formatTimestamp(us))).toBe(us);
    }
    expect(formatTimestamp(0n)).toBe('1970-01-01T00:00:00Z');
    expect(formatTimestamp(-1n)).toBe('1969-12-31T23:59:59.999999Z');
    expect(parseTimestamp('2024-02-29 13:45:00+05:30')).toBe(BigInt(Date.UTC(2024, 1, 29, 8, 15)) * 1000n);
    expect(parseTimestamp('2024-02-29T13:45:00.5-0800')).toBe(BigInt(Date.UTC(2024, 1, 29, 21, 45, 0, 500)) * 1000n);
    expect(parseTimestamp('2024-02-29T13:45')).toBe(BigInt(Date.UTC(2024, 1, 29, 13, 45)) * 1000n);
    expect(parseTimestamp('2024-02-29T13:45:00.123456789Z')).toBeUndefined(); // nanoseconds would be lost
    expect(parseTimestamp('2024-02-29T13:45:00.123456000Z')).toBe(
      BigInt(Date.UTC(2024, 1, 29, 13, 45)) * 1000n + 123456n,
    );
  });
});

describe('int64, timestamp and date columns', () => {
  it('store and read back every int64 exactly, with nulls, across chunks', async () => {
    const rng = seededRng();
    const n = 3000;
    const l: (bigint | null)[] = [];
    const t: (bigint | null)[] = [];
    const d: (number | null)[] = [];
    for (let r = 0; r < n; r++) {
      l.push(rng.bool(0.1) ? null : randInt64(rng));
      t.push(rng.bool(0.1) ? null : randInt64(rng));
      d.push(rng.bool(0.1) ? null : rng.int(-2147483648, 2147483647));
    }
    const df = DataFrame.fromColumns({
      l: { type: 'L', values: l },
      t: { type: 'T', values: t },
      d: { type: 'd', values: d },
    });
    expect(df.schema).toBe('LTd');
    const store = new MemoryStore();
    await DataFrame.put(store, 'x', df, { chunkRows: 256 });
    const back = await (await DataFrame.get(store, 'x')).load();
    expect(back.schema).toBe('LTd');
    expect(back.column('l').toArray()).toEqual(l);
    expect(back.column('t').toArray()).toEqual(t);
    expect(back.column('d').toArray()).toEqual(d);
  });

  it('writes int64s as exact digits in CSV and JSON and reads the CSV back to the same values', async () => {
    const rng = seededRng();
    const n = 500;
    const l = Array.from({ length: n }, () => (rng.bool(0.05) ? null : randInt64(rng)));
    const t = Array.from({ length: n }, () => (rng.bool(0.05) ? null : BigInt(rng.int(-1e9, 1e9)) * 1_000_003n));
    const d = Array.from({ length: n }, () => (rng.bool(0.05) ? null : rng.int(-800000, 2900000)));
    l[0] = I64_MAX;
    l[1] = I64_MIN;
    const df = DataFrame.fromColumns({
      l: { type: 'L', values: l },
      t: { type: 'T', values: t },
      d: { type: 'd', values: d },
    });
    const csv = new Collect();
    await exportCsv(df, csv);
    const lines = csv.text.trimEnd().split('\n');
    expect(lines[1]!.split(',')[0]).toBe('9223372036854775807');
    expect(lines[2]!.split(',')[0]).toBe('-9223372036854775808');
    lines.slice(1).forEach((line, r) => {
      const [a, b, c] = line.split(',');
      expect(a).toBe(l[r] === null ? '' : String(l[r]));
      expect(b).toBe(t[r] === null ? '' : formatTimestamp(t[r]!));
      expect(c).toBe(d[r] === null ? '' : formatDate(d[r]!));
    });
    const p = join(dir, 'exact.csv');
    await writeFile(p, csv.text);
    const store = new MemoryStore();
    await importCsv(store, 'exact', p, { sampleRows: 'all' });
    const back = await (await DataFrame.get(store, 'exact')).load();
    expect(back.schema).toBe('LTd');
    expect(rowsOf(back)).toEqual(rowsOf(df));

    const json = new Collect();
    await exportJson(df, json, { ndjson: true });
    const first = json.text.split('\n')[0]!;
    expect(first).toBe(
      `{"l":9223372036854775807,"t":${JSON.stringify(t[0] === null ? null : formatTimestamp(t[0]!))},"d":${JSON.stringify(d[0] === null ? null : formatDate(d[0]!))}}`,
    );
  });

  it('infers L, T and d from CSV text and refuses a value that does not fit', async () => {
    const p = join(dir, 'infer.csv');
    await writeFile(
      p,
      'id,at,day,small\n9007199254740993,2024-02-29T13:45:00.000001Z,2024-02-29,1\n-9223372036854775808,2024-03-01 00:00:00+01:00,1969-12-31,2\n',
    );
    const store = new MemoryStore();
    await importCsv(store, 'inf', p);
    const df = await (await DataFrame.get(store, 'inf')).load();
    expect(df.schema).toBe('LTdI');
    expect(rowsOf(df)).toEqual([
      [9007199254740993n, BigInt(Date.UTC(2024, 1, 29, 13, 45)) * 1000n + 1n, Date.UTC(2024, 1, 29) / 864e5, 1],
      [I64_MIN, BigInt(Date.UTC(2024, 1, 29, 23)) * 1000n, -1, 2],
    ]);
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'day\n2024-01-01\nlater\n');
    await expect(importCsv(store, 'bad', bad, { schema: 'day:date' })).rejects.toMatchObject({
      code: ErrorCode.INVALID,
      message: expect.stringMatching(/record 3.*is not a date/),
    });
  });

  it('sums int64s exactly, takes min/max of all three, groups and filters by them like a reference', async () => {
    const rng = seededRng();
    const n = 4000;
    const keys = [I64_MIN, -1n, 0n, 2n ** 60n, I64_MAX];
    const k = Array.from({ length: n }, () => (rng.bool(0.05) ? null : rng.pick(keys)));
    // Values summing past 2^53 many times over, yet within int64 in every group.
    const v = Array.from({ length: n }, () =>
      rng.bool(0.1) ? null : BigInt(rng.int(-(2 ** 30), 2 ** 30)) * 2n ** 20n + BigInt(rng.int(0, 999)),
    );
    const t = Array.from({ length: n }, () =>
      rng.bool(0.1) ? null : BigInt(rng.int(-2e9, 2e9)) * 1_000_000n + BigInt(rng.int(0, 999_999)),
    );
    const d = Array.from({ length: n }, () => (rng.bool(0.1) ? null : rng.int(-100000, 100000)));
    const df = DataFrame.fromColumns({
      k: { type: 'L', values: k },
      v: { type: 'L', values: v },
      t: { type: 'T', values: t },
      d: { type: 'd', values: d },
    });
    const store = new MemoryStore();
    await DataFrame.put(store, 'agg', df, { chunkRows: 300 });
    const lf = await DataFrame.get(store, 'agg');

    const nonNull = <T>(xs: (T | null)[]): T[] => xs.filter((x): x is T => x !== null);
    const bigMin = (xs: bigint[]): bigint => {
      let m = xs[0]!;
      for (const x of xs) if (x < m) m = x;
      return m;
    };
    const bigMax = (xs: bigint[]): bigint => {
      let m = xs[0]!;
      for (const x of xs) if (x > m) m = x;
      return m;
    };
    expect(await lf.sum('v')).toBe(nonNull(v).reduce((a, b) => a + b, 0n));
    expect(await lf.min('t')).toBe(bigMin(nonNull(t)));
    expect(await lf.max('t')).toBe(bigMax(nonNull(t)));
    expect(await lf.min('d')).toBe(Math.min(...nonNull(d)));
    expect(await lf.max('d')).toBe(Math.max(...nonNull(d)));
    expect(await lf.min('v')).toBe(bigMin(nonNull(v)));

    // Grouped by the int64 key: per group exact sum, count, min/max of the timestamp.
    const got = await lf.groupBy('k').agg({ v: ['sum', 'count'], t: ['min', 'max'] });
    expect(got.schema).toBe('LLDTT');
    const ref = new Map<bigint | null, { s: bigint; c: number; lo: bigint | null; hi: bigint | null; any: boolean }>();
    for (let r = 0; r < n; r++) {
      const g = ref.get(k[r]!) ?? { s: 0n, c: 0, lo: null, hi: null, any: false };
      if (v[r] !== null) (g.s += v[r]!), g.c++, (g.any = true);
      if (t[r] !== null) {
        if (g.lo === null || t[r]! < g.lo) g.lo = t[r]!;
        if (g.hi === null || t[r]! > g.hi) g.hi = t[r]!;
      }
      ref.set(k[r]!, g);
    }
    const order = [...ref.keys()].sort((a, b) => (a === null ? -1 : b === null ? 1 : a < b ? -1 : a > b ? 1 : 0));
    expect(rowsOf(got)).toEqual(
      order.map((key) => {
        const g = ref.get(key)!;
        return [key, g.any ? g.s : null, g.c, g.lo, g.hi];
      }),
    );

    // Filters on each type, against a row-by-row reference.
    const from = 10_000n * 86_400_000_000n;
    const cases: [ReturnType<typeof gt>, (r: number) => boolean][] = [
      [gt(col('v'), 0), (r) => v[r] !== null && v[r]! > 0n],
      [isIn(col('k'), [0, -1]), (r) => k[r] === 0n || k[r] === -1n],
      [ge(col('t'), formatTimestamp(from)), (r) => t[r] !== null && t[r]! >= from],
      [and(ge(col('d'), '1970-01-01'), lt(col('d'), 1000)), (r) => d[r] !== null && d[r]! >= 0 && d[r]! < 1000],
      [lt(col('k'), 2 ** 60), (r) => k[r] !== null && k[r]! < 2n ** 60n],
    ];
    for (const [f, keep] of cases) {
      const rows = rowsOf(await lf.filter(f).select('k', 'v', 't', 'd').collect());
      const want: Value[][] = [];
      for (let r = 0; r < n; r++) if (keep(r)) want.push([k[r]!, v[r]!, t[r]!, d[r]!]);
      expect(rows).toEqual(want);
    }
  });

  it('refuses a sum outside the int64 range rather than wrap or round it', async () => {
    const df = DataFrame.fromColumns({ v: { type: 'L', values: [I64_MAX, 1n] } });
    await expect(df.sum('v')).rejects.toMatchObject({ code: ErrorCode.INVALID });
    const ok = DataFrame.fromColumns({ v: { type: 'L', values: [I64_MAX, 1n, -2n] } });
    expect(await ok.sum('v')).toBe(I64_MAX - 1n); // leaves the range and comes back
  });

  it('refuses a timestamp compared with text that is not one, and arithmetic on int64', () => {
    const df = DataFrame.fromColumns({ t: { type: 'T', values: [0n] }, l: { type: 'L', values: [1n] } });
    expect(() => df.filter(gt(col('t'), 'yesterday')).check()).toThrow(/ISO 8601/);
    expect(() => df.filter(gt(col('t'), '2024-01-01')).check()).not.toThrow();
    // Arithmetic is float64: an int64 would be rounded, so it is refused rather than done inexactly.
    expect(() => df.filter(gt(add(col('l'), 1), 0)).check()).toThrow(/numeric arguments/);
  });
});

describe('format versions', () => {
  it('keeps frames of the first four types in format version 1 and versions the new ones', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'old', DataFrame.fromColumns({ i: new Int32Array([1, 2]) }));
    await DataFrame.put(store, 'new', DataFrame.fromColumns({ l: new BigInt64Array([1n, 2n]) }));
    expect((await store.get(metaKey('old')))![3]).toBe(FORMAT_VERSION);
    const newMeta = (await store.get(metaKey('new')))!;
    expect(newMeta[3]).toBe(3);
    // A reader that knows versions 1 and 2 only refuses the record instead of misreading it.
    expect(() => openVersioned(Kind.META, newMeta, 'k', [FORMAT_VERSION, META_SLOTS_VERSION])).toThrow(
      /unsupported format version 3/,
    );
    const i32 = encodeChunk(columnFromValues('I', [1, null]));
    // Raw, as a reader before chunk encodings reads them (an encoded chunk is version 3, of any type).
    const i64 = encodeChunk(columnFromValues('L', [1n, null]), undefined, 0, 2, { plain: true });
    expect(i32[3]).toBe(1);
    expect(i64[3]).toBe(2);
    expect(encodeChunk(columnFromValues('L', [1n, null]))[3]).toBe(3);
    expect(decodeChunk(i64, 'k', 'L', 2).toArray()).toEqual([1n, null]);
    expect(() => decodeChunk(i32, 'k', 'd', 2)).toThrow(/format version 1/);
  });

  it('reads a metadata record written before zone maps, and queries it', async () => {
    const store = new MemoryStore();
    const meta = await DataFrame.put(store, 'z', DataFrame.fromColumns({ x: new Float64Array([1, 2, 3]) }), {
      chunkRows: 2,
    });
    expect(meta.zones).toHaveLength(2);
    const { zones: _, ...withoutZones } = meta;
    await store.put(metaKey('z'), encodeMeta(withoutZones as FrameMeta));
    const lf = await DataFrame.get(store, 'z');
    expect(decodeMeta((await store.get(metaKey('z')))!, 'z').zones).toBeUndefined();
    expect(await lf.filter(gt(col('x'), 1.5)).count()).toBe(2);
  });
});

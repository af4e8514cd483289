// The int64, timestamp and date types in the query verbs: sort and top-k keys, group keys, date parts,
// casts and SQL over a stored frame, each against a plain-JavaScript reference (Date for the
// calendar, BigInt comparisons for the order).

import { describe, expect, it } from 'vitest';
import { DataFrame, cast, col, datePart, formatDate, formatTimestamp, type Value } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

const cmp = (a: bigint | number, b: bigint | number): number => (a < b ? -1 : a > b ? 1 : 0);

describe('L, T and d in the verbs', () => {
  it('sorts, takes the top k, groups, derives date parts and casts like the reference', async () => {
    const rng = seededRng();
    const n = 1500;
    const t = Array.from({ length: n }, () =>
      rng.bool(0.1) ? null : BigInt(rng.int(-2e9, 2e9)) * 1_000_000n + BigInt(rng.int(0, 999_999)),
    );
    const d = Array.from({ length: n }, () => (rng.bool(0.1) ? null : rng.int(19000, 19010)));
    const l = Array.from({ length: n }, () =>
      rng.bool(0.1) ? null : BigInt.asIntN(64, (BigInt(rng.int(0, 0xffffffff)) << 32n) | BigInt(rng.int(0, 9))),
    );
    const s = t.map((x) => (x === null ? null : formatTimestamp(x)));
    const df = DataFrame.fromColumns({
      t: { type: 'T', values: t },
      d: { type: 'd', values: d },
      l: { type: 'L', values: l },
      s: { type: 'S', values: s },
    });
    const store = new MemoryStore();
    await DataFrame.put(store, 'f', df, { chunkRows: 128 });
    const lf = await DataFrame.get(store, 'f');
    const idx = Array.from({ length: n }, (_, r) => r);

    // Top 10 by timestamp, descending, nulls last.
    const top = await lf.query().orderBy({ col: 't', desc: true, nulls: 'last' }).select('t').limit(10).collect();
    const want = idx
      .filter((r) => t[r] !== null)
      .sort((a, b) => cmp(t[b]!, t[a]!))
      .slice(0, 10)
      .map((r) => [t[r]!]);
    expect(rowsOf(top)).toEqual(want);

    // Full sort by int64 then row order (stable on ties), nulls first.
    const sorted = await lf.query().orderBy({ col: 'l', nulls: 'first' }).select('l').collect();
    const lw = [...l].sort((a, b) => (a === null ? (b === null ? 0 : -1) : b === null ? 1 : cmp(a, b)));
    expect(sorted.column('l').toArray()).toEqual(lw);

    // Grouped by date: count and the latest timestamp.
    const g = await lf.groupBy('d').agg({ '*': 'count', t: 'max' });
    const ref = new Map<number | null, { c: number; m: bigint | null }>();
    for (let r = 0; r < n; r++) {
      const e = ref.get(d[r]!) ?? { c: 0, m: null };
      e.c++;
      if (t[r] !== null && (e.m === null || t[r]! > e.m)) e.m = t[r]!;
      ref.set(d[r]!, e);
    }
    const keys = [...ref.keys()].sort((a, b) => (a === null ? -1 : b === null ? 1 : a - b));
    expect(rowsOf(g)).toEqual(keys.map((k) => [k, ref.get(k)!.c, ref.get(k)!.m]));

    // Date parts of a timestamp column and of a date column, computed by Date in the reference.
    const parts = await lf
      .query()
      .derive({ y: datePart('year', col('t')), h: datePart('hour', col('t')), dd: datePart('day', col('d')) })
      .select('y', 'h', 'dd')
      .collect();
    expect(rowsOf(parts)).toEqual(
      idx.map((r) => {
        const ms = t[r] === null ? null : Number(t[r]! / 1000n - (t[r]! % 1000n < 0n ? 1n : 0n));
        return [
          ms === null ? null : new Date(ms).getUTCFullYear(),
          ms === null ? null : new Date(ms).getUTCHours(),
          d[r] === null ? null : new Date(d[r]! * 864e5).getUTCDate(),
        ];
      }),
    );

    // Casts: ISO text to T (exactly the timestamps), T to d (the day, floored), L to S (exact digits).
    const casts = await lf
      .query()
      .derive({ ts: cast(col('s'), 'T'), day: cast(col('t'), 'd'), txt: cast(col('l'), 'S') })
      .select('ts', 'day', 'txt')
      .collect();
    expect(casts.schema).toBe('TdS');
    expect(rowsOf(casts)).toEqual(
      idx.map((r) => [
        t[r],
        t[r] === null ? null : Number(t[r]! / 86_400_000_000n - (t[r]! % 86_400_000_000n < 0n ? 1n : 0n)),
        l[r] === null ? null : String(l[r]),
      ]),
    );
  });

  it('counts distinct values, windows and joins on int64 and timestamp keys', async () => {
    const rng = seededRng();
    const n = 600;
    const big = [-(2n ** 63n), -1n, 2n ** 62n + 1n, 2n ** 63n - 1n];
    const k = Array.from({ length: n }, () => (rng.bool(0.05) ? null : rng.pick(big)));
    const t = Array.from({ length: n }, (_, r) => BigInt(r) * 1_000_003n);
    const left = DataFrame.fromColumns({ k: { type: 'L', values: k }, t: { type: 'T', values: t } });
    const right = DataFrame.fromColumns({
      k: { type: 'L', values: big },
      name: { type: 'S', values: big.map((x) => `n${x}`) },
    });
    const store = new MemoryStore();
    await DataFrame.put(store, 'left', left, { chunkRows: 64 });
    const lf = await DataFrame.get(store, 'left');
    const cd = await lf.agg([{ col: 'k', fn: 'countDistinct' }]);
    expect(cd.get(0, 0)).toBe(new Set(k.filter((x) => x !== null)).size);
    // lag of a timestamp ordered by it: the previous row's value, exactly.
    const w = (await lf.load()).window([{ fn: 'lag', col: 't', partitionBy: [], orderBy: [{ col: 't' }], as: 'prev' }]);
    expect(w.column('prev').toArray()).toEqual([null, ...t.slice(0, -1)]);
    // Inner join on the int64 key: every left row with a key finds its one right row.
    const j = await lf.join(right, { on: 'k' }).select('k', 'name').collect();
    const want = k.filter((x) => x !== null).map((x) => [x, `n${x}`]);
    const sortRows = (rows: Value[][]): Value[][] => [...rows].sort((a, b) => cmp(a[0] as bigint, b[0] as bigint));
    expect(sortRows(rowsOf(j))).toEqual(sortRows(want));
  });

  it('runs SQL over int64, timestamp and date columns', async () => {
    const rng = seededRng();
    const n = 800;
    const day0 = 19723; // 2024-01-01
    const d = Array.from({ length: n }, () => day0 + rng.int(-5, 5));
    const t = d.map((x) => BigInt(x) * 86_400_000_000n + BigInt(rng.int(0, 86_399_999_999)));
    const v = Array.from({ length: n }, () => 2n ** 40n + BigInt(rng.int(0, 1000)));
    const store = new MemoryStore();
    await DataFrame.put(
      store,
      'ev',
      DataFrame.fromColumns({ d: { type: 'd', values: d }, t: { type: 'T', values: t }, v: { type: 'L', values: v } }),
      { chunkRows: 100 },
    );
    const got = await DataFrame.sql(
      store,
      "SELECT d, count(*) AS n, sum(v) AS total FROM ev WHERE t >= '2024-01-01T00:00:00Z' GROUP BY d ORDER BY d DESC",
    );
    const ref = new Map<number, { n: number; s: bigint }>();
    for (let r = 0; r < n; r++) {
      if (d[r]! < day0) continue;
      const e = ref.get(d[r]!) ?? { n: 0, s: 0n };
      e.n++;
      e.s += v[r]!;
      ref.set(d[r]!, e);
    }
    const want: Value[][] = [...ref.keys()].sort((a, b) => b - a).map((k) => [k, ref.get(k)!.n, ref.get(k)!.s]);
    expect(rowsOf(got)).toEqual(want);
    expect(formatDate(got.get('d', 0) as number)).toBe('2024-01-06');
    const years = await DataFrame.sql(
      store,
      'SELECT EXTRACT(YEAR FROM t) AS y, count(*) AS n FROM ev GROUP BY 1 ORDER BY 1',
    );
    const y2023 = d.filter((x) => x < day0).length;
    expect(rowsOf(years)).toEqual([
      [2023, y2023],
      [2024, n - y2023],
    ]);
    const c = await DataFrame.sql(store, 'SELECT CAST(v AS TEXT) AS s FROM ev LIMIT 1');
    expect(c.get('s', 0)).toBe(String(v[0]));
  });
});

// A top-k on a node reads the filter's and the first key's columns of every chunk, the other columns
// only of the chunks holding a candidate (FirstKeyTop: the k best on the first key and every row tied
// with the k-th), skips chunks whose zone map shows they cannot reach the kept rows, and bounds each
// chunk by its own k-th best number first when rows come in the key's order. Checked here against a
// full sort computed row by row, for keys of every ordered type in every arrangement (ascending,
// descending, shuffled, few values, one value; int64 keys too close for doubles to tell apart), and
// by counting the store's reads. Seeded; the seed is printed on failure.

import { describe, expect, it } from 'vitest';
import { DataFrame, col, gt, isNull, not, type Value } from '../../dataframe/index.js';
import { FirstKeyTop, type Ranked, type SortKey } from '../../dataframe/query/sort.js';
import type { Rng } from '../../app/apps/random.js';
import { MemoryStore } from '../support/memory-store.js';
import { InstrumentedStore, rowsOf, seededRng } from './helpers.js';
import { sortRows, type Row } from './verbs-reference.js';

type Arrangement = 'ascending' | 'descending' | 'shuffled' | 'few values' | 'one value';
const ARRANGEMENTS: Arrangement[] = ['ascending', 'descending', 'shuffled', 'few values', 'one value'];

/** n key numbers in the arrangement, about 5% of them null (none with `noNulls`). */
function keyNumbers(rng: Rng, n: number, how: Arrangement, noNulls = false): (number | null)[] {
  const xs = Array.from({ length: n }, (_, i) =>
    how === 'ascending'
      ? i * 3 - 500
      : how === 'descending'
        ? 1e5 - i * 7
        : how === 'few values'
          ? rng.int(0, 6)
          : how === 'one value'
            ? 42
            : rng.int(-1e6, 1e6),
  );
  return xs.map((x) => (!noNulls && rng.bool(0.05) ? null : x));
}

/** `L near 2^62`: int64 keys 1 apart that doubles cannot tell apart (a scan compares them rounded). */
type KeyType = 'I' | 'D' | 'd' | 'L' | 'L near 2^62' | 'T' | 'S';

/** A frame of id (I, unique, frame order), the key column in type t, and two payload columns. */
function frameFor(rng: Rng, n: number, t: KeyType, how: Arrangement): DataFrame {
  const nums = keyNumbers(rng, n, how);
  const key: Value[] = nums.map((x) => {
    if (x === null) return null;
    switch (t) {
      case 'D':
        return x / 4;
      case 'L':
        return BigInt(x) * 10_000_000_000n;
      case 'L near 2^62':
        return 2n ** 62n + BigInt(x);
      case 'T':
        return 1_700_000_000_000_000n + BigInt(x) * 60_000_000n;
      case 'S':
        // Zero-padded so that text order is number order (negatives before positives, as in text).
        return `${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(8, '0')}`;
      default:
        return x;
    }
  });
  return DataFrame.fromColumns({
    id: Int32Array.from({ length: n }, (_, i) => i),
    key: { type: t === 'L near 2^62' ? 'L' : t, values: key } as never,
    word: Array.from({ length: n }, () => rng.word(rng.int(1, 5))),
    v: Float64Array.from({ length: n }, () => rng.int(-1000, 1000) / 8),
  });
}

describe('late top-k', () => {
  it('FirstKeyTop keeps every row that can be in a top-k by the full keys, and only those', () => {
    const rng = seededRng();
    for (let round = 0; round < 300; round++) {
      const n = rng.int(0, 400);
      const k = rng.int(1, 30);
      const key: SortKey = { col: 'x', desc: rng.bool(), nulls: rng.bool() ? 'first' : 'last' };
      const firsts: Value[] = Array.from({ length: n }, () =>
        rng.bool(0.1) ? null : rng.bool(0.05) ? Number.NaN : rng.int(0, rng.pick([3, 20, 1000])),
      );
      const seconds = Array.from({ length: n }, () => rng.int(0, 50));
      const top = new FirstKeyTop(k, key, 1e9);
      // Offered as a scan offers them: rows the heap certainly rejects are not offered.
      firsts.forEach((v, row) => {
        if (!top.rejectsFirst(v)) top.push({ keys: [v], chunk: row >> 6, row: row & 63, values: [] });
      });
      expect(top.overflow).toBe(false);
      const got = new Set(top.candidates().map((r) => r.chunk * 64 + r.row));
      // The reference: the k-th best first key, NaN above every number, nulls where the key says.
      const rank = (v: Value): number =>
        v === null
          ? key.nulls === 'first'
            ? -Infinity
            : Infinity
          : (v as number) !== (v as number)
            ? key.desc
              ? -1e9
              : 1e9
            : key.desc
              ? -(v as number)
              : (v as number);
      const ranks = firsts.map(rank);
      const kth = [...ranks].sort((a, b) => a - b)[k - 1];
      const want = new Set(ranks.flatMap((r, i) => (kth === undefined || r <= kth ? [i] : [])));
      expect(
        [...got].sort((a, b) => a - b),
        `round ${round}`,
      ).toEqual([...want].sort((a, b) => a - b));
      // And it holds the top k by (first key, second key, position).
      const byFull = ranks
        .map((r, i) => [r, seconds[i]!, i] as const)
        .sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
        .slice(0, k);
      for (const [, , i] of byFull) expect(got.has(i)).toBe(true);
    }
  });

  it('FirstKeyTop gives up past its tie limit, and takes it back when the ties are beaten', () => {
    const key: SortKey = { col: 'x', desc: true };
    const row = (v: number, i: number): Ranked => ({ keys: [v], chunk: 0, row: i, values: [] });
    const top = new FirstKeyTop(2, key, 5);
    for (let i = 0; i < 10; i++) top.push(row(1, i));
    expect(top.overflow).toBe(true);
    // Two better rows: every row of 1 is beaten by k rows, so none of the dropped ones is missed.
    top.push(row(5, 10));
    expect(top.overflow).toBe(true); // one row of 1 still ties with the worst kept
    top.push(row(6, 11));
    expect(top.overflow).toBe(false);
    expect(top.candidates().map((r) => r.keys[0])).toEqual([5, 6]);
  });

  it('equals a full sort for every ordered key type, arrangement, direction and null placement', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    for (const t of ['I', 'D', 'd', 'L', 'L near 2^62', 'T', 'S'] as const) {
      for (const how of ARRANGEMENTS) {
        const n = rng.int(1500, 3000);
        const df = frameFor(rng, n, t, how);
        await DataFrame.put(store, 'f', df, { chunkRows: rng.pick([128, 256, 1000]) });
        const lf = await DataFrame.get(store, 'f');
        const rows = rowsOf(df);
        for (let q = 0; q < 6; q++) {
          const desc = rng.bool();
          const nullsFirst = rng.bool(0.3);
          const k = rng.pick([1, 3, 10, 50]);
          const offset = rng.pick([0, 0, 2]);
          const filtered = rng.bool(0.4);
          const second = rng.bool(0.5);
          const keep = (r: Row): boolean => !filtered || r[1] !== null;
          const keys: [number, boolean, boolean][] = [[1, desc, nullsFirst]];
          if (second) keys.push([3, true, false]);
          const want = sortRows(rows.filter(keep), keys).slice(offset, offset + k);
          let query = filtered ? lf.filter(not(isNull(col('key')))) : lf.query();
          query = query.orderBy(
            { col: 'key', desc, nulls: nullsFirst ? 'first' : 'last' },
            ...(second ? [{ col: 'v', desc: true }] : []),
          );
          const got = rowsOf(await query.offset(offset).limit(k).collect());
          expect(
            got,
            `${t} ${how} desc=${desc} nullsFirst=${nullsFirst} k=${k} offset=${offset} filtered=${filtered} second=${second}`,
          ).toEqual(want);
        }
      }
    }
  });

  it('reads the other columns of the chunks holding candidates only, and no chunk a zone map rules out', async () => {
    const rng = seededRng();
    const n = 16 * 500;
    const chunkReads = async (how: Arrangement): Promise<{ gets: number; got: Value[][]; want: Value[][] }> => {
      const inner = new MemoryStore();
      const df = DataFrame.fromColumns({
        id: Int32Array.from({ length: n }, (_, i) => i),
        key: { type: 'I', values: keyNumbers(rng, n, how, true) },
        word: Array.from({ length: n }, () => rng.word(3)),
        v: Float64Array.from({ length: n }, () => rng.int(0, 100)),
        w: Float64Array.from({ length: n }, () => rng.int(0, 100)),
      });
      await DataFrame.put(inner, 'f', df, { chunkRows: 500 });
      const store = new InstrumentedStore(inner);
      const lf = await DataFrame.get(store, 'f');
      store.gets = 0;
      const got = rowsOf(await lf.orderBy({ col: 'key', desc: true }).limit(10).collect());
      const want = sortRows(rowsOf(df), [[1, true, false]]).slice(0, 10);
      return { gets: store.gets, got, want };
    };
    // Ascending keys: the last chunk's zone is the best; it is read alone first, and after it every
    // other chunk's best is below the 10th kept key, so one chunk is read (its five columns) and the
    // version check's record. Without the zone order and pruning, 16 key columns.
    const asc = await chunkReads('ascending');
    expect(asc.got).toEqual(asc.want);
    expect(asc.gets).toBeLessThanOrEqual(5 + 1);
    // Shuffled keys: every chunk's key column, the other four columns of at most 10 chunks.
    const shuf = await chunkReads('shuffled');
    expect(shuf.got).toEqual(shuf.want);
    expect(shuf.gets).toBeGreaterThanOrEqual(16);
    expect(shuf.gets).toBeLessThanOrEqual(16 + 4 * 10 + 1);
    // One value everywhere: 8,000 ties stay under the tie limit, every chunk is a candidate's, and the
    // answer is frame order.
    const one = await chunkReads('one value');
    expect(one.got).toEqual(one.want);
    expect(one.got.map((r) => r[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('past the tie limit reads every column as a plain top-k, with the same answer', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const n = 20_000; // more rows tied than the 16,384 a late top-k keeps
    const df = DataFrame.fromColumns({
      id: Int32Array.from({ length: n }, (_, i) => i),
      key: { type: 'D', values: Array.from({ length: n }, () => (rng.bool(0.01) ? 1 : 0)) },
      v: Float64Array.from({ length: n }, () => rng.int(0, 9)),
    });
    await DataFrame.put(store, 'f', df, { chunkRows: 1024 });
    const lf = await DataFrame.get(store, 'f');
    const rows = rowsOf(df);
    for (const k of [5, 250, 400]) {
      const want = sortRows(rows, [
        [1, false, false],
        [2, true, false],
      ]).slice(0, k);
      const got = rowsOf(await lf.orderBy('key', '-v').limit(k).collect());
      expect(got, `k=${k}`).toEqual(want);
    }
    // And under a filter on another column.
    const want = sortRows(
      rows.filter((r) => (r[2] as number) > 4),
      [[1, false, false]],
    ).slice(0, 30);
    expect(
      rowsOf(
        await lf
          .filter(gt(col('v'), 4))
          .orderBy('key')
          .limit(30)
          .collect(),
      ),
    ).toEqual(want);
  });

  it('explain says what a top-k reads: the first key and filter columns first, the rest late', async () => {
    const store = new MemoryStore();
    const df = DataFrame.fromColumns({
      id: Int32Array.from({ length: 1000 }, (_, i) => i),
      x: Float64Array.from({ length: 1000 }, (_, i) => i % 7),
      s: Array.from({ length: 1000 }, (_, i) => `s${i % 5}`),
    });
    await DataFrame.put(store, 'f', df, { chunkRows: 100 });
    const lf = await DataFrame.get(store, 'f');
    const lines = lf
      .filter(gt(col('x'), 2))
      .orderBy('-id')
      .limit(10)
      .explain()
      .split('\n');
    expect(lines[1]).toBe(
      '  read columns: id, x of every chunk, chunks with the best id by their zone maps first; a chunk that cannot reach the kept rows is not read',
    );
    expect(lines[2]).toBe(
      '  then s of the chunks holding a row that can be among the best 10 on id (ties with the 10th included; past 16384 ties, of every chunk)',
    );
    // Without a limit, in memory, or joined: every column the plan reads, of every chunk.
    expect(lf.orderBy('-id').explain().split('\n')[1]).toBe('  read columns: id, x, s');
    expect(df.orderBy('-id').limit(3).explain().split('\n')[1]).toBe('  read columns: id, x, s');
    const dim = DataFrame.fromColumns({ code: ['s1', 's2'], t: ['a', 'b'] });
    expect(
      lf
        .join(dim, { on: [['s', 'code']] })
        .orderBy('-id')
        .limit(3)
        .explain(),
    ).toContain('  read columns: id, x, s, code, t');
  });
});

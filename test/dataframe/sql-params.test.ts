// Statement parameters ($1, $2, ...): each value stands where a literal would, of its own type, and is
// never read as SQL. The references are the frame's rows filtered in plain JavaScript.

import { describe, expect, it } from 'vitest';
import { Eau2Error } from '../../kv/index.js';
import { DataFrame, type SqlParam, type Value } from '../../dataframe/index.js';
import { cachedPlans } from '../../dataframe/sql/run.js';
import { MemoryStore } from '../support/memory-store.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

const DAY_US = 86_400_000_000n;

async function fixture(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await DataFrame.put(
    store,
    'p',
    DataFrame.fromRows('id:I,l:L,s:S,dt:d,t:T,x:D', [
      [1, 9007199254740993n, 'a', 0, 0n, 1.5],
      [2, 9007199254740992n, "b' OR 1=1 --", 1, DAY_US, -2],
      [3, 5n, null, null, null, null],
      [4, -9223372036854775808n, '$1', 2, 2n * DAY_US + 1n, 0.25],
    ]),
    { chunkRows: 2 },
  );
  return store;
}

const ids = async (store: MemoryStore, sql: string, params: SqlParam[]): Promise<Value[]> =>
  rowsOf(await DataFrame.sql(store, sql, { params })).map((r) => r[0] as Value);

async function failure(p: Promise<unknown>): Promise<Eau2Error | TypeError> {
  try {
    await p;
  } catch (e) {
    return e as Eau2Error | TypeError;
  }
  throw new Error('expected the statement to fail');
}

describe('SQL statement parameters', () => {
  it('bind each type where a literal stands, exactly', async () => {
    const store = await fixture();
    expect(await ids(store, 'SELECT id FROM p WHERE l = $1', [9007199254740993n])).toEqual([1]);
    expect(await ids(store, 'SELECT id FROM p WHERE l = $1', [-9223372036854775808n])).toEqual([4]);
    // JSON and other text sources pass an int64 as its digits, cast in the statement.
    expect(await ids(store, 'SELECT id FROM p WHERE l = $1::bigint', ['9007199254740992'])).toEqual([2]);
    expect(await ids(store, 'SELECT id FROM p WHERE l IN ($1, $2)', [5, 9007199254740993n])).toEqual([1, 3]);
    expect(await ids(store, 'SELECT id FROM p WHERE x > $1 AND x < $2', [0.25, 2])).toEqual([1]);
    expect(await ids(store, 'SELECT id FROM p WHERE t >= $1', [new Date(86_400_000)])).toEqual([2, 4]);
    expect(await ids(store, 'SELECT id FROM p WHERE t IN ($1, $2)', [new Date(0), new Date(1)])).toEqual([1]);
    expect(await ids(store, "SELECT id FROM p WHERE dt IN ('1970-01-03'::date, $1)", ['1970-01-02'])).toEqual([2, 4]);
    expect(await ids(store, 'SELECT id FROM p WHERE dt = $1', ['1970-01-02'])).toEqual([2]);
    expect(await ids(store, 'SELECT id FROM p WHERE (x > 0) = $1', [false])).toEqual([2]);
    expect(await ids(store, 'SELECT id FROM p WHERE COALESCE(s, $1) = $1', ['none'])).toEqual([3]);
    expect(await ids(store, 'SELECT id FROM p WHERE s LIKE $1', ['b%'])).toEqual([2]);
    expect(await ids(store, 'SELECT id FROM p ORDER BY id DESC LIMIT $1 OFFSET $2', [2, 1])).toEqual([3, 2]);
    expect(await ids(store, 'SELECT id FROM p WHERE l = -$1', [-5])).toEqual([3]);
    const typed = await DataFrame.sql(store, 'SELECT $1 AS a, $2 AS b, $3 AS c, $4 AS d, $5 AS e FROM p LIMIT 1', {
      params: [7, 2.5, 'z', 42n, null],
    });
    expect(typed.fields.map((f) => f.type).slice(0, 4)).toEqual(['D', 'D', 'S', 'L']);
    expect(rowsOf(typed)).toEqual([[7, 2.5, 'z', 42n, null]]);
  });

  it('never read a value as SQL', async () => {
    const store = await fixture();
    expect(await ids(store, 'SELECT id FROM p WHERE s = $1', ["' OR 1=1 --"])).toEqual([]);
    expect(await ids(store, 'SELECT id FROM p WHERE s = $1', ["b' OR 1=1 --"])).toEqual([2]);
    // A `$1` inside a string literal is text, and a value that spells a parameter is a value.
    expect(await ids(store, "SELECT id FROM p WHERE s = '$1'", [])).toEqual([4]);
    expect(await ids(store, 'SELECT id FROM p WHERE s = $1', ['$1'])).toEqual([4]);
  });

  it('keep a plan per statement and values, never answering one values with another', async () => {
    const store = await fixture();
    const sql = 'SELECT id FROM p WHERE id > $1 ORDER BY id';
    expect(await ids(store, sql, [2])).toEqual([3, 4]);
    expect(await ids(store, sql, [3])).toEqual([4]);
    expect(await ids(store, sql, [2])).toEqual([3, 4]);
    // 2 and 2n are different values (a double and an int64) with plans of their own.
    expect(await ids(store, sql, [2n])).toEqual([3, 4]);
    expect(cachedPlans(store)).toBe(3);
  });

  it('refuse missing, unused and unbindable values, pointing at the parameter', async () => {
    const store = await fixture();
    const missing = await failure(DataFrame.sql(store, 'SELECT id FROM p WHERE id = $2', { params: [1] }));
    expect(missing).toBeInstanceOf(Eau2Error);
    expect(missing.message).toMatch(/no value for \$2: 1 parameter given \(line 1, column 29\)/);
    const none = await failure(DataFrame.sql(store, 'SELECT id FROM p WHERE id = $1'));
    expect(none.message).toMatch(/no value for \$1: 0 parameters given/);
    const unused = await failure(DataFrame.sql(store, 'SELECT id FROM p WHERE id = $2', { params: [1, 2] }));
    expect(unused.message).toBe('2 parameters given, but the statement does not use $1');
    const extra = await failure(DataFrame.sql(store, 'SELECT id FROM p', { params: [1] }));
    expect(extra.message).toBe('1 parameter given, but the statement does not use $1');
    for (const [bad, why] of [
      [{}, /params\[0\] \(\$1\) is Object: a parameter is a number, bigint, string, boolean, null or Date/],
      [undefined, /params\[0\] \(\$1\) is undefined/],
      [[1], /params\[0\] \(\$1\) is Array/],
      [2n ** 63n, /params\[0\] \(\$1\) is 9223372036854775808, outside the int64 range/],
      [new Date(Number.NaN), /params\[0\] \(\$1\) is an invalid Date/],
    ] as const) {
      const e = await failure(DataFrame.sql(store, 'SELECT id FROM p WHERE id = $1', { params: [bad as never] }));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(why);
    }
    expect((await failure(DataFrame.sql(store, 'SELECT id FROM p', { params: 'x' as never }))).message).toMatch(
      /params must be an array of values, not string/,
    );
    // A value of the wrong type for its place is the planner's error, at the parameter.
    const wrong = await failure(DataFrame.sql(store, 'SELECT id FROM p WHERE id = $1', { params: ['a'] }));
    expect(wrong.message).toMatch(/cannot compare I with S .*\(line 1, column 24\)/);
  });

  it('answer random filters as the rows filtered in JavaScript', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const df = randomFrame(rng, 400);
    await DataFrame.put(store, 'r', df, { chunkRows: 64 });
    const rows = rowsOf(df);
    const at = (name: string): number => df.fields.findIndex((f) => f.name === name);
    const [I, D, S, K] = [at('i'), at('d'), at('s'), at('k')];
    const sql = 'SELECT i, d, s, k FROM r WHERE i >= $1 AND d < $2 AND (s = $3 OR k = $4)';
    for (let round = 0; round < 40; round++) {
      const pick = (c: number): Value => rows[rng.int(0, rows.length - 1)]![c]!;
      const lo = rng.bool(0.5) ? (pick(I) ?? 0) : rng.int(-1000, 1000);
      const hi = rng.bool(0.5) ? (pick(D) ?? 0) : rng.int(-100000, 100000) / 8;
      const s = (pick(S) as string | null) ?? "x' OR 'a'='a";
      const k = rng.pick(['red', 'green', 'blue', 'cyan', "red'--"]);
      const params: SqlParam[] = [lo as number, hi as number, s, k];
      const want = rows
        .filter(
          (r) =>
            r[I] !== null &&
            (r[I] as number) >= (lo as number) &&
            r[D] !== null &&
            (r[D] as number) < (hi as number) &&
            (r[S] === s || r[K] === k),
        )
        .map((r) => [r[I], r[D], r[S], r[K]]);
      expect(rowsOf(await DataFrame.sql(store, sql, { params })), JSON.stringify(params)).toEqual(want);
    }
  });
});

// A join on several key columns finds each left row's matches through nested maps, a level per key
// column: checked against a nested loop that compares keys as group keys do (0 and -0 equal, NaN
// equal to NaN, a null never matching, 5 and 5n different), for inner, left, semi and anti joins,
// over random keys of every kind. Seeded; the seed is printed on failure.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import type { Value } from '../../dataframe/index.js';
import { type JoinType, joinPayload, prepareJoin } from '../../dataframe/query/join.js';
import type { ColumnType, Field } from '../../dataframe/schema.js';
import { columnOf } from './helpers.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

/** Equal as group keys: SameValueZero (0 and -0 alike, NaN equal to NaN). */
const sameKey = (a: Value, b: Value): boolean => a !== null && b !== null && (a === b || (a !== a && b !== b));

function cell(rng: Rng, type: ColumnType): Value {
  if (rng.bool(0.08)) return null;
  if (type === 'I') return rng.int(-3, 3);
  if (type === 'D') return rng.pick([0, -0, 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2]);
  if (type === 'L') return BigInt(rng.int(-2, 2)) * 2n ** 40n;
  return rng.pick(['a', 'b', '', 'a"b', '1']);
}

describe('joins on several keys', () => {
  it('match as a nested loop does, for every join type and key kind', async () => {
    const rng = new Rng(SEED);
    const kinds: ColumnType[] = ['I', 'D', 'L', 'S'];
    for (let t = 0; t < 60; t++) {
      const nk = rng.int(2, 3);
      const types = Array.from({ length: nk }, () => rng.pick(kinds));
      const how = rng.pick<JoinType>(['inner', 'left', 'semi', 'anti']);
      const left: Field[] = [...types.map((ty, j) => ({ name: `a${j}`, type: ty })), { name: 'x', type: 'I' }];
      const right: Field[] = [...types.map((ty, j) => ({ name: `b${j}`, type: ty })), { name: 'y', type: 'I' }];
      const ln = rng.int(0, 120);
      const rn = rng.int(0, 60);
      const lrows = Array.from({ length: ln }, (_, r) => [...types.map((ty) => cell(rng, ty)), r]);
      const rrows = Array.from({ length: rn }, (_, r) => [...types.map((ty) => cell(rng, ty)), 1000 + r]);
      const lcols = left.map((f, j) =>
        columnOf(
          f.type,
          lrows.map((row) => row[j]!),
        ),
      );
      const rcols = right.map((f, j) =>
        columnOf(
          f.type,
          rrows.map((row) => row[j]!),
        ),
      );
      const on = types.map((_, j): [string, string] => [`a${j}`, `b${j}`]);
      const p = prepareJoin(structuredClone(joinPayload(how, on, right, rcols)), left);
      const { load, rowsOf } = p.wrap(
        async () => lcols,
        () => ln,
      );
      const reads = p.fields.map((_, i) => i);
      const out = await load(0, reads);
      const got = Array.from({ length: rowsOf(0) }, (_, r) => reads.map((i) => out[i]!.get(r)));
      const want: Value[][] = [];
      for (const l of lrows) {
        const hits = rrows.filter((rr) => types.every((_, j) => sameKey(l[j]!, rr[j]!)));
        if (how === 'semi') {
          if (hits.length) want.push(l);
        } else if (how === 'anti') {
          if (!hits.length) want.push(l);
        } else if (hits.length) for (const h of hits) want.push([...l, ...h]);
        else if (how === 'left') want.push([...l, ...right.map(() => null)]);
      }
      const text = (rows: Value[][]) =>
        rows.map((r) =>
          r.map((v) => (Object.is(v, -0) ? '-0' : typeof v === 'bigint' ? `${v}n` : String(v))).join(','),
        );
      expect(text(got), `seed ${SEED} (EAU2_TEST_SEED=${SEED}) case ${t}: ${how} on ${types}`).toEqual(text(want));
    }
  });
});

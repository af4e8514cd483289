// The benchmark's frame: int32, float64, bool and string columns of a given length, generated from a
// seed, plus the filter + group-by query it runs and a plain-loop answer to check results against.

import type { KvStore } from '../../kv/index.js';
import { Rng } from '../../app/apps/random.js';
import {
  BoolColumn,
  DataFrame,
  DoubleColumn,
  IntColumn,
  StringColumn,
  and,
  col,
  eq,
  gt,
  type Query,
} from '../../dataframe/index.js';

export interface BenchData {
  n: number;
  id: Int32Array;
  x: Float64Array;
  flag: Uint8Array;
  cat: string[];
}

const CATEGORIES = 1000;

export function generate(n: number, seed: number): BenchData {
  const rng = new Rng(seed);
  const pool = Array.from({ length: CATEGORIES }, (_, k) => `cat-${k}`);
  const id = new Int32Array(n);
  const x = new Float64Array(n);
  const flag = new Uint8Array(n);
  const cat = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    id[i] = rng.int(0, 1_000_000);
    x[i] = rng.next();
    flag[i] = rng.bool() ? 1 : 0;
    cat[i] = pool[rng.int(0, CATEGORIES - 1)]!;
  }
  return { n, id, x, flag, cat };
}

export function toFrame(d: BenchData): DataFrame {
  return DataFrame.fromFields(
    [
      { name: 'id', type: 'I' },
      { name: 'x', type: 'D' },
      { name: 'flag', type: 'B' },
      { name: 'cat', type: 'S' },
    ],
    [
      new IntColumn(d.id, d.n, undefined),
      new DoubleColumn(d.x, d.n, undefined),
      new BoolColumn(d.flag, d.n, undefined),
      new StringColumn(d.cat, d.n, undefined),
    ],
  );
}

/** x > 0.25 AND flag, grouped by cat: sum(id), mean(x), count(*). */
export function benchQuery(q: Query): Promise<DataFrame> {
  return q
    .filter(and(gt(col('x'), 0.25), eq(col('flag'), true)))
    .groupBy('cat')
    .agg({ id: 'sum', x: 'mean', '*': 'count' });
}

/** The same query as one plain loop over the arrays: the floor any engine is measured against. */
export function plainQuery(d: BenchData): Map<string, { sum: number; xs: number; n: number }> {
  const out = new Map<string, { sum: number; xs: number; n: number }>();
  for (let i = 0; i < d.n; i++) {
    if (!(d.x[i]! > 0.25 && d.flag[i] === 1)) continue;
    let g = out.get(d.cat[i]!);
    if (!g) out.set(d.cat[i]!, (g = { sum: 0, xs: 0, n: 0 }));
    g.sum += d.id[i]!;
    g.xs += d.x[i]!;
    g.n++;
  }
  return out;
}

/** Checks a query result against the plain loop (sums of ints exactly, means to 1e-9). */
export function checkResult(
  df: DataFrame,
  want: Map<string, { sum: number; xs: number; n: number }>,
): string | undefined {
  if (df.nrows !== want.size) return `${df.nrows} groups, expected ${want.size}`;
  for (const r of df.toObjects()) {
    const w = want.get(r.cat as string);
    if (!w) return `unexpected group ${String(r.cat)}`;
    if (r.id_sum !== w.sum || r.count !== w.n || Math.abs((r.x_mean as number) - w.xs / w.n) > 1e-9)
      return `group ${String(r.cat)} differs`;
  }
  return undefined;
}

/** A checksum over every value, so a read really decodes every column. */
export interface Checksum {
  idSum: number;
  xSum: number;
  trues: number;
  catChars: number;
}

export function checksumArrays(d: BenchData): Checksum {
  const c: Checksum = { idSum: 0, xSum: 0, trues: 0, catChars: 0 };
  for (let i = 0; i < d.n; i++) {
    c.idSum += d.id[i]!;
    c.xSum += d.x[i]!;
    c.trues += d.flag[i]!;
    c.catChars += d.cat[i]!.length;
  }
  return c;
}

export function sameChecksum(a: Checksum, b: Checksum): boolean {
  return (
    a.idSum === b.idSum &&
    a.trues === b.trues &&
    a.catChars === b.catChars &&
    Math.abs(a.xSum - b.xSum) <= 1e-6 * Math.abs(a.xSum)
  );
}

/** Reads every row of stored frame `name` through a lent scan and sums it like checksumArrays. */
export async function scanChecksum(store: KvStore, name: string, concurrency: number): Promise<Checksum> {
  const lf = await DataFrame.get(store, name, { concurrency });
  const c: Checksum = { idSum: 0, xSum: 0, trues: 0, catChars: 0 };
  // A lent scan: each chunk's arrays are refilled once the loop moves on (docs/dataframe.md "Lazy
  // frames"). Strings are read one by one (cat.get), as the Arrow read does, rather than through
  // `values`, which would build an array of 65,536 row pointers per dictionary chunk.
  for await (const chunk of lf.chunks({ lend: true })) {
    const id = chunk.column('id', 'I').values;
    const x = chunk.column('x', 'D').values;
    const flag = chunk.column('flag', 'B').values;
    const cat = chunk.column('cat', 'S');
    for (let i = 0; i < id.length; i++) {
      c.idSum += id[i]!;
      c.xSum += x[i]!;
      c.trues += flag[i]!;
      c.catChars += cat.get(i)!.length;
    }
  }
  return c;
}

// describe(): summary statistics of every column in one pass over the data (one aggregate query, so
// on a cluster each node summarises the chunks it leads and the client merges the sketches): count,
// nulls, approximate distinct count (HyperLogLog, ~1.6% error), min, max, and for numeric columns
// mean, std and the quartiles (KLL, rank error ~1.65%). One row per column; min and max are shown as
// text since columns differ in type. DataFrame and LazyFrame run describeAggs as one query and turn
// its single row into the summary with describeRows.

import type { Field, Value } from '../schema.js';
import type { AggSpec } from './plan.js';

/** The summary's schema: one row per column of the described frame. */
export const DESCRIBE_SCHEMA =
  'column:S,type:S,count:D,nulls:D,distinct:D,min:S,max:S,mean:D,std:D,q25:D,median:D,q75:D';

/** The aggregates describe() runs, in one pass. */
export function describeAggs(fields: readonly Field[]): AggSpec[] {
  const aggs: AggSpec[] = [{ col: '*', fn: 'count', as: 'rows' }];
  fields.forEach((f, i) => {
    aggs.push({ col: f.name, fn: 'count', as: `${i}.count` });
    aggs.push({ col: f.name, fn: 'approxCountDistinct', as: `${i}.distinct` });
    aggs.push({ col: f.name, fn: 'min', as: `${i}.min` });
    aggs.push({ col: f.name, fn: 'max', as: `${i}.max` });
    if (f.type === 'I' || f.type === 'D') {
      aggs.push({ col: f.name, fn: 'mean', as: `${i}.mean` });
      aggs.push({ col: f.name, fn: 'std', as: `${i}.std` });
      aggs.push({ col: f.name, fn: 'quantile', q: 0.25, as: `${i}.q25` });
      aggs.push({ col: f.name, fn: 'quantile', q: 0.5, as: `${i}.median` });
      aggs.push({ col: f.name, fn: 'quantile', q: 0.75, as: `${i}.q75` });
    }
  });
  return aggs;
}

/** The summary rows (DESCRIBE_SCHEMA) from the one-row result of describeAggs. */
export function describeRows(
  fields: readonly Field[],
  r: { readonly fields: readonly Field[]; get(col: number, row: number): Value },
): Value[][] {
  const get = (name: string): Value => {
    const k = r.fields.findIndex((f) => f.name === name);
    return k < 0 ? null : r.get(k, 0);
  };
  const rows = get('rows') as number;
  const text = (v: Value): string | null => (v === null ? null : String(v));
  return fields.map((f, i) => {
    const count = get(`${i}.count`) as number;
    return [
      f.name,
      f.type,
      count,
      rows - count,
      get(`${i}.distinct`),
      text(get(`${i}.min`)),
      text(get(`${i}.max`)),
      get(`${i}.mean`),
      get(`${i}.std`),
      get(`${i}.q25`),
      get(`${i}.median`),
      get(`${i}.q75`),
    ];
  });
}

// describe(): summary statistics of every column in one pass over the data (one aggregate query, so
// on a cluster each node summarises the chunks it leads and the client merges the sketches): count,
// nulls, approximate distinct count (HyperLogLog, ~1.6% error), min, max, and for numeric columns
// mean, std and the quartiles (KLL, rank error ~1.65%). One row per column; min and max are shown as
// text since columns differ in type.

import { DataFrame } from '../dataframe.js';
import type { Field, Value } from '../schema.js';
import type { AggSpec } from './plan.js';
import type { Query } from './query.js';

export async function describeFrame(q: Query, fields: readonly Field[]): Promise<DataFrame> {
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
  const r = await q.run({ ...q.plan, aggs });
  const get = (name: string): Value => {
    const k = r.fields.findIndex((f) => f.name === name);
    return k < 0 ? null : r.get(k, 0);
  };
  const rows = get('rows') as number;
  const text = (v: Value): string | null => (v === null ? null : String(v));
  return DataFrame.fromRows(
    'column:S,type:S,count:D,nulls:D,distinct:D,min:S,max:S,mean:D,std:D,q25:D,median:D,q75:D',
    fields.map((f, i) => {
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
    }),
  );
}

// Trivial: the first eau2 application. A million doubles are stored as a frame, read back lazily, and
// their sum checked exactly, both by scanning the chunks here and by a sum query run where the data is.

import type { KvStore } from '../../kv/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { timed, type AppOptions, type AppResult } from './app.js';

export async function trivial(store: KvStore, opts: AppOptions & { n?: number } = {}): Promise<AppResult> {
  const n = opts.n ?? 1_000_000;
  return timed('Trivial', async () => {
    const vals = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += vals[i] = i;
    await DataFrame.put(store, 'triv', DataFrame.fromColumns({ v: vals }));
    const df = await DataFrame.get(store, 'triv');
    const problems: string[] = [];
    if (n > 1 && (await df.get('v', 1)) !== 1) problems.push('get(v, 1) is not 1');
    // Subtract every value read back, in order: integers below 2^53 make this exact.
    let left = sum;
    for await (const chunk of df.chunks({ lend: true })) {
      const v = chunk.column('v', 'D').values;
      for (let i = 0; i < v.length; i++) left -= v[i]!;
    }
    if (left !== 0) problems.push(`sum minus the values read back is ${left}, not 0`);
    const queried = await df.sum('v');
    if (queried !== sum) problems.push(`sum query gave ${queried}, expected ${sum}`);
    opts.log?.(`Trivial: ${n} doubles, ${df.nchunks} chunks, sum ${sum}`);
    return {
      ok: problems.length === 0,
      summary: problems.length ? problems.join('; ') : `${n} doubles stored and read back, sum ${sum} checked twice`,
    };
  });
}

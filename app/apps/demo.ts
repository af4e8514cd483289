// Demo: three cooperating clients. The producer stores 100,000 doubles ("main") and their sum
// ("check"); the counter waits for "main", sums it and stores its sum ("verify"); the summarizer waits
// for both sums and prints SUCCESS when they agree. The clients are started in reverse order so the
// waits really wait. Each may have its own store (three ClusterClients) or share one.

import type { KvStore } from '../../kv/index.js';
import { DataFrame, waitAndGet } from '../../dataframe/index.js';
import { timed, type AppOptions, type AppResult } from './app.js';

const MAIN = 'demo-main';
const CHECK = 'demo-check';
const VERIFY = 'demo-verify';

async function producer(kv: KvStore, n: number): Promise<void> {
  const vals = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += vals[i] = i;
  await DataFrame.put(kv, MAIN, DataFrame.fromColumns({ v: vals }));
  await DataFrame.put(kv, CHECK, DataFrame.fromColumns({ sum: [sum] }));
}

async function counter(kv: KvStore, waitMs: number): Promise<number> {
  const v = await waitAndGet(kv, MAIN, waitMs);
  let sum = 0;
  for await (const chunk of v.chunks({ lend: true })) {
    const xs = chunk.column('v', 'D').values;
    for (let i = 0; i < xs.length; i++) sum += xs[i]!;
  }
  await DataFrame.put(kv, VERIFY, DataFrame.fromColumns({ sum: [sum] }));
  return sum;
}

async function summarizer(kv: KvStore, waitMs: number): Promise<{ result: number; expected: number }> {
  const result = (await (await waitAndGet(kv, VERIFY, waitMs)).get(0, 0)) as number;
  const expected = (await (await waitAndGet(kv, CHECK, waitMs)).get(0, 0)) as number;
  return { result, expected };
}

export async function demo(
  stores: KvStore | readonly [KvStore, KvStore, KvStore],
  opts: AppOptions & { n?: number } = {},
): Promise<AppResult> {
  const [s0, s1, s2] = Array.isArray(stores)
    ? (stores as readonly KvStore[])
    : [stores as KvStore, stores as KvStore, stores as KvStore];
  const n = opts.n ?? 100_000;
  const waitMs = opts.waitMs ?? 60_000;
  return timed('Demo', async () => {
    // A previous run's frames would let the waits succeed at once; start from nothing.
    for (const name of [MAIN, CHECK, VERIFY]) await DataFrame.delete(s0!, name);
    const summary = summarizer(s2!, waitMs);
    const count = counter(s1!, waitMs);
    await new Promise((r) => setTimeout(r, 10));
    await producer(s0!, n);
    const [counted, { result, expected }] = await Promise.all([count, summary]);
    const ok = result === expected;
    const verdict = ok ? 'SUCCESS' : 'FAILURE';
    opts.log?.(`Demo: the sum is ${counted}`);
    opts.log?.(verdict);
    return { ok, summary: `${verdict}: counter summed ${result}, producer expected ${expected}` };
  });
}

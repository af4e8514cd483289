// Shared helpers for the dataframe tests: seeded randomness that prints its seed when a test fails,
// random frames with nulls, and a store wrapper that counts, delays or fails operations.

import { onTestFailed } from 'vitest';
import type { BatchOp, KeyLike, KvIterator, KvStore, Range, ValueLike, WriteOptions } from '../../kv/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { Rng, chooseSeed } from '../../app/apps/random.js';
import { DataFrame, type SqlOptions, type Value } from '../../dataframe/index.js';
import { ColumnBuilder } from '../../dataframe/column-builder.js';
import type { Column } from '../../dataframe/column.js';
import type { ColumnType } from '../../dataframe/schema.js';

/** An Rng whose seed is printed if the current test fails (replay with EAU2_SEED=<seed>). */
export function seededRng(): Rng {
  const seed = chooseSeed();
  onTestFailed(() => console.error(`[dataframe test] failed with seed ${seed}: replay with EAU2_SEED=${seed}`));
  return new Rng(seed);
}

/** A column of `type` holding `values` (null where a value is null). */
export function columnOf(type: ColumnType, values: readonly Value[]): Column {
  const b = new ColumnBuilder(type, Math.max(1, values.length));
  for (const v of values)
    if (v === null) b.pushNull();
    else b.push(v);
  return b.finish();
}

/** A random frame with columns i (I), d (D), b (B), s (S), each ~10% null, plus k: a small-cardinality S key. */
export function randomFrame(rng: Rng, n: number): DataFrame {
  const maybe = <T>(v: T): T | null => (rng.bool(0.1) ? null : v);
  const i: (number | null)[] = [];
  const d: (number | null)[] = [];
  const b: (boolean | null)[] = [];
  const s: (string | null)[] = [];
  const k: (string | null)[] = [];
  for (let r = 0; r < n; r++) {
    i.push(maybe(rng.int(-1000, 1000)));
    d.push(maybe(rng.int(-100000, 100000) / 8));
    b.push(maybe(rng.bool()));
    s.push(maybe(rng.word(rng.int(0, 6))));
    k.push(maybe(rng.pick(['red', 'green', 'blue', 'cyan'])));
  }
  return DataFrame.fromColumns({
    i: { type: 'I', values: i },
    d: { type: 'D', values: d },
    b: { type: 'B', values: b },
    s: { type: 'S', values: s },
    k: { type: 'S', values: k },
  });
}

export function rowsOf(df: { rows(): Iterable<Value[]> }): Value[][] {
  return [...df.rows()];
}

/** Wraps a store to count operations, track how many run at once, and fail on demand. */
export class InstrumentedStore implements KvStore {
  inflight = 0;
  maxInflight = 0;
  puts = 0;
  gets = 0;
  batches = 0;
  /** Fail the n-th batch (1-based) and every one after it, when set. */
  failBatchFrom?: number;
  /** Fail every put of a key starting with this prefix. */
  failPutPrefix?: string;
  delayMs = 0;

  constructor(readonly inner: KvStore) {}

  private async track<T>(f: () => Promise<T>): Promise<T> {
    this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      return await f();
    } finally {
      this.inflight--;
    }
  }

  get(key: KeyLike): Promise<Uint8Array | undefined> {
    this.gets++;
    return this.track(() => this.inner.get(key));
  }

  put(key: KeyLike, value: ValueLike, opts?: WriteOptions): Promise<void> {
    this.puts++;
    if (this.failPutPrefix !== undefined && String(key).startsWith(this.failPutPrefix)) {
      return Promise.reject(new Eau2Error(ErrorCode.IO, `injected put failure at ${String(key)}`));
    }
    return this.track(() => this.inner.put(key, value, opts));
  }

  del(key: KeyLike, opts?: WriteOptions): Promise<void> {
    return this.track(() => this.inner.del(key, opts));
  }

  batch(ops: BatchOp[], opts?: WriteOptions): Promise<void> {
    this.batches++;
    if (this.failBatchFrom !== undefined && this.batches >= this.failBatchFrom && ops.some((o) => o.type === 'put')) {
      return Promise.reject(new Eau2Error(ErrorCode.IO, `injected failure of batch ${this.batches}`));
    }
    return this.track(() => this.inner.batch(ops, opts));
  }

  scan(range?: Range): KvIterator {
    return this.inner.scan(range);
  }
}

/** A SQL statement's result as `name:type` column labels and rows. */
export async function sqlResult(
  store: KvStore,
  text: string,
  opts: SqlOptions = {},
): Promise<{ names: string[]; rows: Value[][] }> {
  const df = await DataFrame.sql(store, text, opts);
  return { names: df.fields.map((f) => `${f.name}:${f.type}`), rows: rowsOf(df) };
}

/** The error `p` rejects with; the test fails if it resolves. */
export async function failure(p: Promise<unknown>): Promise<Eau2Error> {
  try {
    await p;
  } catch (e) {
    return e as Eau2Error;
  }
  throw new Error('expected the statement to fail');
}

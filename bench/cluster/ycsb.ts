// YCSB core workloads A, B, C and F for any key/value target: 1 KB records, keys chosen by YCSB's
// scrambled zipfian distribution (theta 0.99, so a few keys are hot but they are spread over the key
// space and hence over partitions / slots), a fixed number of requests kept in flight. Latency is
// per operation (a read-modify-write of F counts as one operation, as YCSB reports it). Every phase
// runs for a fixed time rather than a fixed number of operations, so a fast system is measured as
// long as a slow one.

import { rng } from '../engine/keys.js';
import { Histogram, type LatencySummary } from '../lib/histogram.js';

export interface Target {
  name: string;
  read(key: string): Promise<unknown>;
  update(key: string, value: Uint8Array): Promise<void>;
}

export interface Workload {
  name: 'A' | 'B' | 'C' | 'F';
  read: number;
  update: number;
  rmw: number;
}

export const WORKLOADS: Workload[] = [
  { name: 'A', read: 0.5, update: 0.5, rmw: 0 },
  { name: 'B', read: 0.95, update: 0.05, rmw: 0 },
  { name: 'C', read: 1, update: 0, rmw: 0 },
  { name: 'F', read: 0.5, update: 0, rmw: 0.5 },
];

const RECORD_BYTES = 1024;

/** YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record synthetic databases"). */
class Zipfian {
  private readonly zetan: number;
  private readonly alpha: number;
  private readonly eta: number;
  private readonly half: number;

  constructor(
    private readonly n: number,
    readonly theta = 0.99,
  ) {
    let z = 0;
    for (let i = 1; i <= n; i++) z += 1 / i ** theta;
    this.zetan = z;
    const zeta2 = 1 + 1 / 2 ** theta;
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - (2 / n) ** (1 - theta)) / (1 - zeta2 / z);
    this.half = 1 + 0.5 ** theta;
  }

  next(u: number): number {
    const uz = u * this.zetan;
    if (uz < 1) return 0;
    if (uz < this.half) return 1;
    return Math.min(this.n - 1, Math.floor(this.n * (this.eta * u - this.eta + 1) ** this.alpha));
  }
}

/** FNV-1a over the 4 bytes of i: YCSB scrambles zipfian ranks so hot keys are not neighbours. */
function fnv(i: number): number {
  let h = 0x811c9dc5;
  for (let b = 0; b < 4; b++) {
    h ^= (i >>> (8 * b)) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function keyOf(i: number, prefix = 'user'): string {
  return `${prefix}${String(i).padStart(10, '0')}`;
}

/**
 * Record values: a pool made once per run and picked from per write, so that generating 1 KB of
 * random text per operation (about as much CPU as a request) does not steal the cores the servers
 * run on.
 */
function recordPool(r: () => number, n = 256): () => Uint8Array {
  const pool = Array.from({ length: n }, () => {
    const v = new Uint8Array(RECORD_BYTES);
    for (let i = 0; i < v.length; i++) v[i] = 97 + Math.floor(r() * 26);
    return v;
  });
  return () => pool[Math.floor(r() * n)]!;
}

export interface RunResult {
  workload: string;
  ops: number;
  /** Writes among the ops (updates, inserts, the write of a read-modify-write). */
  writes: number;
  seconds: number;
  opsPerSec: number;
  latency: LatencySummary;
  errors: number;
}

/**
 * Runs `fn(i)` for i = 0, 1, ... with `inFlight` requests outstanding until `durationMs` has passed
 * and at least `minCount` have started; times each one.
 */
async function drive(
  durationMs: number,
  minCount: number,
  inFlight: number,
  fn: (i: number) => Promise<void>,
): Promise<{ count: number; seconds: number; hist: Histogram; errors: number }> {
  const hist = new Histogram();
  let next = 0;
  let errors = 0;
  const deadline = performance.now() + durationMs;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < minCount || performance.now() < deadline) {
        const i = next++;
        const s = process.hrtime.bigint();
        try {
          await fn(i);
        } catch {
          errors++;
        }
        hist.recordNs(Number(process.hrtime.bigint() - s));
      }
    }),
  );
  return { count: next, seconds: Number(process.hrtime.bigint() - t0) / 1e9, hist, errors };
}

/**
 * YCSB's load phase: inserts user0, user1, ... for `durationMs`, and at least `records` of them (the
 * workloads that follow read and update the first `records`).
 */
export async function load(
  t: Target,
  records: number,
  durationMs: number,
  inFlight: number,
  seed: number,
): Promise<RunResult> {
  const r = rng(seed);
  const record = recordPool(r);
  const { count, seconds, hist, errors } = await drive(durationMs, records, inFlight, (i) =>
    t.update(keyOf(i), record()),
  );
  return {
    workload: 'load',
    ops: count,
    writes: count,
    seconds,
    opsPerSec: count / seconds,
    latency: hist.summary(),
    errors,
  };
}

/**
 * One workload for `durationMs` over the first `records` keys. `prefix` other than 'user' runs it on
 * a key space of its own (the warm-up).
 */
export async function run(
  t: Target,
  w: Workload,
  records: number,
  durationMs: number,
  inFlight: number,
  seed: number,
  prefix = 'user',
): Promise<RunResult> {
  const r = rng(seed);
  const record = recordPool(r);
  const zipf = new Zipfian(records);
  let writes = 0;
  const { count, seconds, hist, errors } = await drive(durationMs, 0, inFlight, async () => {
    const key = keyOf(fnv(zipf.next(r())) % records, prefix);
    const u = r();
    if (u < w.read) await t.read(key);
    else if (u < w.read + w.update) {
      writes++;
      await t.update(key, record());
    } else {
      await t.read(key);
      writes++;
      await t.update(key, record());
    }
  });
  return { workload: w.name, ops: count, writes, seconds, opsPerSec: count / seconds, latency: hist.summary(), errors };
}

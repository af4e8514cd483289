// Latency histogram for benchmarks: constant memory, O(1) record, percentiles within ~1.6%.
//
// Why not keep every sample and sort: a 10M-op run would hold 80 MB of doubles in the very process
// whose peak RSS we report. Why not perf_hooks.createHistogram: its record() takes integers and
// goes through a C++ call per sample, which costs more than the sub-microsecond reads we time.
//
// Layout (HdrHistogram's idea, simplified): values are nanoseconds (integers). Values below 2^SUB
// get one bucket each; above that, every power of two is split into 2^SUB linear sub-buckets,
// so the relative error of a bucket is at most 2^-SUB.

const SUB = 6; // 64 sub-buckets per power of two: <= 1.6% error
const SUB_COUNT = 1 << SUB;
const MAX_EXP = 48; // 2^48 ns ~ 78 hours: anything longer is clamped
const BUCKETS = (MAX_EXP - SUB + 2) * SUB_COUNT;

export interface LatencySummary {
  count: number;
  /** All in milliseconds, to match how people read latency tables. */
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = 0;

  /** Records one value in nanoseconds (fractions are truncated; negatives count as 0). */
  recordNs(ns: number): void {
    let v = ns > 0 ? Math.floor(ns) : 0;
    if (v >= 2 ** MAX_EXP) v = 2 ** MAX_EXP - 1;
    this.counts[bucketOf(v)]!++;
    this.n++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Records one value in milliseconds, as performance.now() differences are. */
  recordMs(ms: number): void {
    this.recordNs(ms * 1e6);
  }

  get count(): number {
    return this.n;
  }

  /** The value (ns) at percentile p in [0, 100]; 0 when empty. Returns the bucket's upper edge,
   * clamped to the observed max, so a p100 is the true maximum. */
  percentileNs(p: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(Math.max(upperEdgeOf(b), this.min), this.max);
    }
    return this.max;
  }

  /** Adds another histogram's samples into this one (e.g. per-worker histograms). */
  merge(other: Histogram): void {
    for (let b = 0; b < BUCKETS; b++) this.counts[b]! += other.counts[b]!;
    this.n += other.n;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  summary(): LatencySummary {
    const ms = (ns: number) => ns / 1e6;
    return {
      count: this.n,
      minMs: this.n === 0 ? 0 : ms(this.min),
      meanMs: this.n === 0 ? 0 : ms(this.sum / this.n),
      p50Ms: ms(this.percentileNs(50)),
      p99Ms: ms(this.percentileNs(99)),
      p999Ms: ms(this.percentileNs(99.9)),
      maxMs: ms(this.max),
    };
  }
}

function bucketOf(v: number): number {
  if (v < SUB_COUNT) return v;
  // Exponent of the highest set bit; Math.clz32 only sees 32 bits, so split large values.
  const exp = v < 2 ** 32 ? 31 - Math.clz32(v) : 32 + (31 - Math.clz32(Math.floor(v / 2 ** 32)));
  const shift = exp - SUB;
  const sub = Math.floor(v / 2 ** shift) - SUB_COUNT; // in [0, SUB_COUNT)
  return (shift + 1) * SUB_COUNT + sub;
}

function upperEdgeOf(b: number): number {
  if (b < SUB_COUNT) return b;
  const shift = Math.floor(b / SUB_COUNT) - 1;
  const sub = b % SUB_COUNT;
  return (SUB_COUNT + sub + 1) * 2 ** shift - 1;
}

/** The median of a list of numbers (mean of the middle two for even lengths); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Exact percentile of a small list (nearest-rank); for run-to-run figures, not per-op latency. */
export function percentileOf(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1]!;
}

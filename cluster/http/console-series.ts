// The node's own short history for the console's plots (GET /stats/series, docs/api.md): every
// `intervalMs` it samples what it already counts — HTTP requests per route (from the /metrics
// histogram: rate, p50, p99), replication lag of the partitions it leads, and the engine's write
// amplification, compactions, stalls, block-cache hit rate and memtable size — into a ring of
// `capacity` samples, so "the last ten minutes" needs no Prometheus. Memory is bounded: a fixed
// number of samples, each with the node's fixed set of route labels and at most MAX_LAG_PARTITIONS
// partitions (the most lagging ones when the node leads more).

import type { Histogram } from 'prom-client';

export interface SeriesSource {
  readonly metrics: { readonly httpSeconds: Histogram<'route'> };
  leaderState(): { p: number; lsn: number; followers: { id: string; acked: number; lagSeconds: number }[] }[];
  engineStats(): Record<string, number>;
}

/** Partitions whose lag one sample keeps (the most lagging when the node leads more). */
export const MAX_LAG_PARTITIONS = 64;

interface RouteSample {
  /** Requests per second over the interval. */
  rps: number;
  /** Latency quantiles in milliseconds, interpolated in the histogram's buckets; null without requests. */
  p50: number | null;
  p99: number | null;
}

interface Sample {
  t: number;
  routes: Record<string, RouteSample>;
  /** Per led partition: entries and seconds the slowest follower is behind. */
  lag: Record<string, { entries: number; seconds: number | null }>;
  writeAmplification: number | null;
  /** Compactions finished, write stalls (ms) and slowdowns during the interval. */
  compactions: number | null;
  stallMs: number | null;
  /** Block-cache hits / lookups during the interval; null without lookups. */
  blockCacheHitRate: number | null;
  memtableBytes: number | null;
}

/** What GET /stats/series answers: one array per plotted quantity, aligned with `t`. */
export interface SeriesReport {
  intervalMs: number;
  capacity: number;
  /** Sample times, milliseconds since the epoch. */
  t: number[];
  routes: Record<string, { rps: number[]; p50: (number | null)[]; p99: (number | null)[] }>;
  lag: Record<string, { entries: (number | null)[]; seconds: (number | null)[] }>;
  engine: Record<
    'writeAmplification' | 'compactions' | 'stallMs' | 'blockCacheHitRate' | 'memtableBytes',
    (number | null)[]
  >;
}

type Buckets = Map<string, { le: number[]; counts: number[]; total: number }>;

/** Linear interpolation inside the bucket holding the q-quantile, as Prometheus' histogram_quantile. */
export function bucketQuantile(le: readonly number[], cumulative: readonly number[], q: number): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < le.length; i++) {
    if (cumulative[i]! >= rank) {
      const hi = le[i]!;
      const lo = i === 0 ? 0 : le[i - 1]!;
      // Past the last finite bound nothing is known but "more than": report that bound.
      if (!Number.isFinite(hi)) return lo;
      const below = i === 0 ? 0 : cumulative[i - 1]!;
      const inBucket = cumulative[i]! - below;
      return inBucket <= 0 ? hi : lo + ((hi - lo) * (rank - below)) / inBucket;
    }
  }
  return le[le.length - 1] ?? null;
}

export class SeriesSampler {
  private readonly ring: (Sample | undefined)[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private prevBuckets: Buckets | undefined;
  private prevEngine: Record<string, number> | undefined;
  private prevAt = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly source: SeriesSource,
    readonly intervalMs = 2000,
    readonly capacity = 300,
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 10) throw new TypeError('intervalMs must be an integer >= 10');
    if (!Number.isInteger(capacity) || capacity < 2) throw new TypeError('capacity must be an integer >= 2');
    this.ring = new Array(capacity);
  }

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): Promise<void> {
    // A sample that outlasts the interval (a stalled machine) is not stacked under the next one.
    if (!this.running)
      this.running = this.sample()
        .catch(() => {})
        .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Takes one sample now (the timer calls this; tests call it directly). */
  async sample(now = Date.now()): Promise<void> {
    const buckets = await this.readBuckets();
    const engine = this.source.engineStats();
    const prevB = this.prevBuckets;
    const prevE = this.prevEngine;
    const dt = this.prevAt > 0 ? Math.max(1e-3, (now - this.prevAt) / 1000) : 0;
    this.prevBuckets = buckets;
    this.prevEngine = engine;
    this.prevAt = now;
    // The first reading is only a baseline: rates need two.
    if (!prevB || !prevE || dt === 0) return;
    const routes: Record<string, RouteSample> = {};
    for (const [route, b] of buckets) {
      const before = prevB.get(route);
      const delta = b.counts.map((c, i) => Math.max(0, c - (before?.counts[i] ?? 0)));
      const n = Math.max(0, b.total - (before?.total ?? 0));
      const q50 = bucketQuantile(b.le, delta, 0.5);
      const q99 = bucketQuantile(b.le, delta, 0.99);
      routes[route] = {
        rps: n / dt,
        p50: q50 === null ? null : q50 * 1000,
        p99: q99 === null ? null : q99 * 1000,
      };
    }
    const lags = this.source.leaderState().map((s) => {
      let entries = 0;
      let seconds: number | null = 0;
      for (const f of s.followers) {
        entries = Math.max(entries, Math.max(0, s.lsn - f.acked));
        seconds = Number.isFinite(f.lagSeconds) && seconds !== null ? Math.max(seconds, f.lagSeconds) : null;
      }
      return { p: s.p, entries, seconds };
    });
    lags.sort((a, b) => b.entries - a.entries || a.p - b.p);
    const lag: Sample['lag'] = {};
    for (const l of lags.slice(0, MAX_LAG_PARTITIONS)) lag[String(l.p)] = { entries: l.entries, seconds: l.seconds };
    const d = (k: string): number | null =>
      engine[k] === undefined || prevE[k] === undefined ? null : Math.max(0, engine[k]! - prevE[k]!);
    const hits = d('blockCache_hits');
    const misses = d('blockCache_misses');
    this.push({
      t: now,
      routes,
      lag,
      writeAmplification: engine.writeAmplification ?? null,
      compactions: d('compactions'),
      stallMs: d('stallMs'),
      blockCacheHitRate: hits === null || misses === null || hits + misses === 0 ? null : hits / (hits + misses),
      memtableBytes: engine.memtableBytes ?? null,
    });
  }

  private push(s: Sample): void {
    this.ring[this.next] = s;
    this.next = (this.next + 1) % this.capacity;
  }

  private async readBuckets(): Promise<Buckets> {
    const out: Buckets = new Map();
    const m = await this.source.metrics.httpSeconds.get();
    for (const v of m.values) {
      const labels = v.labels as Record<string, string | number | undefined>;
      const route = String(labels.route ?? '');
      let b = out.get(route);
      if (!b) out.set(route, (b = { le: [], counts: [], total: 0 }));
      if (v.metricName?.endsWith('_bucket')) {
        const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
        b.le.push(le);
        b.counts.push(v.value);
      } else if (v.metricName?.endsWith('_count')) b.total = v.value;
    }
    // prom-client lists buckets in bound order; sort anyway, the quantile needs it.
    for (const b of out.values()) {
      const idx = b.le.map((_, i) => i).sort((x, y) => b.le[x]! - b.le[y]!);
      b.le = idx.map((i) => b.le[i]!);
      b.counts = idx.map((i) => b.counts[i]!);
    }
    return out;
  }

  /** The samples in time order, as arrays aligned with `t` (null where a quantity was not sampled). */
  report(): SeriesReport {
    const samples: Sample[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const s = this.ring[(this.next + i) % this.capacity];
      if (s) samples.push(s);
    }
    const routeNames = new Set<string>();
    const parts = new Set<string>();
    for (const s of samples) {
      for (const r of Object.keys(s.routes)) routeNames.add(r);
      for (const p of Object.keys(s.lag)) parts.add(p);
    }
    const routes: SeriesReport['routes'] = {};
    for (const r of [...routeNames].sort()) {
      routes[r] = {
        rps: samples.map((s) => s.routes[r]?.rps ?? 0),
        p50: samples.map((s) => s.routes[r]?.p50 ?? null),
        p99: samples.map((s) => s.routes[r]?.p99 ?? null),
      };
    }
    const lag: SeriesReport['lag'] = {};
    for (const p of [...parts].sort((a, b) => Number(a) - Number(b))) {
      lag[p] = {
        entries: samples.map((s) => s.lag[p]?.entries ?? null),
        seconds: samples.map((s) => s.lag[p]?.seconds ?? null),
      };
    }
    return {
      intervalMs: this.intervalMs,
      capacity: this.capacity,
      t: samples.map((s) => s.t),
      routes,
      lag,
      engine: {
        writeAmplification: samples.map((s) => s.writeAmplification),
        compactions: samples.map((s) => s.compactions),
        stallMs: samples.map((s) => s.stallMs),
        blockCacheHitRate: samples.map((s) => s.blockCacheHitRate),
        memtableBytes: samples.map((s) => s.memtableBytes),
      },
    };
  }
}

// Seeded pseudo-randomness for the applications' generated data and for tests: the same seed always
// gives the same data, so a failure can be replayed by its printed seed.

/** mulberry32: a tiny 32-bit generator with good enough statistics for test data (not for crypto). */
export class Rng {
  private s: number;

  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bool(pTrue = 0.5): boolean {
    return this.next() < pTrue;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  /** An index in [0, n) skewed towards small values (roughly Zipf-like), as word frequencies are. */
  skewed(n: number): number {
    return Math.min(n - 1, Math.floor((n + 1) ** this.next() - 1));
  }

  /** A lowercase word of `len` letters. */
  word(len: number): string {
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(97 + this.int(0, 25));
    return s;
  }
}

/** A seed from EAU2_SEED if set (to replay a failure), else from the clock. */
export function chooseSeed(): number {
  const env = process.env.EAU2_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isInteger(n)) return n >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

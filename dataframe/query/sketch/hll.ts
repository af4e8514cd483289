// HyperLogLog (Flajolet et al. 2007) for approximate count-distinct, mergeable across nodes. 2^12
// registers: standard error 1.04 / sqrt(4096) = 1.6% (docs/dataframe.md "Sketches"). Values are hashed
// to 52 bits (12 pick the register, 40 give the rank), so no large-range correction is needed below
// ~10^11 distinct values. A sketch starts sparse (the registers it touched, exact for small
// cardinalities and small on the wire: a group with 10 values costs 10 numbers, not 4 KB) and turns
// dense past SPARSE_MAX entries.

const P = 12;
const M = 1 << P;
const SPARSE_MAX = 512;
const ALPHA = 0.7213 / (1 + 1.079 / M);

/** 52 bits of hash of a value as [hi 32, lo 32] (cyrb53's mixing for strings; fmix32 for numbers). */
function hashValue(v: number | string | boolean | bigint): [number, number] {
  let h1: number;
  let h2: number;
  // An int64 (or timestamp) by its decimal digits: a column holds one type, so it never meets strings.
  if (typeof v === 'bigint') v = String(v);
  if (typeof v === 'string') {
    h1 = 0xdeadbeef;
    h2 = 0x41c6ce57;
    for (let i = 0; i < v.length; i++) {
      const ch = v.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
  } else {
    const x = typeof v === 'boolean' ? (v ? 1 : 0) : v === 0 ? 0 : v; // -0 and 0 are one value
    F64[0] = x;
    h1 = U32[0]! ^ 0x9e3779b9;
    h2 = U32[1]! ^ 0x85ebca6b;
    h1 = Math.imul(h1 ^ (h2 >>> 15), 2246822507);
    h2 = Math.imul(h2 ^ (h1 >>> 13), 3266489909);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0];
}
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

export class HyperLogLog {
  /** Sparse form: register -> rank. */
  private sparse: Map<number, number> | undefined = new Map();
  private dense: Uint8Array | undefined;

  add(v: number | string | boolean): void {
    const [hi, lo] = hashValue(v);
    const idx = hi >>> (32 - P);
    // Rank: position of the first 1 bit in the 40 bits after the index (hi's low 20, then lo's top 20).
    const rest = hi & ((1 << (32 - P)) - 1);
    const rank = rest !== 0 ? Math.clz32(rest) - P + 1 : 32 - P + Math.min(Math.clz32(lo), 20) + 1;
    this.set(idx, rank);
  }

  private set(idx: number, rank: number): void {
    if (this.dense) {
      if (rank > this.dense[idx]!) this.dense[idx] = rank;
      return;
    }
    const sp = this.sparse!;
    if (rank > (sp.get(idx) ?? 0)) sp.set(idx, rank);
    if (sp.size > SPARSE_MAX) {
      this.dense = new Uint8Array(M);
      for (const [i, r] of sp) this.dense[i] = r;
      this.sparse = undefined;
    }
  }

  merge(o: HyperLogLog): void {
    if (o.dense) for (let i = 0; i < M; i++) o.dense[i] && this.set(i, o.dense[i]!);
    else for (const [i, r] of o.sparse!) this.set(i, r);
  }

  estimate(): number {
    let sum = 0;
    let zeros = 0;
    if (this.dense) {
      for (let i = 0; i < M; i++) {
        const r = this.dense[i]!;
        sum += 2 ** -r;
        if (r === 0) zeros++;
      }
    } else {
      zeros = M - this.sparse!.size;
      sum = zeros;
      for (const r of this.sparse!.values()) sum += 2 ** -r;
    }
    const e = (ALPHA * M * M) / sum;
    // Small range: linear counting over the empty registers (HLL paper, section 4).
    if (e <= 2.5 * M && zeros > 0) return Math.round(M * Math.log(M / zeros));
    return Math.round(e);
  }

  /** Plain data for the wire: [register*64 + rank, ...] when sparse, else the registers. */
  toPlain(): number[] | Uint8Array {
    if (this.dense) return this.dense;
    return [...this.sparse!].map(([i, r]) => i * 64 + r);
  }

  static fromPlain(x: unknown): HyperLogLog {
    const h = new HyperLogLog();
    if (x instanceof Uint8Array && x.length === M) {
      for (let i = 0; i < M; i++) if (x[i]! > 53) throw new TypeError('bad HyperLogLog register');
      h.dense = new Uint8Array(x);
      h.sparse = undefined;
      return h;
    }
    if (!Array.isArray(x) || x.length > SPARSE_MAX + 1) throw new TypeError('bad HyperLogLog sketch');
    for (const e of x) {
      if (!Number.isInteger(e) || e < 0 || e >= M * 64 || e % 64 > 53) throw new TypeError('bad HyperLogLog entry');
      h.set(Math.floor(e / 64), e % 64);
    }
    return h;
  }
}

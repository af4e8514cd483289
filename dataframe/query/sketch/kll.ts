// KLL quantile sketch (Karnin, Lang, Liberty 2016) over numbers, mergeable across nodes. Level h holds
// items of weight 2^h; when the sketch outgrows its capacity the lowest full level is sorted and every
// other item (a random half) moves up a level with twice the weight. With k = 200 the rank error of a
// quantile is at most ~1.65% of n with 99% confidence (Apache DataSketches' KLL table for k = 200);
// while no level has been compacted (up to ~k * 3 items per sketch), answers are exact.
//
// Before it holds any level, a sketch counts each distinct value exactly (an open-addressing table of
// values and counts), as long as it has seen at most EXACT_DISTINCT distinct values and the query's
// budget lends it the table's slots: a column of few distinct values (delays in whole minutes, ages,
// ratings) then costs a table probe per value rather than the compactions of a deep sketch (one per
// 8 values), and its quantiles are exact. A column's chunk of integers within a few thousand of each
// other is counted first in a dense array by value, and its distinct values' counts go to the table
// once each: the same counts, with one add per value and no probe. Past that, the counts become
// levels without error (each value at the levels of its count's set bits: weight 2^h at level h,
// every rank unchanged) and the sketch goes on as a KLL sketch: it has then compacted less than a
// sketch that took the same values one by one, so its error bound holds.
// docs/dataframe.md "Aggregates".

const K = 200;
/** Distinct values a sketch counts exactly before it becomes a KLL sketch. */
const EXACT_DISTINCT = 1024;
/** The exact table's first size (slots; it doubles while at most half full). */
const EXACT_MIN_SLOTS = 16;

/**
 * Lends table slots to exact sketches, query-wide; false: hold levels instead (memory stays bounded).
 * A refusal takes nothing, so the same request is refused again.
 */
export interface ExactBudget {
  takeSlots(n: number): boolean;
}

/** Without a budget (a sketch built on its own), every sketch may hold its exact table. */
const UNBOUNDED: ExactBudget = { takeSlots: () => true };
const MIN_CAP = 8;
/** Levels of at most this many items are sorted by insertion. */
const SMALL_SORT = 32;

/**
 * Values a chunk's integers are counted in directly, without the table (ExactCounts.denseF64): a
 * window of DENSE_WINDOW values centred on the chunk's first value, so any chunk whose integers span
 * at most DENSE_WINDOW / 2 fits. Only for runs of at least DENSE_MIN_VALUES positions, as adding the
 * window's counts to the table reads every one of its DENSE_WINDOW bins.
 */
const DENSE_WINDOW = 8192;
const DENSE_MIN_VALUES = 4096;
/** The dense counts, all zero between calls (read and cleared within one call), and their nonzero bins. */
let denseBins: Int32Array | undefined;
let denseHit: Int32Array | undefined;

/** Float64Array's sort order: numeric, -0 before 0, NaN after every number. */
function before(a: number, b: number): boolean {
  if (a < b) return true;
  if (a === b) return a === 0 && 1 / a < 0 && 1 / b > 0;
  return a === a && b !== b;
}

/**
 * Counts per distinct value, keyed by the value's 64 bits (so -0 is not 0 and NaN is itself), in
 * open addressing with linear probing; `slots` is a power of two, at most half full.
 */
class ExactCounts {
  keys: Float64Array;
  bits: Uint32Array;
  counts: Float64Array;
  size = 0;
  private readonly probe = new Float64Array(1);
  private readonly probeBits = new Uint32Array(this.probe.buffer);

  constructor(slots: number) {
    this.keys = new Float64Array(slots);
    this.bits = new Uint32Array(this.keys.buffer);
    this.counts = new Float64Array(slots);
  }

  /**
   * The slot of x: its own, or the empty one where it would go. A non-zero integer in the int32
   * range (most columns with few distinct values hold such) is hashed from its int32 value and
   * compared as a number (equal numbers other than 0 and -0 have equal bits); any other value from
   * its 64 bits. Which way a value goes depends on the value only, so each has one place.
   *
   * An integer's slot is the top bits of its product with 2^32 / golden ratio (Fibonacci hashing):
   * a run of consecutive integers (delays in minutes, ages) lands in distinct slots, spread evenly,
   * so a probe almost never has to step (the low bits mixed with the high ones made 15% of the
   * peers bench's delays collide, and each collision's extra step mispredicted: 7.9 -> 4.8 ns a
   * value in isolation).
   */
  private slotOf(x: number): number {
    const mask = this.counts.length - 1;
    const counts = this.counts;
    const xi = x | 0;
    if (xi === x && xi !== 0) {
      // mask is 2^b - 1 with b >= 4, so clz32(mask) = 32 - b: the product's top b bits.
      let i = Math.imul(xi, 0x9e3779b1) >>> Math.clz32(mask);
      const keys = this.keys;
      while (counts[i]! !== 0 && keys[i]! !== x) i = (i + 1) & mask;
      return i;
    }
    this.probe[0] = x;
    const lo = this.probeBits[0]!;
    const hi = this.probeBits[1]!;
    let i = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 0;
    i = (i ^ (i >>> 15)) & mask;
    const bits = this.bits;
    while (counts[i]! !== 0 && (bits[2 * i] !== lo || bits[2 * i + 1] !== hi)) i = (i + 1) & mask;
    return i;
  }

  /** Values counted by the last countF64/countI32. */
  counted = 0;

  /**
   * Counts the values at positions [from, m) of a column (rows sel[j], or j), null rows skipped,
   * while each is in the table already: the position of the first that is not (add() takes it), or
   * m; `counted` says how many were counted. One loop per array type (monomorphic, as group-agg.ts's).
   */
  countF64(
    a: Float64Array,
    nulls: Uint8Array | undefined,
    sel: Uint32Array | undefined,
    from: number,
    m: number,
  ): number {
    const counts = this.counts;
    const keys = this.keys;
    const mask = counts.length - 1;
    const shift = Math.clz32(mask);
    let k = 0;
    for (let j = from; j < m; j++) {
      const r = sel ? sel[j]! : j;
      if (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) continue;
      const x = a[r]!;
      const xi = x | 0;
      let i: number;
      // slotOf's integer path, inlined.
      if (xi === x && xi !== 0) {
        i = Math.imul(xi, 0x9e3779b1) >>> shift;
        while (counts[i]! !== 0 && keys[i]! !== x) i = (i + 1) & mask;
      } else i = this.slotOf(x);
      if (counts[i]! === 0) {
        this.counted = k;
        return j;
      }
      counts[i] = counts[i]! + 1;
      k++;
    }
    this.counted = k;
    return m;
  }

  countI32(
    a: Int32Array,
    nulls: Uint8Array | undefined,
    sel: Uint32Array | undefined,
    from: number,
    m: number,
  ): number {
    const counts = this.counts;
    let k = 0;
    for (let j = from; j < m; j++) {
      const r = sel ? sel[j]! : j;
      if (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) continue;
      const i = this.slotOf(a[r]!);
      if (counts[i]! === 0) {
        this.counted = k;
        return j;
      }
      counts[i] = counts[i]! + 1;
      k++;
    }
    this.counted = k;
    return m;
  }

  /**
   * Counts the values at positions [0, m) of a column (rows sel[j], or j), null rows skipped, in a
   * dense array indexed by value - base while each is an integer within the window (the first value's
   * -DENSE_WINDOW / 2 to +DENSE_WINDOW / 2; -0 counted apart from 0): one add per value with no probe.
   * Stops at the first value that is not such an integer, then adds each distinct value's count to
   * the table at once (commitDense): the position it stopped at, or m, and `counted`; or 0 with
   * nothing counted when the table cannot take the values without ending the exact phase, which the
   * caller then meets value by value where add() would.
   *
   * Without a selection every row is counted, null or not, and the null rows' values taken back out
   * after (a null row's value that does not fit is skipped, not a reason to stop): testing each row's
   * null bit in the loop cost more than the count itself.
   */
  denseF64(
    a: Float64Array,
    nulls: Uint8Array | undefined,
    sel: Uint32Array | undefined,
    m: number,
    budget: ExactBudget,
  ): number {
    let base = 0;
    for (let j = 0; j < m; j++) {
      const r = sel ? sel[j]! : j;
      if (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) continue;
      base = (a[r]! | 0) - DENSE_WINDOW / 2;
      break;
    }
    denseBins ??= new Int32Array(DENSE_WINDOW);
    const bins = denseBins;
    let k = 0;
    let negZero = 0;
    let j = 0;
    if (sel === undefined) {
      for (; j < m; j++) {
        const x = a[j]!;
        const xi = x | 0; // NaN, fractions and values past int32 differ from it
        const i = xi - base;
        if (xi !== x || i < 0 || i >= DENSE_WINDOW) {
          if (nulls !== undefined && ((nulls[j >>> 3]! >>> (j & 7)) & 1) === 1) continue;
          break;
        }
        if (xi === 0 && 1 / x < 0) negZero++;
        bins[i] = bins[i]! + 1;
      }
      k = j;
      if (nulls !== undefined)
        for (let b = 0; b < (j + 7) >>> 3; b++) {
          const nb = nulls[b]!;
          if (nb === 0) continue;
          for (let t = 0; t < 8; t++) {
            const r = 8 * b + t;
            if (((nb >>> t) & 1) === 0 || r >= j) continue;
            k--;
            const x = a[r]!;
            const xi = x | 0;
            const i = xi - base;
            if (xi !== x || i < 0 || i >= DENSE_WINDOW) continue; // skipped above
            if (xi === 0 && 1 / x < 0) negZero--;
            bins[i] = bins[i]! - 1;
          }
        }
    } else
      for (; j < m; j++) {
        const r = sel[j]!;
        if (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) continue;
        const x = a[r]!;
        const xi = x | 0;
        const i = xi - base;
        if (xi !== x || i < 0 || i >= DENSE_WINDOW) break;
        if (xi === 0 && 1 / x < 0) negZero++;
        bins[i] = bins[i]! + 1;
        k++;
      }
    return this.commitDense(base, negZero, k, j, budget);
  }

  denseI32(
    a: Int32Array,
    nulls: Uint8Array | undefined,
    sel: Uint32Array | undefined,
    m: number,
    budget: ExactBudget,
  ): number {
    let base = 0;
    for (let j = 0; j < m; j++) {
      const r = sel ? sel[j]! : j;
      if (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) continue;
      base = a[r]! - DENSE_WINDOW / 2;
      break;
    }
    denseBins ??= new Int32Array(DENSE_WINDOW);
    const bins = denseBins;
    let k = 0;
    let j = 0;
    if (sel === undefined) {
      for (; j < m; j++) {
        const i = a[j]! - base;
        if (i < 0 || i >= DENSE_WINDOW) {
          if (nulls !== undefined && ((nulls[j >>> 3]! >>> (j & 7)) & 1) === 1) continue;
          break;
        }
        bins[i] = bins[i]! + 1;
      }
      k = j;
      if (nulls !== undefined)
        for (let b = 0; b < (j + 7) >>> 3; b++) {
          const nb = nulls[b]!;
          if (nb === 0) continue;
          for (let t = 0; t < 8; t++) {
            const r = 8 * b + t;
            if (((nb >>> t) & 1) === 0 || r >= j) continue;
            k--;
            const i = a[r]! - base;
            if (i >= 0 && i < DENSE_WINDOW) bins[i] = bins[i]! - 1;
          }
        }
    } else
      for (; j < m; j++) {
        const r = sel[j]!;
        if (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) continue;
        const i = a[r]! - base;
        if (i < 0 || i >= DENSE_WINDOW) break;
        bins[i] = bins[i]! + 1;
        k++;
      }
    return this.commitDense(base, 0, k, j, budget);
  }

  /**
   * Adds the dense bins' counts (value base + i; negZero of bin 0's are -0) to the table and clears
   * them: `to` with `counted` = k; or, when the table would pass EXACT_DISTINCT values or the budget
   * refuses its growth, 0 with nothing counted. The table is grown first by the steps add()
   * would take (a refused one leaves it grown as far as add() would have, and the same request is
   * refused again), so the values it holds, their counts and the budget's slots end as if add() had
   * taken each value.
   */
  private commitDense(base: number, negZero: number, k: number, to: number, budget: ExactBudget): number {
    if (k === 0) {
      // No value counted (a null row's may have been, and taken back): every bin is back at 0.
      this.counted = 0;
      return to;
    }
    const bins = denseBins!;
    denseHit ??= new Int32Array(DENSE_WINDOW);
    const hit = denseHit;
    let nh = 0;
    let fresh = 0;
    for (let i = 0; i < DENSE_WINDOW; i++) {
      if (bins[i]! === 0) continue;
      hit[nh++] = i;
      const x = base + i; // an integer: 0 is +0
      // Bin 0 may hold -0s alone: +0 is then no value of the chunk's.
      if ((x !== 0 || bins[i]! > negZero) && this.counts[this.slotOf(x)]! === 0) fresh++;
    }
    if (negZero > 0 && this.counts[this.slotOf(-0)]! === 0) fresh++;
    const ok = this.size + fresh <= EXACT_DISTINCT && this.reserve(fresh, budget);
    for (let h = 0; h < nh; h++) {
      const i = hit[h]!;
      let c = bins[i]!;
      bins[i] = 0;
      if (!ok) continue;
      const x = base + i;
      if (x === 0) c -= negZero;
      if (c > 0) this.put(x, c);
    }
    if (ok && negZero > 0) this.put(-0, negZero);
    this.counted = ok ? k : 0;
    return ok ? to : 0;
  }

  /** Adds c to x's count, x taking an empty slot if new (the caller made room). */
  private put(x: number, c: number): void {
    const i = this.slotOf(x);
    if (this.counts[i]! === 0) {
      this.keys[i] = x;
      this.size++;
    }
    this.counts[i] = this.counts[i]! + c;
  }

  /**
   * Grows the table, before add() takes `values` one by one, to the size add() would grow it to (the
   * budget asked for the same doublings in the same order), in one rehash rather than one per
   * doubling: a partial's 301 values grew a fresh table six times. Only while they fit within
   * EXACT_DISTINCT; a refused doubling is asked for again, and refused, by the add() that needs it.
   */
  reserveFor(values: ArrayLike<number>, budget: ExactBudget): void {
    let fresh = 0;
    for (let j = 0; j < values.length; j++) if (this.counts[this.slotOf(values[j]!)]! === 0) fresh++;
    if (this.size + fresh <= EXACT_DISTINCT) this.reserve(fresh, budget);
  }

  /**
   * Room for `more` new values: the budget asked for each doubling add() would ask for while taking
   * them one by one, then one rehash to the size granted. False when a step is refused.
   */
  private reserve(more: number, budget: ExactBudget): boolean {
    let slots = this.counts.length;
    let ok = true;
    while (2 * (this.size + more) > slots) {
      if (!budget.takeSlots(slots)) {
        ok = false;
        break;
      }
      slots *= 2;
    }
    if (slots !== this.counts.length) this.rehash(slots);
    return ok;
  }

  /** Adds c to x's count; false (nothing changed) when x is new and the table has no room for it. */
  add(x: number, c: number, budget: ExactBudget): boolean {
    let i = this.slotOf(x);
    if (this.counts[i]! !== 0) {
      this.counts[i] = this.counts[i]! + c;
      return true;
    }
    if (this.size >= EXACT_DISTINCT) return false;
    if (2 * (this.size + 1) > this.counts.length) {
      if (!budget.takeSlots(this.counts.length)) return false;
      this.rehash(this.counts.length * 2);
      i = this.slotOf(x);
    }
    this.keys[i] = x;
    this.counts[i] = c;
    this.size++;
    return true;
  }

  private rehash(slots: number): void {
    const { keys, counts } = this;
    this.keys = new Float64Array(slots);
    this.bits = new Uint32Array(this.keys.buffer);
    this.counts = new Float64Array(slots);
    for (let j = 0; j < counts.length; j++) {
      if (counts[j]! === 0) continue;
      const i = this.slotOf(keys[j]!);
      this.keys[i] = keys[j]!;
      this.counts[i] = counts[j]!;
    }
  }

  /** The values and their counts, values in Float64Array's order (-0 before 0, NaN last). */
  sorted(): { values: number[]; counts: number[] } {
    const { keys, counts } = this;
    // The values sorted as numbers by Float64Array's own sort (the order wanted), then each one's
    // count found by its probe: a comparator called from Array.prototype.sort cost ~1 us a value.
    // Not with a NaN held: a sort may not keep a NaN's bits, which are its key here.
    const vals = new Float64Array(this.size);
    let n = 0;
    let nan = false;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i]! === 0) continue;
      const x = keys[i]!;
      nan ||= x !== x;
      vals[n++] = x;
    }
    if (!nan) {
      vals.sort();
      const values = new Array<number>(n);
      const cs = new Array<number>(n);
      for (let j = 0; j < n; j++) {
        values[j] = vals[j]!;
        cs[j] = counts[this.slotOf(vals[j]!)]!;
      }
      return { values, counts: cs };
    }
    const at: number[] = [];
    for (let i = 0; i < counts.length; i++) if (counts[i]! !== 0) at.push(i);
    at.sort((a, b) => (before(keys[a]!, keys[b]!) ? -1 : before(keys[b]!, keys[a]!) ? 1 : a - b));
    return { values: at.map((i) => keys[i]!), counts: at.map((i) => counts[i]!) };
  }
}

export class KllSketch {
  private levels: number[][] = [[]];
  /** The exact phase's counts (undefined once the sketch holds levels). */
  private exact: ExactCounts | undefined;
  /** xorshift32 state: compaction coin flips, seeded so a query gives the same answer every run. */
  private rng = 0x2545f491;
  n = 0;
  // Each level's capacity, their sum and the items held, kept up to date rather than recomputed: add()
  // runs once per value (10M values a query), and recomputing them (a power per level) per compaction
  // step cost ~0.6 us per value. The compactions themselves are unchanged, so are the answers.
  private caps: number[] = [];
  private totalCap = 0;
  private held = 0;
  private scratch = new Float64Array(K * 2);

  /** `exact` false: a sketch that holds levels from the start (read from the wire as levels). */
  constructor(
    private readonly budget: ExactBudget = UNBOUNDED,
    exact = true,
  ) {
    this.exact = exact && budget.takeSlots(EXACT_MIN_SLOTS) ? new ExactCounts(EXACT_MIN_SLOTS) : undefined;
    this.resize();
  }

  /** Whether the sketch still counts every value exactly (no levels yet). */
  get isExact(): boolean {
    return this.exact !== undefined;
  }

  /**
   * Ends the exact phase: each value goes to the levels of its count's set bits (values in sorted
   * order, bits from the lowest), which keeps every rank, then the levels compact as usual.
   */
  private toLevels(): void {
    const ex = this.exact;
    if (!ex) return;
    this.exact = undefined;
    const { values, counts } = ex.sorted();
    for (let j = 0; j < values.length; j++) this.pushWeighted(values[j]!, counts[j]!);
    this.resize();
    this.compress();
  }

  /** x with weight c at the levels of c's set bits (the caller resizes and compresses). */
  private pushWeighted(x: number, c: number): void {
    for (let h = 0; c > 0; h++, c = Math.floor(c / 2)) {
      if (c % 2 === 0) continue;
      while (this.levels.length <= h) this.levels.push([]);
      this.levels[h]!.push(x);
    }
  }

  /** Recomputes the capacities (after the number of levels changed) and the items held. */
  private resize(): void {
    const top = this.levels.length - 1;
    this.caps = this.levels.map((_, h) => Math.max(MIN_CAP, Math.ceil(K * (2 / 3) ** (top - h))));
    this.totalCap = 0;
    for (const c of this.caps) this.totalCap += c;
    this.held = 0;
    for (const l of this.levels) this.held += l.length;
  }

  add(x: number): void {
    if (this.exact !== undefined) {
      if (this.exact.add(x, 1, this.budget)) {
        this.n++;
        return;
      }
      this.toLevels();
    }
    const l0 = this.levels[0]!;
    l0.push(x);
    this.n++;
    this.held++;
    if (l0.length >= this.caps[0]!) this.compress();
  }

  /**
   * add() of the non-null values at positions [0, m) of a numeric column (rows sel[j], or j): the
   * same sketch as adding them one by one in that order, with the exact phase's counting in one loop
   * (the dense one first, for as long as the values are integers in its window).
   */
  addColumn(
    a: Float64Array | Int32Array,
    nulls: Uint8Array | undefined,
    sel: Uint32Array | undefined,
    m: number,
  ): void {
    let j = 0;
    const ex0 = this.exact;
    if (ex0 !== undefined && m >= DENSE_MIN_VALUES) {
      j =
        a instanceof Float64Array
          ? ex0.denseF64(a, nulls, sel, m, this.budget)
          : ex0.denseI32(a, nulls, sel, m, this.budget);
      this.n += ex0.counted;
    }
    while (j < m && this.exact !== undefined) {
      const ex = this.exact;
      j = a instanceof Float64Array ? ex.countF64(a, nulls, sel, j, m) : ex.countI32(a, nulls, sel, j, m);
      this.n += ex.counted;
      if (j === m) return;
      this.add(a[sel ? sel[j]! : j]!); // a value new to the table (j's row is not null)
      j++;
    }
    for (; j < m; j++) {
      const r = sel ? sel[j]! : j;
      if (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) continue;
      this.add(a[r]!);
    }
  }

  private flip(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return x & 1;
  }

  private compress(): void {
    while (this.held > this.totalCap) {
      let h = 0;
      while (this.levels[h]!.length < this.caps[h]!) h++;
      if (h + 1 === this.levels.length) {
        this.levels.push([]);
        this.resize();
      }
      const level = this.levels[h]!;
      const n = level.length;
      if (this.scratch.length < n) this.scratch = new Float64Array(n * 2);
      const items = this.scratch;
      if (n <= SMALL_SORT) {
        // Most compactions (every level's capacity is MIN_CAP once the sketch is deep) sort a few
        // items: an insertion sort into the scratch array, in Float64Array's order, costs less than
        // a sort call on a subarray made for it.
        for (let i = 0; i < n; i++) {
          const x = level[i]!;
          let j = i - 1;
          while (j >= 0 && before(x, items[j]!)) {
            items[j + 1] = items[j]!;
            j--;
          }
          items[j + 1] = x;
        }
      } else {
        // Float64Array sorts numerically, -0 before 0 and NaN last (copied by a loop: from() goes
        // through an iterator).
        const sub = items.subarray(0, n);
        for (let i = 0; i < n; i++) sub[i] = level[i]!;
        sub.sort();
      }
      let len = n;
      const up = this.levels[h + 1]!;
      const upBefore = up.length;
      for (let i = len % 2 === 1 ? len - 1 : len, k = this.flip(); k < i; k += 2) up.push(items[k]!);
      if (len % 2 === 1) {
        len--;
        level.length = 1;
        level[0] = items[len]!;
      } else level.length = 0;
      this.held -= len - (up.length - upBefore);
    }
  }

  merge(o: KllSketch): void {
    if (o.exact !== undefined) {
      const { values, counts } = o.exact.sorted();
      let j = 0;
      if (this.exact !== undefined) {
        this.exact.reserveFor(values, this.budget);
        while (j < values.length && this.exact.add(values[j]!, counts[j]!, this.budget)) j++;
        if (j === values.length) {
          this.n += o.n;
          return;
        }
        this.toLevels();
      }
      for (; j < values.length; j++) this.pushWeighted(values[j]!, counts[j]!);
      this.n += o.n;
      this.resize();
      this.compress();
      return;
    }
    this.toLevels();
    while (this.levels.length < o.levels.length) this.levels.push([]);
    o.levels.forEach((l, h) => {
      const into = this.levels[h]!;
      for (const x of l) into.push(x);
    });
    this.n += o.n;
    this.resize();
    this.compress();
  }

  /**
   * The value at rank ceil(q * n) (PostgreSQL's percentile_disc: the first value whose cumulative
   * share reaches q), or null for an empty sketch.
   */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const items: [number, number][] = [];
    if (this.exact !== undefined) {
      const { values, counts } = this.exact.sorted();
      const target = Math.max(1, Math.ceil(q * this.n));
      let cum = 0;
      for (let j = 0; j < values.length; j++) {
        cum += counts[j]!;
        if (cum >= target) return values[j]!;
      }
      return values[values.length - 1]!;
    }
    this.levels.forEach((l, h) => {
      for (const x of l) items.push([x, 2 ** h]);
    });
    items.sort((a, b) => (a[0] < b[0] || (b[0] !== b[0] && a[0] === a[0]) ? -1 : a[0] > b[0] || a[0] !== a[0] ? 1 : 0));
    let total = 0;
    for (const [, w] of items) total += w;
    const target = Math.max(1, Math.ceil(q * total));
    let cum = 0;
    for (const [x, w] of items) {
      cum += w;
      if (cum >= target) return x;
    }
    return items[items.length - 1]![0];
  }

  /**
   * The value at rank r (1..n) of the values taken, in ascending order (NaN last), or null for an
   * empty sketch. Exact in the exact phase; after it, the value at the same share of the levels'
   * weight (rank error as quantile()'s).
   */
  atRank(r: number): number | null {
    if (this.n === 0) return null;
    const target = Math.min(this.n, Math.max(1, r));
    if (this.exact !== undefined) {
      const { values, counts } = this.exact.sorted();
      let cum = 0;
      for (let j = 0; j < values.length; j++) {
        cum += counts[j]!;
        if (cum >= target) return values[j]!;
      }
      return values[values.length - 1]!;
    }
    return this.quantile(target / this.n);
  }

  /** [n, levels], or in the exact phase [n, [], values in order, their counts]. */
  toPlain(): [number, number[][]] | [number, number[][], number[], number[]] {
    if (this.exact !== undefined) {
      const { values, counts } = this.exact.sorted();
      return [this.n, [], values, counts];
    }
    return [this.n, this.levels];
  }

  static fromPlain(x: unknown, budget: ExactBudget = UNBOUNDED): KllSketch {
    if (
      !Array.isArray(x) ||
      (x.length !== 2 && x.length !== 4) ||
      !Number.isSafeInteger(x[0]) ||
      !Array.isArray(x[1]) ||
      x[1].length > 64
    )
      throw new TypeError('bad KLL sketch');
    const s = new KllSketch(budget, x.length === 4);
    if (x.length === 4) {
      const [n, levels, values, counts] = x as unknown[];
      if (
        (levels as unknown[]).length !== 0 ||
        !Array.isArray(values) ||
        !Array.isArray(counts) ||
        values.length !== counts.length ||
        values.length > EXACT_DISTINCT ||
        values.some((v) => typeof v !== 'number') ||
        counts.some((c) => !Number.isSafeInteger(c) || c <= 0) ||
        counts.reduce((a: number, c: number) => a + c, 0) !== n
      )
        throw new TypeError('bad KLL sketch (exact counts)');
      // Read as a merge into an empty sketch: counts while the budget allows, else levels.
      const o = new KllSketch();
      o.exact!.reserveFor(values as number[], UNBOUNDED);
      for (let j = 0; j < values.length; j++) o.exact!.add(values[j] as number, counts[j] as number, UNBOUNDED);
      o.n = n as number;
      s.merge(o);
      return s;
    }
    s.n = x[0] as number;
    s.levels = (x[1] as unknown[]).map((l) => {
      if (!Array.isArray(l) || l.some((v) => typeof v !== 'number')) throw new TypeError('bad KLL level');
      return l as number[];
    });
    if (s.levels.length === 0) s.levels = [[]];
    s.resize();
    return s;
  }
}

// A small grammar of random SELECT statements over the subset docs/dataframe.md "SQL" supports, each
// rendered twice: as eau2 reads it and as DuckDB must read it to mean the same thing. The two texts
// differ only where eau2's documented semantics are spelled differently in DuckDB (its arithmetic is
// float64, its CAST is TRY_CAST and truncates, its median is percentile_disc, its T and d results are
// microseconds and days); test/dataframe/sql-duckdb.test.ts runs both and compares.
//
// Shapes whose results differ by design are not generated (docs/dataframe.md):
// - sqrt of a negative number (eau2 gives NaN, "as IEEE says", where DuckDB fails): sqrt takes abs();
// - CAST of a double or timestamp to text (eau2 writes a double's shortest form, 2 where DuckDB
//   writes 2.0, and a timestamp as ISO 8601 with its zone, "as text"), and of text to B/T/d (eau2
//   reads only ISO 8601 and true/t/1/false/f/0: "`B` from `true/t/1`, `false/f/0`");
// - concat() of a null part (eau2's is null, "null if any part is null", as `||`): `||` is generated;
// - NOT IN (subquery) (refused, "its null semantics differ"), first/last (frame order, which DuckDB
//   has not), quantiles past 1,024 distinct values (a KLL estimate: median is asked of k only);
// - strings outside ASCII (eau2 orders by UTF-16 code units, "UTF-16 code unit order"; DuckDB by
//   bytes);
// - HAVING without GROUP BY, which eau2's parser (pgsql-ast-parser) does not read ("SQL");
// - substring from a start below 1, which DuckDB counts from the end and eau2 cuts off as PostgreSQL
//   does ("from 1, in characters, as SQL"): starts are 1 to 4;
// - logarithms of 0 or a negative number (eau2 gives IEEE 754's -Infinity and NaN, as for sqrt and
//   division, where DuckDB fails): DuckDB is asked for IEEE's answer (`ieeeLn`);
// - lpad/rpad with an empty fill (eau2 pads nothing, as PostgreSQL; DuckDB fails), and regexp
//   patterns outside the syntax JavaScript and RE2 share: fills and patterns come from fixed lists;
// - date_add/INTERVAL amounts past the calendar (an error in both): intervals come from a fixed list;
// - exp of large values, whose squares overflow DuckDB's stddev ("out of range") where eau2 gives
//   Infinity or NaN: exp takes a value mod 16.
// Row order is compared only when ORDER BY makes it total (the generator ends it with unique keys).

import type { Rng } from '../../app/apps/random.js';

export type Ty = 'I' | 'D' | 'S' | 'B' | 'L' | 'T' | 'd';

/** An expression as eau2 reads it, as DuckDB reads it, and its type. */
export interface X {
  readonly eau: string;
  readonly duck: string;
  readonly t: Ty;
}

export interface Col {
  readonly name: string;
  readonly t: Ty;
  /** A few distinct values (a good group key). */
  readonly low?: boolean;
}

/** Values a literal of each type is drawn from, so literals hit the data (taken from the tables). */
export interface Samples {
  readonly L: bigint[];
  readonly T: bigint[];
  readonly d: number[];
  readonly S: string[];
}

const x = (eau: string, duck: string, t: Ty): X => ({ eau, duck, t });
const same = (s: string, t: Ty): X => x(s, s, t);
const num = (t: Ty): boolean => t === 'I' || t === 'D';
/** An operand in parentheses unless it is a name or a literal, so precedence never regroups it. */
const p = (s: string): string => (/^[\w.']*$/.test(s) ? s : `(${s})`);

export function isoTs(us: bigint): string {
  const ms = Number(us / 1000n - (us % 1000n < 0n ? 1n : 0n));
  const micros = Number(((us % 1_000_000n) + 1_000_000n) % 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  return micros === 0 ? base : `${base}.${String(micros).padStart(6, '0')}`;
}

export function isoDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** eau2's T and d results are bigint microseconds and days: DuckDB converts its own to them. */
export function duckOut(e: X): string {
  if (e.t === 'T') return `epoch_us(${e.duck})`;
  if (e.t === 'd') return `date_diff('day', DATE '1970-01-01', ${e.duck})`;
  return e.duck;
}

/**
 * DuckDB's TRY_CAST to INTEGER of a number outside int32, which is null as eau2's, without TRY_CAST:
 * DuckDB 1.5 drops a TRY_CAST under a comparison with a constant (`TRY_CAST(3000000000 AS INTEGER)
 * BETWEEN -46 AND 10` is false, and `>= -46` true, though the cast is NULL).
 */
const int32 = (v: string): string =>
  `CASE WHEN (${v}) BETWEEN -2147483648 AND 2147483647 THEN CAST(${v} AS INTEGER) END`;

/**
 * DuckDB's ln, with IEEE 754's answers where DuckDB fails (eau2's, docs/dataframe.md): -Infinity at
 * 0 (and -0), NaN below it; NaN stays NaN (DuckDB orders NaN above 0) and null stays null.
 */
const ieeeLn = (f: string, v: string): string =>
  `CASE WHEN (${v}) > 0 THEN ${f}(${v}) WHEN (${v}) = 0 THEN '-inf'::DOUBLE WHEN (${v}) < 0 THEN 'nan'::DOUBLE END`;

/** Interval literals: months, days and time, alone and together, forwards and back. */
const INTERVALS = [
  '1 day',
  '3 months',
  '1 year',
  '2 hours',
  '-1 month',
  '1 month 2 days 3 hours',
  '90 minutes',
  '1 year 2 months',
  '45 seconds',
  '-10 days',
  '1 mon -1 day',
];
const TRUNC_UNITS = ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second'];
const DIFF_UNITS = [...TRUNC_UNITS, 'millisecond', 'microsecond'];
/** Patterns in the syntax JavaScript's regexes and RE2 (DuckDB's) read alike, over ASCII text. */
const PATTERNS = ['a', '^a', 'a$', 'e.a', '^[a-z]+$', '[A-Z]', 'l+', '(al|et)', '^$', 'a.*a', ' ', 't[ah]', '^[^a]*$'];

export class Gen {
  constructor(
    readonly rng: Rng,
    readonly cols: readonly Col[],
    readonly samples: Samples,
  ) {}

  private pick<T>(xs: readonly T[]): T {
    return this.rng.pick(xs);
  }

  col(t: Ty, low = false): X | undefined {
    const cs = this.cols.filter((c) => c.t === t && (!low || c.low));
    return cs.length ? same(this.pick(cs).name, t) : undefined;
  }

  lit(t: Ty): X {
    const r = this.rng;
    switch (t) {
      case 'I':
        return same(String(r.int(-60, 60)), 'I');
      case 'D': {
        const v = r.int(-4000, 4000) / 8;
        return x(String(v), `CAST(${v} AS DOUBLE)`, 'D');
      }
      case 'S':
        return same(`'${this.pick(this.samples.S)}'`, 'S');
      case 'B':
        return same(r.bool() ? 'TRUE' : 'FALSE', 'B');
      case 'L': {
        const v = r.bool(0.6) ? this.pick(this.samples.L) : BigInt(r.int(-100, 100));
        return same(String(v), 'L');
      }
      case 'T': {
        // A timestamp, or a date alone (its midnight).
        const us = this.pick(this.samples.T) + BigInt(r.int(-2, 2));
        const s = r.bool(0.2) ? isoTs(us).slice(0, 10) : isoTs(us);
        return x(`'${s}'`, `TIMESTAMP '${s}'`, 'T');
      }
      case 'd': {
        const s = isoDate(this.pick(this.samples.d) + r.int(-1, 1));
        return x(`'${s}'`, `DATE '${s}'`, 'd');
      }
    }
  }

  /** An expression of type t (I and D may stand for each other where `t` is numeric). */
  expr(t: Ty, depth: number): X {
    const r = this.rng;
    if (depth <= 0 || r.bool(0.35)) {
      const c = this.col(t);
      // An L-typed expression is never a literal alone: eau2 types number literals D, and an L
      // branch of COALESCE/CASE takes an integer literal only directly (COALESCE(l, 5), not
      // COALESCE(l, COALESCE(5, 6))), where SQL would type the inner one integer.
      if (c && (r.bool(0.85) || t === 'L')) return c;
      if (t !== 'T' && t !== 'd') return this.lit(t);
      return c ?? this.expr(t, 1);
    }
    const d = depth - 1;
    const e = (tt: Ty) => this.expr(tt, d);
    const caseOf = (): X => {
      const a = e(t);
      const b = r.bool(0.2) ? undefined : e(t);
      const els = (side: 'eau' | 'duck') => (b ? ` ELSE ${b[side]}` : '');
      if (r.bool(0.25)) {
        // CASE x WHEN v THEN ...: the subject compared with each value.
        const st = this.pick(['I', 'S', 'B'] as const);
        const subj = this.expr(st, d);
        const v = this.lit(st);
        return x(
          `CASE ${p(subj.eau)} WHEN ${v.eau} THEN ${a.eau}${els('eau')} END`,
          `CASE ${p(subj.duck)} WHEN ${v.duck} THEN ${a.duck}${els('duck')} END`,
          t,
        );
      }
      const c = this.bool(d);
      return x(
        `CASE WHEN ${c.eau} THEN ${a.eau}${els('eau')} END`,
        `CASE WHEN ${c.duck} THEN ${a.duck}${els('duck')} END`,
        t,
      );
    };
    const coalesce = (): X => {
      const a = e(t);
      const b = t === 'T' || t === 'd' ? e(t) : r.bool() ? this.lit(t) : e(t);
      return x(`COALESCE(${a.eau}, ${b.eau})`, `COALESCE(${a.duck}, ${b.duck})`, t);
    };
    switch (t) {
      case 'I':
        return this.choose([
          () => {
            const s = e('S');
            return x(`length(${s.eau})`, `length(${s.duck})`, 'I');
          },
          () => {
            const v = r.bool() ? e('T') : e('d');
            const part = this.pick([
              'year',
              'month',
              'day',
              'dow',
              'doy',
              ...(v.t === 'T' ? ['hour', 'minute', 'second'] : []),
            ]);
            return r.bool(0.3)
              ? x(`date_part('${part}', ${v.eau})`, `date_part('${part}', ${v.duck})`, 'I')
              : x(`EXTRACT(${part} FROM ${v.eau})`, `EXTRACT(${part} FROM ${v.duck})`, 'I');
          },
          () => {
            // eau2's CAST to int truncates (docs: "numbers truncate toward zero for I"); DuckDB rounds.
            const v = e('D');
            return x(`CAST(${v.eau} AS int)`, int32(`trunc(${v.duck})`), 'I');
          },
          () => {
            const v = e('L');
            return x(`CAST(${v.eau} AS integer)`, int32(v.duck), 'I');
          },
          () => {
            const v = e(this.pick(['B', 'S'] as const));
            return x(`CAST(${v.eau} AS integer)`, `TRY_CAST(${v.duck} AS INTEGER)`, 'I');
          },
          () => {
            const a = e('S');
            const b = this.strLit(['a', 'e', 'ta', '', 'Gam']);
            return r.bool()
              ? x(`strpos(${a.eau}, ${b})`, `strpos(${a.duck}, ${b})`, 'I')
              : x(`position(${b} IN ${p(a.eau)})`, `position(${b} IN ${p(a.duck)})`, 'I');
          },
          () => {
            // DuckDB's sign is a TINYINT, 0 for NaN.
            const v = e('D');
            return x(`sign(${v.eau})`, `sign(${v.duck})`, 'I');
          },
          () => this.pickOf('I', d),
          caseOf,
          coalesce,
        ]);
      case 'D':
        return this.choose([
          () => this.arith(d),
          () => this.arith(d),
          () => {
            const f = this.pick(['round', 'floor', 'ceil', 'abs']);
            const v = e('D');
            return x(`${f}(${v.eau})`, `${f}(${v.duck})`, 'D');
          },
          () => {
            const v = e('D');
            return x(`sqrt(abs(${v.eau}))`, `sqrt(abs(${v.duck}))`, 'D');
          },
          () => {
            // Not of an int64: its values reach 2^57, and a double sum of them that cancels depends
            // on the order of the additions (each engine's, and each node's), beyond any tolerance.
            const v = e('I');
            return x(`CAST(${v.eau} AS double)`, `CAST(${v.duck} AS DOUBLE)`, 'D');
          },
          () => {
            const v = e('D');
            return x(`-${this.paren(v.eau)}`, `-${this.paren(v.duck)}`, 'D');
          },
          () => {
            const v = e(r.bool() ? 'I' : 'D');
            const dv = `CAST(${v.duck} AS DOUBLE)`;
            switch (this.pick(['ln', 'log10', 'log2', 'log', 'logb'] as const)) {
              case 'log':
                return x(`log(${v.eau})`, ieeeLn('log10', dv), 'D');
              case 'logb': {
                const b = this.pick(['2', '10', '0.5', '3']);
                return x(`log(${b}, ${v.eau})`, `(${ieeeLn('ln', dv)}) / ln(CAST(${b} AS DOUBLE))`, 'D');
              }
              default: {
                const f = this.pick(['ln', 'log10', 'log2']);
                return x(`${f}(${v.eau})`, ieeeLn(f, dv), 'D');
              }
            }
          },
          () => {
            const v = e('D');
            switch (this.pick(['exp', 'power', 'pow', 'trunc'] as const)) {
              case 'exp':
                // Of a value below 16 in magnitude: a result near the double's limit would overflow the
                // squares of DuckDB's stddev ("out of range"), where eau2 gives Infinity or NaN.
                return x(`exp(mod(${v.eau}, 16))`, `exp(mod(CAST(${v.duck} AS DOUBLE), 16))`, 'D');
              case 'trunc':
                return x(`trunc(${v.eau})`, `trunc(CAST(${v.duck} AS DOUBLE))`, 'D');
              default: {
                const k = this.pick(['2', '3', '0.5', '-1', '0', '1.5']);
                const f = r.bool() ? 'power' : 'pow';
                return x(`${f}(${v.eau}, ${k})`, `${f}(CAST(${v.duck} AS DOUBLE), CAST(${k} AS DOUBLE))`, 'D');
              }
            }
          },
          () => {
            const a = e(r.bool() ? 'I' : 'D');
            const b = r.bool() ? this.lit('D') : e(r.bool() ? 'I' : 'D');
            return x(`mod(${a.eau}, ${b.eau})`, `mod(CAST(${a.duck} AS DOUBLE), CAST(${b.duck} AS DOUBLE))`, 'D');
          },
          () => this.pickOf('D', d),
          caseOf,
          coalesce,
        ]);
      case 'S':
        return this.choose([
          () => {
            const f = this.pick(['lower', 'upper', 'trim']);
            const v = e('S');
            return x(`${f}(${v.eau})`, `${f}(${v.duck})`, 'S');
          },
          () => {
            const v = e('S');
            const from = r.int(1, 4);
            const len = r.int(0, 4);
            return r.bool()
              ? x(`substring(${v.eau} FROM ${from} FOR ${len})`, `substring(${v.duck}, ${from}, ${len})`, 'S')
              : x(`substr(${v.eau}, ${from})`, `substr(${v.duck}, ${from})`, 'S');
          },
          () => {
            const a = e('S');
            const b = e('S');
            return x(`${a.eau} || ${b.eau}`, `${a.duck} || ${b.duck}`, 'S');
          },
          () => {
            const v = e(this.pick(['I', 'L', 'B', 'd'] as const));
            return x(`CAST(${v.eau} AS text)`, `CAST(${v.duck} AS VARCHAR)`, 'S');
          },
          () => {
            const v = e('S');
            const n = r.int(-3, 5);
            switch (this.pick(['left', 'right', 'lpad', 'rpad', 'repeat', 'reverse'] as const)) {
              case 'left':
              case 'right': {
                const f = r.bool() ? 'left' : 'right';
                return x(`${f}(${v.eau}, ${n})`, `${f}(${v.duck}, ${n})`, 'S');
              }
              case 'lpad':
              case 'rpad': {
                const f = r.bool() ? 'lpad' : 'rpad';
                const fill = this.strLit(['*', 'xy', ' ']);
                const w = r.int(0, 8);
                return x(`${f}(${v.eau}, ${w}, ${fill})`, `${f}(${v.duck}, ${w}, ${fill})`, 'S');
              }
              case 'repeat': {
                const k = r.int(-1, 3);
                return x(`repeat(${v.eau}, ${k})`, `repeat(${v.duck}, ${k})`, 'S');
              }
              default:
                return x(`reverse(${v.eau})`, `reverse(${v.duck})`, 'S');
            }
          },
          () => {
            const v = e('S');
            switch (this.pick(['replace', 'split_part', 'ltrim', 'rtrim', 'trim'] as const)) {
              case 'replace': {
                const a = this.strLit(['a', 'e', 'ta', '']);
                const b = r.bool(0.7) ? this.strLit(['', 'X', 'aa']) : e('S');
                const be = typeof b === 'string' ? b : b.eau;
                const bd = typeof b === 'string' ? b : b.duck;
                return x(`replace(${v.eau}, ${a}, ${be})`, `replace(${v.duck}, ${a}, ${bd})`, 'S');
              }
              case 'split_part': {
                const dl = this.strLit([',', 'a', 'e', '', 'l']);
                const k = r.int(-3, 3);
                return x(`split_part(${v.eau}, ${dl}, ${k})`, `split_part(${v.duck}, ${dl}, ${k})`, 'S');
              }
              default: {
                const f = this.pick(['ltrim', 'rtrim', 'trim']);
                const set = r.bool() ? `, ${this.strLit(['a', 'ae', ' ', 'G', 'lp'])}` : '';
                return x(`${f}(${v.eau}${set})`, `${f}(${v.duck}${set})`, 'S');
              }
            }
          },
          () => this.pickOf('S', d),
          caseOf,
          coalesce,
        ]);
      case 'B':
        return this.bool(depth);
      case 'L':
        return this.choose([
          () => {
            const v = e('I');
            return x(r.bool() ? `CAST(${v.eau} AS bigint)` : `${p(v.eau)}::bigint`, `CAST(${v.duck} AS BIGINT)`, 'L');
          },
          () => {
            // eau2 casts a timestamp to bigint as its microseconds (docs: "L and T convert as microseconds").
            const v = e('T');
            return x(`CAST(${v.eau} AS bigint)`, `epoch_us(${v.duck})`, 'L');
          },
          () => {
            const a = e(r.bool() ? 'T' : 'd');
            const b = e(r.bool() ? 'T' : 'd');
            const unit = this.pick(DIFF_UNITS);
            const f = r.bool() ? 'date_diff' : 'datediff';
            return x(`${f}('${unit}', ${a.eau}, ${b.eau})`, `${f}('${unit}', ${a.duck}, ${b.duck})`, 'L');
          },
          caseOf,
          coalesce,
        ]);
      case 'T':
        return this.choose([
          () => {
            const v = e('d');
            return x(`CAST(${v.eau} AS timestamp)`, `CAST(${v.duck} AS TIMESTAMP)`, 'T');
          },
          () => {
            // date_trunc of a date is a timestamp, as DuckDB's.
            const v = e(r.bool() ? 'T' : 'd');
            const unit = this.pick(TRUNC_UNITS);
            // DuckDB 1.5.6 folds `date_trunc(u, x) <> c` for a c not on a unit boundary to true, for
            // a null x too (`SELECT date_trunc('year', NULL::TIMESTAMP) <> TIMESTAMP '1917-10-28
            // 21:14:36'` is true): behind a CASE its optimizer does not see the call.
            return x(
              `date_trunc('${unit}', ${v.eau})`,
              `CASE WHEN (${v.duck}) IS NULL THEN NULL ELSE date_trunc('${unit}', ${v.duck}) END`,
              'T',
            );
          },
          () => {
            const v = e(r.bool() ? 'T' : 'd');
            const iv = `INTERVAL '${this.pick(INTERVALS)}'`;
            switch (this.pick(['+', '-', 'add', 'first'] as const)) {
              case 'add':
                return x(`date_add(${v.eau}, ${iv})`, `date_add(${v.duck}, ${iv})`, 'T');
              case 'first':
                return x(`${iv} + ${p(v.eau)}`, `${iv} + ${p(v.duck)}`, 'T');
              default: {
                const op = r.bool() ? '+' : '-';
                return x(`${p(v.eau)} ${op} ${iv}`, `${p(v.duck)} ${op} ${iv}`, 'T');
              }
            }
          },
          () => this.pickOf('T', d),
          caseOf,
          coalesce,
        ]);
      case 'd':
        return this.choose([
          () => {
            const v = e('T');
            return x(r.bool() ? `CAST(${v.eau} AS date)` : `${p(v.eau)}::date`, `CAST(${v.duck} AS DATE)`, 'd');
          },
          () => this.pickOf('d', d),
          caseOf,
          coalesce,
        ]);
    }
  }

  /** A quoted string literal from a list (the same text for both engines). */
  private strLit(xs: readonly string[]): string {
    return `'${this.pick(xs)}'`;
  }

  /** greatest/least of two or three values of type t (nulls skipped), or nullif of one and a literal. */
  private pickOf(t: Ty, d: number): X {
    const r = this.rng;
    if (r.bool(0.3) && t !== 'T' && t !== 'd') {
      const a = this.expr(t, d);
      const b = this.lit(t);
      return x(`nullif(${a.eau}, ${b.eau})`, `nullif(${a.duck}, ${b.duck})`, t);
    }
    const f = r.bool() ? 'greatest' : 'least';
    // I and D mix (a D result); other types take their own.
    const arg = (): X => this.expr(t === 'D' ? this.pick(['I', 'D'] as const) : t, d);
    const xs = Array.from({ length: r.int(2, 3) }, arg);
    if (t === 'D' && xs.every((v) => v.t === 'I')) xs.push(this.lit('D'));
    return x(`${f}(${xs.map((v) => v.eau).join(', ')})`, `${f}(${xs.map((v) => v.duck).join(', ')})`, t);
  }

  private paren(s: string): string {
    return `(${s})`;
  }

  private choose(fs: (() => X)[]): X {
    return this.pick(fs)();
  }

  /** Float64 arithmetic, as eau2's (docs: "Arithmetic is float64"): DuckDB's operands are doubles. */
  private arith(d: number): X {
    const r = this.rng;
    const a = this.expr(r.bool() ? 'I' : 'D', d);
    const op = this.pick(['+', '-', '*', '/', '%']);
    // A divisor may be 0: ±Infinity or NaN in both engines (IEEE 754), as docs/dataframe.md says.
    const b =
      (op === '/' || op === '%') && r.bool(0.7)
        ? (() => {
            const v = this.pick([2, 3, 7, -4, 0.5, 2.5]);
            return x(String(v), `CAST(${v} AS DOUBLE)`, 'D');
          })()
        : this.expr(r.bool() ? 'I' : 'D', d);
    return x(
      `(${a.eau} ${op} ${b.eau})`,
      `(CAST(${a.duck} AS DOUBLE) ${op === '%' ? '%' : op} CAST(${b.duck} AS DOUBLE))`,
      'D',
    );
  }

  /** A boolean: a comparison, a test, or a combination of them. */
  bool(depth: number): X {
    const r = this.rng;
    const d = Math.max(0, depth - 1);
    const anyT = (): Ty => this.pick(['I', 'D', 'S', 'B', 'L', 'T', 'd', 'I', 'D', 'S'] as const);
    const opts: (() => X)[] = [
      () => this.col('B') ?? this.lit('B'),
      () => {
        const t = anyT();
        const a = this.expr(t, d);
        const b = r.bool(0.05)
          ? same('NULL', t)
          : r.bool(0.6)
            ? this.lit(t)
            : this.expr(num(t) ? this.pick(['I', 'D'] as const) : t, d);
        const op = this.pick(['=', '<>', '<', '<=', '>', '>=', '!=']);
        return x(`${p(a.eau)} ${op} ${p(b.eau)}`, `${p(a.duck)} ${op} ${p(b.duck)}`, 'B');
      },
      () => {
        const t = anyT();
        const a = this.expr(t, d);
        const n = r.bool() ? 'NOT ' : '';
        return x(`${p(a.eau)} IS ${n}NULL`, `${p(a.duck)} IS ${n}NULL`, 'B');
      },
      () => {
        const t = this.pick(['I', 'D', 'S', 'L', 'T', 'd'] as const);
        const a = this.expr(t, d);
        let lo = this.lit(t);
        let hi = this.lit(t);
        if (r.bool(0.3)) [lo, hi] = [hi, lo];
        const n = r.bool(0.25) ? 'NOT ' : '';
        return x(
          `${p(a.eau)} ${n}BETWEEN ${lo.eau} AND ${hi.eau}`,
          `${p(a.duck)} ${n}BETWEEN ${lo.duck} AND ${hi.duck}`,
          'B',
        );
      },
      () => {
        const t = this.pick(['I', 'S', 'L', 'T', 'd', 'B'] as const);
        const a = this.expr(t, d);
        const vs = Array.from({ length: r.int(1, 4) }, () => this.lit(t));
        if (r.bool(0.15)) vs.push(same('NULL', t));
        const n = r.bool(0.25) ? 'NOT ' : '';
        return x(
          `${p(a.eau)} ${n}IN (${vs.map((v) => v.eau).join(', ')})`,
          `${p(a.duck)} ${n}IN (${vs.map((v) => v.duck).join(', ')})`,
          'B',
        );
      },
      () => {
        const a = this.expr('S', d);
        const op = this.pick(['LIKE', 'NOT LIKE', 'ILIKE', 'NOT ILIKE']);
        const pat = this.likePattern();
        return x(`${p(a.eau)} ${op} '${pat}'`, `${p(a.duck)} ${op} '${pat}'`, 'B');
      },
      () => {
        const f = this.pick(['starts_with', 'contains', 'ends_with']);
        const a = this.expr('S', d);
        const b = same(`'${this.rng.word(this.rng.int(0, 2))}'`, 'S');
        return x(`${f}(${a.eau}, ${b.eau})`, `${f}(${a.duck}, ${b.duck})`, 'B');
      },
      () => {
        const a = this.expr('S', d);
        const pat = this.strLit(PATTERNS);
        return x(`regexp_matches(${a.eau}, ${pat})`, `regexp_matches(${a.duck}, ${pat})`, 'B');
      },
      () => {
        const a = this.expr('B', d);
        const t = this.pick(['TRUE', 'FALSE']);
        return x(`(${a.eau}) IS ${t}`, `(${a.duck}) IS ${t}`, 'B');
      },
    ];
    if (depth > 0)
      opts.push(
        () => {
          const op = r.bool() ? 'AND' : 'OR';
          const a = this.bool(d);
          const b = this.bool(d);
          return x(`(${a.eau} ${op} ${b.eau})`, `(${a.duck} ${op} ${b.duck})`, 'B');
        },
        () => {
          const a = this.bool(d);
          return x(`NOT (${a.eau})`, `NOT (${a.duck})`, 'B');
        },
      );
    return this.pick(opts)();
  }

  private likePattern(): string {
    const r = this.rng;
    let p = '';
    for (let i = r.int(0, 4); i > 0; i--) p += this.pick(['%', '_', 'a', 'e', 'o', 's', r.word(1), '%']);
    return p;
  }
}

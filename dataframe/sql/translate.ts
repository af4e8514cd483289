// SQL expressions (pgsql-ast-parser's AST) to eau2 expressions (query/expr.ts). Column references are
// resolved by the caller's scope, aggregate and window calls are handed to the caller's hooks, and
// every error points at the node it is about. docs/dataframe.md "SQL" lists what is accepted.

import { createRequire } from 'node:module';
import type { Expr as SqlExpr, ExprCall, ExprRef } from 'pgsql-ast-parser';
import type { ColumnType } from '../schema.js';
import type { DATE_PARTS, Expr, FnName, Literal } from '../query/expr-base.js';
import { checkExpr } from '../query/expr.js';
import type { TimeUnitName } from '../query/fns-time.js';
import { INT64_MAX, INT64_MIN, type Field } from '../schema.js';
import { type Span, spanOf, sqlError } from './errors.js';
import { toCharFormat } from './to-char.js';

export { spanOf } from './errors.js';

// The parser is a CommonJS module (parse.ts loads it the same way).
const { parseIntervalLiteral } = createRequire(import.meta.url)(
  'pgsql-ast-parser',
) as typeof import('pgsql-ast-parser');

/** SQL aggregate names -> eau2 aggregates (count(DISTINCT x) is countDistinct). */
export const SQL_AGGS: Record<string, string> = {
  count: 'count',
  sum: 'sum',
  avg: 'mean',
  mean: 'mean',
  min: 'min',
  max: 'max',
  // One of the group's non-null values, which one unspecified (DuckDB's first in its scan order):
  // the least is one, and the same however the rows are spread over the nodes.
  any_value: 'min',
  stddev: 'std',
  stddev_samp: 'std',
  std: 'std',
  variance: 'var',
  var_samp: 'var',
  var: 'var',
  median: 'median',
  quantile: 'quantile',
  quantile_disc: 'quantile',
  quantile_cont: 'quantileCont',
  percentile_disc: 'quantile',
  percentile_cont: 'quantileCont',
  string_agg: 'stringAgg',
  approx_count_distinct: 'approxCountDistinct',
  first: 'first',
  last: 'last',
  bool_or: 'any',
  bool_and: 'all',
  any: 'any',
  every: 'all',
};

export const SQL_WINDOWS = new Set([
  'row_number',
  'rank',
  'dense_rank',
  'lag',
  'lead',
  'sum',
  'count',
  'avg',
  'min',
  'max',
  'first_value',
  'last_value',
  'ntile',
  'percent_rank',
  'cume_dist',
]);

const SQL_FNS: Record<string, FnName> = {
  lower: 'lower',
  upper: 'upper',
  length: 'length',
  char_length: 'length',
  substr: 'substring',
  substring: 'substring',
  contains: 'contains',
  starts_with: 'startsWith',
  ends_with: 'endsWith',
  trim: 'trim',
  concat: 'concat',
  abs: 'abs',
  round: 'round',
  floor: 'floor',
  ceil: 'ceil',
  ceiling: 'ceil',
  sqrt: 'sqrt',
  ltrim: 'ltrim',
  rtrim: 'rtrim',
  replace: 'replace',
  split_part: 'splitPart',
  strpos: 'strpos',
  instr: 'strpos',
  left: 'left',
  right: 'right',
  lpad: 'lpad',
  rpad: 'rpad',
  reverse: 'reverse',
  repeat: 'repeat',
  regexp_matches: 'regexpMatches',
  regexp_replace: 'regexpReplace',
  regexp_extract: 'regexpExtract',
  trunc: 'trunc',
  sign: 'sign',
  ln: 'ln',
  log10: 'log10',
  log2: 'log2',
  log: 'log',
  exp: 'exp',
  power: 'power',
  pow: 'power',
  greatest: 'greatest',
  least: 'least',
  date_trunc: 'dateTrunc',
  datetrunc: 'dateTrunc',
  date_diff: 'dateDiff',
  datediff: 'dateDiff',
  strftime: 'strftime',
};

const CAST_TYPES: Record<string, ColumnType> = {
  int: 'I',
  int4: 'I',
  integer: 'I',
  smallint: 'I',
  double: 'D',
  'double precision': 'D',
  float: 'D',
  float8: 'D',
  real: 'D',
  numeric: 'D',
  decimal: 'D',
  text: 'S',
  varchar: 'S',
  'character varying': 'S',
  string: 'S',
  boolean: 'B',
  bool: 'B',
  bigint: 'L',
  int8: 'L',
  int64: 'L',
  long: 'L',
  timestamp: 'T',
  timestamptz: 'T',
  'timestamp with time zone': 'T',
  'timestamp without time zone': 'T',
  date: 'd',
};

const DATE_PART_NAMES: Record<string, (typeof DATE_PARTS)[number]> = {
  year: 'year',
  month: 'month',
  day: 'day',
  hour: 'hour',
  minute: 'minute',
  second: 'second',
  dow: 'dayOfWeek',
  doy: 'dayOfYear',
};

const CMP: Record<string, Expr['op']> = {
  '=': 'eq',
  '!=': 'ne',
  '<>': 'ne',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
};
const ARITH: Record<string, Expr['op']> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '%': 'mod' };

export interface Hooks {
  /** Resolves a column reference to a column name of the frame being read. */
  ref(node: ExprRef): string;
  /** An aggregate call (no OVER): returns the expression standing for its result. */
  aggregate?(node: ExprCall, fn: string): Expr;
  /** A call with OVER. */
  window?(node: ExprCall): Expr;
  /** The fields expressions are typed against (base columns, and derived ones the hooks name). */
  fields(): readonly Field[];
}

export class Translator {
  /** The span each column expression came from, to point at a column that is used where it may not be. */
  readonly spans = new WeakMap<Expr, Span>();

  constructor(
    readonly text: string,
    private readonly hooks: Hooks,
    /** Where aggregates are not allowed, why (e.g. "in WHERE"). */
    private readonly noAggs?: string,
  ) {}

  err(node: unknown, msg: string): Error {
    return sqlError(this.text, spanOf(node), msg);
  }

  /** Translates and type-checks one expression. */
  expr(n: SqlExpr): Expr {
    return this.checked(n, this.raw(n));
  }

  private lit(value: Literal): Expr {
    return { op: 'lit', value };
  }

  /**
   * An integer literal a double cannot hold exactly (past 2^53), read again from the statement's
   * text, which the parser gives only as a number: an int64 (a cast of its digits, since a literal
   * is a double), exact as SQL's bigint. Undefined for a safe integer, and for one past the int64
   * range (kept as the double, as SQL would keep it as a numeric).
   */
  private int64(n: SqlExpr, negate = false): Expr | undefined {
    if (n.type !== 'integer' || Number.isSafeInteger(n.value)) return undefined;
    const span = spanOf(n);
    const digits = span ? this.text.slice(span.start, span.end).replace(/\s+/g, '') : '';
    if (!/^-?\d+$/.test(digits)) return undefined;
    const v = negate ? -BigInt(digits) : BigInt(digits);
    if (v < INT64_MIN || v > INT64_MAX) return undefined;
    return { op: 'cast', to: 'L', args: [this.lit(v.toString())] };
  }

  private raw(n: SqlExpr): Expr {
    const t = (x: SqlExpr): Expr => this.raw(x);
    switch (n.type) {
      case 'ref': {
        if (n.name === '*') throw this.err(n, '* is only allowed in SELECT * and count(*)');
        const e: Expr = { op: 'col', name: this.hooks.ref(n) };
        this.spans.set(e, spanOf(n)!);
        return e;
      }
      case 'integer':
        return this.int64(n) ?? this.lit(n.value);
      case 'numeric':
        return this.lit(n.value);
      case 'string':
        return this.lit(n.value);
      case 'boolean':
        return this.lit(n.value);
      case 'null':
        return this.lit(null);
      case 'list':
        if (n.expressions.length === 1) return t(n.expressions[0]!);
        throw this.err(n, 'a list is only allowed after IN');
      case 'unary': {
        const a = t(n.operand);
        switch (n.op) {
          case 'NOT':
            return { op: 'not', args: [a] };
          case '-':
            if (n.operand.type === 'integer') {
              const big = this.int64(n.operand, true);
              if (big) return big;
            }
            return a.op === 'lit' && typeof a.value === 'number' ? this.lit(-a.value) : { op: 'neg', args: [a] };
          case '+':
            return a;
          case 'IS NULL':
            return { op: 'isNull', args: [a] };
          case 'IS NOT NULL':
            return { op: 'not', args: [{ op: 'isNull', args: [a] }] };
          case 'IS TRUE':
            return { op: 'coalesce', args: [{ op: 'eq', args: [a, this.lit(true)] }, this.lit(false)] };
          case 'IS FALSE':
            return { op: 'coalesce', args: [{ op: 'eq', args: [a, this.lit(false)] }, this.lit(false)] };
          default:
            throw this.err(n, `operator ${n.op} is not supported`);
        }
      }
      case 'binary': {
        const op = n.op;
        if (op === 'AND' || op === 'OR') {
          // Flatten chains: a AND b AND c is one node, as the fluent API builds it.
          const o = op === 'AND' ? 'and' : 'or';
          const args: Expr[] = [];
          for (const x of [t(n.left), t(n.right)]) {
            if (x.op === o) args.push(...x.args);
            else args.push(x);
          }
          return { op: o, args };
        }
        if (op === 'IN' || op === 'NOT IN') {
          if (n.right.type === 'select')
            throw this.err(n.right, 'IN takes a list of literals (or a subquery, as a semi join)');
          // The parser reads a list of one, `x IN (5)`, as its element alone.
          const items = n.right.type === 'list' ? n.right.expressions : [n.right];
          const left = t(n.left);
          const values: Literal[] = [];
          // A cast literal (an int64 past 2^53 is one: a cast of its digits; `'2024-01-01'::date`, a
          // bigint or Date parameter) is no literal: it joins the list as `OR x = v`, which keeps IN's
          // nulls (a miss is null when the list holds a null).
          const bigs: Expr[] = [];
          for (const x of items) {
            const v = t(x);
            if (v.op === 'lit') values.push(v.value);
            else if (v.op === 'cast' && v.args[0]?.op === 'lit') bigs.push({ op: 'eq', args: [left, v] });
            else throw this.err(x, 'IN lists hold literals only');
          }
          const inList: Expr = { op: 'in', args: [left], values };
          const e: Expr = bigs.length ? { op: 'or', args: values.length ? [inList, ...bigs] : bigs } : inList;
          return op === 'IN' ? e : { op: 'not', args: [e] };
        }
        if (op === 'LIKE' || op === 'NOT LIKE' || op === 'ILIKE' || op === 'NOT ILIKE') {
          const p = t(n.right);
          if (p.op !== 'lit' || typeof p.value !== 'string')
            throw this.err(n.right, 'LIKE needs a string literal pattern');
          const ci = op.includes('ILIKE');
          const left = t(n.left);
          const e: Expr = {
            op: 'call',
            fn: 'like',
            args: [
              ci ? { op: 'call', fn: 'lower', args: [left] } : left,
              this.lit(ci ? p.value.toLowerCase() : p.value),
            ],
          };
          return op.startsWith('NOT') ? { op: 'not', args: [e] } : e;
        }
        if ((n as { eau2Distinct?: boolean }).eau2Distinct) {
          // a IS NOT DISTINCT FROM b (pre-parse.ts wrote it `=`): both null, or neither and equal;
          // IS DISTINCT FROM (`<>`, which the parser gives as `!=`) its negation. Never null.
          const [a, b] = [t(n.left), t(n.right)];
          const isNull = (x: Expr): Expr => ({ op: 'isNull', args: [x] });
          const notNull = (x: Expr): Expr => ({ op: 'not', args: [isNull(x)] });
          const same: Expr = {
            op: 'or',
            args: [
              { op: 'and', args: [isNull(a), isNull(b)] },
              { op: 'and', args: [notNull(a), notNull(b), { op: 'eq', args: [a, b] } as Expr] },
            ],
          };
          return op === '=' ? same : { op: 'not', args: [same] };
        }
        if (op === '||') return { op: 'call', fn: 'concat', args: [t(n.left), t(n.right)] };
        // x + INTERVAL '...', INTERVAL '...' + x, x - INTERVAL '...': date_add, as DuckDB's.
        if ((op === '+' || op === '-') && isInterval(n.right)) return this.addInterval(t(n.left), n.right, op === '-');
        if (op === '+' && isInterval(n.left)) return this.addInterval(t(n.right), n.left, false);
        const o = CMP[op] ?? ARITH[op];
        if (!o) throw this.err(n, `operator ${op} is not supported`);
        return { op: o, args: [t(n.left), t(n.right)] } as Expr;
      }
      case 'ternary': {
        const v = t(n.value);
        const e: Expr = {
          op: 'and',
          args: [
            { op: 'ge', args: [v, t(n.lo)] },
            { op: 'le', args: [v, t(n.hi)] },
          ],
        };
        return n.op === 'BETWEEN' ? e : { op: 'not', args: [e] };
      }
      case 'case': {
        const args: Expr[] = [];
        const subject = n.value ? t(n.value) : undefined;
        for (const w of n.whens) {
          const c = t(w.when);
          args.push(subject ? { op: 'eq', args: [subject, c] } : c, t(w.value));
        }
        args.push(n.else ? t(n.else) : this.lit(null));
        return { op: 'case', args };
      }
      case 'cast': {
        const name = ((n.to as { name?: string }).name ?? '').toLowerCase();
        if (name === 'interval')
          throw this.err(n, 'an INTERVAL may only be added to or subtracted from a date or timestamp');
        const to = CAST_TYPES[name];
        if (!to)
          throw this.err(
            n.to,
            `cannot cast to ${name || 'this type'}: use one of ${Object.keys(CAST_TYPES).join(', ')}`,
          );
        return { op: 'cast', to, args: [t(n.operand)] };
      }
      case 'substring': {
        const args = [t(n.value), n.from ? t(n.from) : this.lit(1)];
        if (n.for) args.push(t(n.for));
        return { op: 'call', fn: 'substring', args };
      }
      case 'extract': {
        const part = DATE_PART_NAMES[n.field.name.toLowerCase()];
        if (!part) throw this.err(n.field, `unknown date part ${n.field.name}`);
        return { op: 'call', fn: part, args: [t(n.from)] };
      }
      case 'call':
        return this.call(n);
      default:
        throw this.err(n, `${n.type} expressions are not supported`);
    }
  }

  private call(n: ExprCall): Expr {
    const name = n.function.name.toLowerCase();
    if (n.orderBy && name !== 'string_agg') throw this.err(n, `${name}: ORDER BY inside a call is only for string_agg`);
    if (n.withinGroup && name !== 'percentile_disc' && name !== 'percentile_cont')
      throw this.err(n, `${name}: WITHIN GROUP is only for percentile_disc and percentile_cont`);
    if (n.over) {
      if (n.filter) throw this.err(n.filter, `${name}: FILTER is not supported in window functions`);
      if (!this.hooks.window) throw this.err(n, 'window functions are only allowed as a SELECT item');
      return this.hooks.window(n);
    }
    if (SQL_AGGS[name] !== undefined) {
      if (this.noAggs || !this.hooks.aggregate)
        throw this.err(n, `aggregate ${name}() is not allowed ${this.noAggs ?? 'here'}`);
      return this.hooks.aggregate(n, SQL_AGGS[name]!);
    }
    if (n.filter) throw this.err(n.filter, `FILTER (WHERE ...) applies to aggregates, not to ${name}()`);
    if (n.distinct) throw this.err(n, `DISTINCT only applies to count()`);
    // position(needle IN haystack): the parser reads its one argument as an IN test.
    const a0 = n.args[0];
    if (name === 'position' && n.args.length === 1 && a0?.type === 'binary' && a0.op === 'IN')
      return this.checked(n, { op: 'call', fn: 'strpos', args: [this.raw(a0.right), this.raw(a0.left)] });
    if (name === 'date_add') {
      if (n.args.length !== 2 || !isInterval(n.args[1]!))
        throw this.err(n, "date_add takes a date or timestamp and an INTERVAL: date_add(x, INTERVAL '1 day')");
      return this.checked(n, this.addInterval(this.raw(n.args[0]!), n.args[1]!, false));
    }
    if (name === 'to_char') {
      const t = n.args[1];
      if (n.args.length !== 2 || t?.type !== 'string')
        throw this.err(n, "to_char takes a date or timestamp and a template string literal: to_char(d, 'YYYY-MM-DD')");
      const f = toCharFormat(t.value);
      if ('error' in f) throw this.err(t, f.error);
      return this.checked(n, { op: 'call', fn: 'strftime', args: [this.raw(n.args[0]!), this.lit(f.format)] });
    }
    const args = n.args.map((a) => this.raw(a));
    if (name === 'coalesce') return { op: 'coalesce', args };
    if (name === 'mod') return this.checked(n, { op: 'mod', args } as unknown as Expr);
    if (name === 'nullif') {
      if (args.length !== 2) throw this.err(n, 'nullif takes 2 arguments');
      // CASE WHEN a = b THEN NULL ELSE a END: it compares as = does (NaN = NaN, dates with ISO text).
      return this.checked(n, {
        op: 'case',
        args: [{ op: 'eq', args: [args[0]!, args[1]!] }, this.lit(null), args[0]!],
      });
    }
    if (name === 'date_part') {
      const p = args[0];
      const part = p?.op === 'lit' && typeof p.value === 'string' ? DATE_PART_NAMES[p.value.toLowerCase()] : undefined;
      if (!part || args.length !== 2)
        throw this.err(n, "date_part takes a part name ('year', 'month', ...) and a value");
      return { op: 'call', fn: part, args: [args[1]!] };
    }
    const fn = SQL_FNS[name];
    if (!fn) throw this.err(n.function, `unknown function ${name}()`);
    return this.checked(n, { op: 'call', fn, args });
  }

  /** e, type-checked, with an error pointing at the call it came from. */
  private checked(n: SqlExpr, e: Expr): Expr {
    try {
      checkExpr(e, this.hooks.fields());
    } catch (x) {
      if (x instanceof TypeError) throw this.err(n, x.message);
      throw x;
    }
    return e;
  }

  /**
   * x plus (or minus) an INTERVAL literal, as DuckDB adds one: its months first (the day clamped to
   * the month's end), then its days, then its time; a timestamp (T), even from a date, as DuckDB's.
   */
  private addInterval(x: Expr, iv: SqlExpr, negate: boolean): Expr {
    const text = ((iv as { operand: { value: string } }).operand.value ?? '').trim();
    let v: ReturnType<typeof parseIntervalLiteral>;
    try {
      v = parseIntervalLiteral(text);
    } catch {
      v = {};
    }
    const months = (v.years ?? 0) * 12 + (v.months ?? 0);
    const days = v.days ?? 0;
    const us = Math.round(
      (((v.hours ?? 0) * 60 + (v.minutes ?? 0)) * 60 + (v.seconds ?? 0)) * 1e6 + (v.milliseconds ?? 0) * 1000,
    );
    if (!/[a-z:]/i.test(text) || Object.keys(v).length === 0)
      throw this.err(
        iv,
        `not an interval: '${text}' (write e.g. '1 day', '3 months', '2 hours 30 minutes', '1 year 2 months')`,
      );
    if (!Number.isInteger(months) || !Number.isInteger(days))
      throw this.err(
        iv,
        `INTERVAL '${text}': a fractional year, month or day is not supported (write '1 day 12 hours')`,
      );
    if (!Number.isSafeInteger(us)) throw this.err(iv, `INTERVAL '${text}' is too large`);
    const parts: [number, TimeUnitName][] = [
      [months, 'month'],
      [days, 'day'],
      [us, 'microsecond'],
    ];
    let e = x;
    let any = false;
    for (const [k, unit] of parts) {
      if (k === 0 && (any || unit !== 'microsecond')) continue;
      any = true;
      e = { op: 'call', fn: 'dateAdd', args: [e, this.lit(negate ? -k : k), this.lit(unit)] };
    }
    return this.checked(iv, e);
  }
}

/** INTERVAL '...' (the parser reads it as a cast of a string to interval). */
function isInterval(n: SqlExpr): boolean {
  return (
    n.type === 'cast' && n.operand.type === 'string' && (n.to as { name?: string }).name?.toLowerCase() === 'interval'
  );
}

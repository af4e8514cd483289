// Constant parts of a filter's comparisons, computed once at the client before the plan is checked
// and sent. SQL writes a date bound as `DATE '2024-01-01'` or `day >= DATE '1998-12-01' - INTERVAL
// '90 days'`: left as expressions, these were evaluated for every row, and a zone map, which tests a
// stored column against a literal, could not skip a chunk with them ("not a stored column compared
// with a literal"), so the commonest analyst filter, a date range, read every chunk. Folded, they are
// literals the zone maps and the comparison kernels take.
//
// The same place gives a date compared with a timestamp the meaning SQL gives it (PostgreSQL and
// DuckDB compare the date as its midnight): `DATE - INTERVAL` is a timestamp, so `l_shipdate <= DATE
// '1998-12-01' - INTERVAL '90 days'` compares a date column with a timestamp. Against a constant the
// comparison is rewritten exactly in days (`d <= t` is `d <= floor(t / day)`, `d < t` is `d <
// ceil(t / day)`), so it stays a comparison of the stored column with a literal; otherwise the date
// side is cast to a timestamp.

import { formatDate, formatTimestamp } from '../temporal.js';
import type { Field } from '../schema.js';
import { isNum, type Expr, type ExprType, type Literal } from './expr-base.js';
import { checkExpr } from './expr.js';
import { vecValue } from './expr-fns.js';
import { compile } from './eval.js';
import type { Plan } from './plan.js';

const COMPARE = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
/** Operators and functions whose value depends on their arguments alone (so folding one is exact). */
const FOLDABLE_OPS = new Set(['lit', 'cast', 'neg', 'add', 'sub', 'mul', 'div', 'mod', 'coalesce']);
const FOLDABLE_FNS = new Set(['dateAdd', 'dateTrunc', 'abs', 'round', 'floor', 'ceil', 'trunc', 'lower', 'upper']);
const MICROS_PER_DAY = 86_400_000_000n;
/** Days of 0001-01-01 and 9999-12-31: a date literal is written as ISO text within them. */
const FIRST_DAY = -719_162;
const LAST_DAY = 2_932_896;

/** `plan` with its filter's constant comparison operands folded (see above); the plan itself if none. */
export function foldPlan(plan: Plan, fields: readonly Field[]): Plan {
  if (plan.filter === undefined) return plan;
  // Derived columns are visible to the filter: their types come from the plan's check, so a plan
  // with them is folded against the frame's fields plus theirs only where checkExpr can type them.
  const all = [...fields];
  for (const d of plan.derive ?? []) {
    try {
      const t = checkExpr(d.expr, all);
      all.push({ name: d.name, type: t === 'N' ? 'D' : t });
    } catch {
      return plan; // the check reports it
    }
  }
  const filter = foldFilter(plan.filter, all);
  return filter === plan.filter ? plan : { ...plan, filter };
}

function foldFilter(e: Expr, fields: readonly Field[]): Expr {
  if (e.op === 'and' || e.op === 'or' || e.op === 'not') {
    const args = e.args.map((a) => foldFilter(a, fields));
    return args.every((a, i) => a === e.args[i]) ? e : ({ ...e, args } as Expr);
  }
  if (!COMPARE.has(e.op)) return e;
  const [a0, b0] = (e as { args: readonly [Expr, Expr] }).args;
  const a = constant(a0, fields) ?? { expr: a0, type: typeOf(a0, fields) };
  const b = constant(b0, fields) ?? { expr: b0, type: typeOf(b0, fields) };
  const op = e.op as Cmp;
  // A date and a timestamp: the date is its midnight.
  if (a.type === 'd' && b.type === 'T') return dateWithTimestamp(op, a, b, false) ?? e;
  if (a.type === 'T' && b.type === 'd') return dateWithTimestamp(FLIP[op], b, a, true) ?? e;
  if (a.expr === a0 && b.expr === b0) return e;
  // Only where the comparison was valid as written: a folded constant must not make one that was
  // refused (text against a timestamp's value) valid.
  if (!alike(a.type, b.type)) return e;
  return { op, args: [a.expr, b.expr] } as Expr;
}

const family = (t: ExprType | undefined): string | undefined =>
  t === 'I' || t === 'D' || t === 'L' ? 'number' : t === 'N' ? 'null' : t;

function alike(a: ExprType | undefined, b: ExprType | undefined): boolean {
  const fa = family(a);
  const fb = family(b);
  return fa !== undefined && fb !== undefined && (fa === fb || fa === 'null' || fb === 'null');
}

type Cmp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
const FLIP: Record<Cmp, Cmp> = { eq: 'eq', ne: 'ne', lt: 'gt', le: 'ge', gt: 'lt', ge: 'le' };

interface Operand {
  expr: Expr;
  type: ExprType | undefined;
  /** Set when the operand is a constant: its value in eau2's terms (days, microseconds, ...). */
  value?: number | string | boolean | bigint | null;
}

function typeOf(e: Expr, fields: readonly Field[]): ExprType | undefined {
  try {
    return checkExpr(e, fields);
  } catch {
    return undefined;
  }
}

/** `d op t` (the date first; `flipped`: written `t op' d`), or undefined to leave it as written. */
function dateWithTimestamp(op: Cmp, d: Operand, t: Operand, flipped: boolean): Expr | undefined {
  const order = (x: Expr, y: Expr): [Expr, Expr] => (flipped ? [y, x] : [x, y]);
  const back = (o: Cmp): Cmp => (flipped ? FLIP[o] : o);
  if (d.value !== undefined && t.value === undefined) {
    // A constant date against a timestamp expression: the date's midnight as a timestamp literal.
    if (d.value === null) return undefined;
    return { op: back(op), args: order(timestampLit(BigInt(d.value as number) * MICROS_PER_DAY), t.expr) } as Expr;
  }
  if (t.value !== undefined && d.value === undefined && t.value !== null) {
    const us = t.value as bigint;
    let q = us / MICROS_PER_DAY;
    if (q * MICROS_PER_DAY > us) q -= 1n; // floor, for times before 1970
    const exact = q * MICROS_PER_DAY === us;
    const ceil = exact ? q : q + 1n;
    // d*day <= t iff d <= floor(t/day); d*day < t iff d < ceil(t/day); and so on.
    const bound: Record<Cmp, bigint | undefined> = {
      le: q,
      gt: q,
      lt: ceil,
      ge: ceil,
      eq: exact ? q : undefined,
      ne: exact ? q : undefined,
    };
    const day = bound[op];
    if (day !== undefined && day >= BigInt(Number.MIN_SAFE_INTEGER) && day <= BigInt(Number.MAX_SAFE_INTEGER))
      return { op: back(op), args: order(d.expr, dateLit(Number(day))) } as Expr;
  }
  // Otherwise the date side as a timestamp: a folded timestamp is an ISO text literal now, which a
  // date column alone would read as a date.
  const cast: Expr = { op: 'cast', to: 'T', args: [d.expr] };
  return { op: back(op), args: order(cast, t.expr) } as Expr;
}

/** A date literal: ISO text within years 1-9999 (readable in explain()), else the day number. */
function dateLit(days: number): Expr {
  return lit(days >= FIRST_DAY && days <= LAST_DAY ? formatDate(days) : days);
}

/** A timestamp literal: ISO text within years 1-9999, else microseconds (a safe integer), else none. */
function timestampLit(us: bigint): Expr {
  if (us >= BigInt(FIRST_DAY) * MICROS_PER_DAY && us < BigInt(LAST_DAY + 1) * MICROS_PER_DAY)
    return lit(formatTimestamp(us));
  return lit(Number(us));
}

function lit(value: Literal): Expr {
  return { op: 'lit', value };
}

/** The operand folded into a literal when it is a constant expression eau2 can compute here. */
function constant(e: Expr, fields: readonly Field[]): Operand | undefined {
  if (e.op === 'lit' || !foldable(e)) return undefined;
  const type = typeOf(e, fields);
  if (type === undefined || type === 'N') return undefined;
  let value: number | string | boolean | bigint | null;
  try {
    value = (isNum(type) ? exactDecimal(e) : undefined) ?? vecValue(compile(e, fields)([], 1), type, 0);
  } catch {
    return undefined; // an error the query reports as it would have
  }
  if (value === null) return { expr: lit(null), type: 'N', value };
  switch (type) {
    case 'd':
      return { expr: dateLit(value as number), type, value };
    case 'T': {
      const us = typeof value === 'bigint' ? value : BigInt(value as number);
      const safe = us >= BigInt(Number.MIN_SAFE_INTEGER) && us <= BigInt(Number.MAX_SAFE_INTEGER);
      if (!safe && (us < BigInt(FIRST_DAY) * MICROS_PER_DAY || us >= BigInt(LAST_DAY + 1) * MICROS_PER_DAY))
        return undefined;
      return { expr: timestampLit(us), type, value: us };
    }
    case 'L':
      return typeof value === 'bigint' &&
        value >= BigInt(Number.MIN_SAFE_INTEGER) &&
        value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? { expr: lit(Number(value)), type, value }
        : undefined;
    case 'I':
    case 'D':
      return typeof value === 'number' ? { expr: lit(value), type, value } : undefined;
    case 'S':
      return { expr: lit(value as string), type, value };
    case 'B':
      return { expr: lit(value as boolean), type, value };
    default:
      return undefined;
  }
}

function foldable(e: Expr): boolean {
  if (e.op === 'call') return FOLDABLE_FNS.has(e.fn) && e.args.every(foldable);
  if (!FOLDABLE_OPS.has(e.op)) return false;
  return e.op === 'lit' || (e as { args: readonly Expr[] }).args.every(foldable);
}

/**
 * `+`, `-`, `*` and negation of number literals computed in decimal, as SQL computes its decimal
 * literals (TPC-H's `l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01` keeps 0.07, which in doubles
 * is above 0.06 + 0.01 = 0.06999999999999999), then rounded once to the nearest double; undefined
 * for anything else, which is evaluated as the rows' expressions are.
 */
function exactDecimal(e: Expr): number | undefined {
  const d = decimalOf(e, 0);
  if (d === undefined) return undefined;
  const v = Number(`${d.n}e-${d.scale}`);
  return Number.isFinite(v) ? v : undefined;
}

interface Decimal {
  n: bigint;
  scale: number;
}

function decimalOf(e: Expr, depth: number): Decimal | undefined {
  if (depth > 32) return undefined;
  if (e.op === 'lit') {
    if (typeof e.value !== 'number' || !Number.isFinite(e.value)) return undefined;
    // The shortest text that reads back as the double: what the statement wrote, for a literal.
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(e.value));
    if (!m) return undefined; // exponent form
    const frac = m[3] ?? '';
    return { n: BigInt(`${m[1]}${m[2]}${frac}`), scale: frac.length };
  }
  if (e.op === 'neg') {
    const a = decimalOf(e.args[0], depth + 1);
    return a && { n: -a.n, scale: a.scale };
  }
  if (e.op !== 'add' && e.op !== 'sub' && e.op !== 'mul') return undefined;
  const a = decimalOf(e.args[0]!, depth + 1);
  const b = decimalOf(e.args[1]!, depth + 1);
  if (!a || !b) return undefined;
  if (e.op === 'mul') return a.scale + b.scale > 40 ? undefined : { n: a.n * b.n, scale: a.scale + b.scale };
  const scale = Math.max(a.scale, b.scale);
  const x = a.n * 10n ** BigInt(scale - a.scale);
  const y = b.n * 10n ** BigInt(scale - b.scale);
  return { n: e.op === 'add' ? x + y : x - y, scale };
}

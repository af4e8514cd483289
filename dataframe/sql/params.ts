// Statement parameters ($1, $2, ...): values an application passes beside the SQL text instead of
// pasting them into it, so a value is never read as SQL (no quoting, no injection) and a repeated
// statement keeps one text. Each parameter becomes the literal its value's type makes, in the
// statement's syntax tree, before the statement is planned: the planner and its errors see a
// literal at the parameter's place.

import { rewrite } from './rewrite.js';
import type { Expr as SqlExpr, SelectStatement } from 'pgsql-ast-parser';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { SqlParam } from '../dataframe.js';
import { INT64_MAX, INT64_MIN } from '../schema.js';
import { sqlError, type Span } from './errors.js';

/** Most parameters a statement takes (PostgreSQL's bind message holds at most 65,535). */
const MAX_PARAMS = 65_535;

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return v === null ? 'null' : (v.constructor?.name ?? 'an object');
  return typeof v;
}

/** The parameters' values checked: TypeError naming the first that no SQL literal can stand for. */
export function checkParams(params: unknown): readonly SqlParam[] {
  if (!Array.isArray(params)) throw new TypeError(`params must be an array of values, not ${describe(params)}`);
  if (params.length > MAX_PARAMS) throw new TypeError(`at most ${MAX_PARAMS} params, not ${params.length}`);
  params.forEach((v, i) => {
    const at = `params[${i}] ($${i + 1})`;
    if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'bigint') {
      if (v < INT64_MIN || v > INT64_MAX) throw new TypeError(`${at} is ${v}, outside the int64 range`);
      return;
    }
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) throw new TypeError(`${at} is an invalid Date`);
      return;
    }
    throw new TypeError(`${at} is ${describe(v)}: a parameter is a number, bigint, string, boolean, null or Date`);
  });
  return params as SqlParam[];
}

function literal(v: SqlParam, loc: Span | undefined): SqlExpr {
  const at = loc ? { _location: loc } : {};
  const cast = (text: string, to: string): SqlExpr =>
    ({ type: 'cast', operand: { type: 'string', value: text, ...at }, to: { name: to }, ...at }) as SqlExpr;
  if (v === null) return { type: 'null', ...at } as SqlExpr;
  if (typeof v === 'boolean') return { type: 'boolean', value: v, ...at } as SqlExpr;
  if (typeof v === 'string') return { type: 'string', value: v, ...at } as SqlExpr;
  if (typeof v === 'number')
    return { type: Number.isSafeInteger(v) ? 'integer' : 'numeric', value: v, ...at } as SqlExpr;
  if (typeof v === 'bigint') return cast(v.toString(), 'bigint');
  return cast(v.toISOString(), 'timestamp');
}

/**
 * The statement with each `$n` replaced by the literal of params[n-1]. Every parameter the text
 * names must have a value and every value must be named (as PostgreSQL's bind checks), else INVALID
 * pointing at the parameter. The parsed statement is shared (frozen): the nodes on the way to a
 * parameter are copied, the rest kept.
 */
export function bindParams<T extends SelectStatement>(text: string, st: T, params: readonly SqlParam[]): T {
  const used = new Set<number>();
  const bound = rewrite(st, (n) => {
    if (n.type !== 'parameter') return undefined;
    const loc = n._location as Span | undefined;
    const m = /^\$([1-9]\d{0,5})$/.exec(String(n.name));
    if (!m) throw sqlError(text, loc, `parameters are written $1, $2, ...: not ${String(n.name)}`);
    const k = Number(m[1]);
    if (k > params.length)
      throw sqlError(
        text,
        loc,
        `no value for $${k}: ${params.length} parameter${params.length === 1 ? '' : 's'} given`,
      );
    used.add(k);
    return literal(params[k - 1]!, loc);
  });
  if (used.size !== params.length) {
    const unused = params.findIndex((_, i) => !used.has(i + 1)) + 1;
    throw new Eau2Error(
      ErrorCode.INVALID,
      `${params.length} parameter${params.length === 1 ? '' : 's'} given, but the statement does not use $${unused}`,
    );
  }
  return bound;
}

/** Whether the statement text may name a parameter (a cheap test before walking its tree). */
export function mayHaveParams(text: string): boolean {
  return text.includes('$');
}

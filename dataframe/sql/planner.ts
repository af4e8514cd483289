// The SQL planner: one SELECT statement into the same plans the fluent API builds (query/plan.ts).
// Stage 1 runs on the nodes (computed columns, WHERE, GROUP BY with partial aggregates, or ORDER BY
// with a per-node top-k); window functions, if any, run at the client over the gathered rows; stage 2
// runs at the client over stage 1's result (HAVING, the SELECT list over aggregates, ORDER BY on
// aggregates, LIMIT/OFFSET). Internal column names (__a0, __g0, __s0, ...) keep user names from
// clashing; the result's columns are renamed to the SELECT list's names at the end.
// docs/dataframe.md "SQL".

import type { Expr as SqlExpr, ExprCall, ExprRef, SelectedColumn, SelectFromStatement } from 'pgsql-ast-parser';
import { AGG_IMPLS, isGenericAgg } from '../query/aggregates.js';
import { MAX_SEPARATOR } from '../query/string-agg.js';
import { aggType, type AggFn, type AggSpec, type Derived, type Plan } from '../query/plan.js';
import type { Expr } from '../query/expr-base.js';
import { checkExpr } from '../query/expr.js';
import type { SortKey } from '../query/sort.js';
import { checkFrame, type WindowFrame, type WindowSpec } from '../query/window.js';
import type { FrameAt } from './pre-parse.js';
import type { ColumnType, Field } from '../schema.js';
import { type Span, spanText, sqlError } from './errors.js';
import { expandGroupBy, groupingCall, flagName, withGroupingMasks } from './grouping-sets.js';
import { SQL_WINDOWS, spanOf, Translator } from './translate.js';

/** A FROM item resolved by the caller: its fields and how a reference names one of them. */
export interface SqlScope {
  readonly fields: readonly Field[];
  /** Column name for a (possibly qualified) reference, or an error at the reference. */
  resolve(ref: ExprRef, err: (msg: string) => Error): string;
}

export interface SqlPlan {
  readonly stage1: Plan;
  readonly windows: readonly WindowSpec[];
  /** Stage 2, over stage 1's result (after the windows). */
  readonly post: Plan | undefined;
  /** Result column names, in order: stage 2's (or stage 1's) output is renamed to these. */
  readonly names: readonly string[];
  /**
   * GROUP BY ROLLUP, CUBE or GROUPING SETS (or grouping() read): stage 1 runs once per set, each set
   * indexes of stage 1's groupBy; stage 2 reads the stacked results and their flag columns
   * (grouping-sets.ts).
   */
  readonly sets?: readonly (readonly number[])[];
}

const same = (a: Expr, b: Expr): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * `agg(x) FILTER (WHERE c)` as `agg(CASE WHEN c THEN x END)`, and `count(*) FILTER (WHERE c)` as
 * `count(CASE WHEN c THEN 1 END)`: the aggregates skip nulls, so each sees the rows where c is true,
 * and an aggregate over no such row is what it is over no row (null; 0 for a count). first/last keep
 * nulls, so a row where c is not true would still count for them: refused.
 */
function filtered(n: ExprCall, fn: string, err: (n: unknown, msg: string) => Error): ExprCall {
  if (fn === 'first' || fn === 'last')
    throw err(n.filter, `${n.function.name}: FILTER is not supported (it keeps null values)`);
  const star = n.args.length === 1 && n.args[0]!.type === 'ref' && n.args[0]!.name === '*';
  const wg = n.withinGroup;
  const value: SqlExpr = star ? ({ type: 'integer', value: 1 } as SqlExpr) : (wg?.by ?? n.args[0]!);
  const at = spanOf(n.filter);
  const when = {
    type: 'case',
    value: null,
    whens: [{ when: n.filter!, value }],
    else: null,
    ...(at ? { _location: at } : {}),
  } as unknown as SqlExpr;
  if (wg) return { ...n, filter: null, withinGroup: { ...wg, by: when } };
  return { ...n, filter: null, args: [when, ...n.args.slice(1)] };
}

/** A frame's column named `name`: exactly, or the only one differing in case. */
export function findColumn(fields: readonly Field[], name: string): string | undefined {
  if (fields.some((f) => f.name === name)) return name;
  // Unquoted identifiers arrive lower-cased: match a column whose name differs only in case, if only one does.
  const ci = fields.filter((f) => f.name.toLowerCase() === name.toLowerCase());
  return ci.length === 1 ? ci[0]!.name : undefined;
}

/** A SELECT item's result name: its alias, a column's name, else the expression's text. */
export function itemName(text: string, c: SelectedColumn): string {
  return c.alias?.name ?? (c.expr.type === 'ref' ? c.expr.name : spanText(text, spanOf(c.expr)));
}

export function isAggCall(e: SqlExpr, aggs: Record<string, string>): boolean {
  let found = false;
  const walk = (x: unknown): void => {
    if (found || x === null || typeof x !== 'object') return;
    const o = x as { type?: string; function?: { name?: string }; over?: unknown };
    if (o.type === 'call' && !o.over && aggs[(o.function?.name ?? '').toLowerCase()] !== undefined) {
      found = true;
      return;
    }
    if (o.type === 'select') return; // a subquery's aggregates are its own
    for (const v of Object.values(o)) walk(v);
  };
  walk(e);
  return found;
}

function intLit(text: string, e: SqlExpr | null | undefined, what: string): number | undefined {
  if (!e) return undefined;
  if (e.type !== 'integer' || e.value < 0) throw sqlError(text, spanOf(e), `${what} must be an integer >= 0`);
  return e.value;
}

export function planSelect(
  text: string,
  st: SelectFromStatement,
  scope: SqlScope,
  aggNames: Record<string, string>,
): SqlPlan {
  const err = (n: unknown, msg: string): Error => sqlError(text, spanOf(n), msg);
  if (st.for || st.skip) throw err(st, 'FOR UPDATE/SKIP are not supported');
  const misplaced = groupingCall(st.where) ?? groupingCall(st.groupBy);
  if (misplaced) throw err(misplaced, 'grouping() is only allowed in the SELECT list, HAVING and ORDER BY');
  const items = st.columns ?? [];
  // SELECT * expands to the scope's columns.
  const sel: { expr: SqlExpr | undefined; name: string; span?: Span; star?: string }[] = [];
  for (const c of items) {
    if (c.expr.type === 'ref' && c.expr.name === '*') {
      if (c.expr.table) throw err(c.expr, `no frame or alias named ${c.expr.table.name} in FROM`);
      for (const f of scope.fields) sel.push({ expr: undefined, name: f.name, star: f.name });
      continue;
    }
    sel.push({ expr: c.expr, name: itemName(text, c), span: spanOf(c.expr) });
  }
  if (sel.length === 0) throw err(st, 'SELECT needs at least one column');

  const derive: Derived[] = [];
  const fields: Field[] = [...scope.fields];
  const addDerived = (name: string, e: Expr): void => {
    derive.push({ name, expr: e });
    const t = checkExpr(e, fields);
    fields.push({ name, type: t === 'N' ? 'D' : t });
  };
  const baseHooks = {
    ref: (r: ExprRef) => scope.resolve(r, (m) => err(r, m)),
    fields: () => fields,
  };
  const where = st.where ? new Translator(text, baseHooks, 'in WHERE').expr(st.where) : undefined;
  const limit = intLit(text, st.limit?.limit, 'LIMIT');
  const offset = intLit(text, st.limit?.offset, 'OFFSET');
  const distinct = st.distinct === 'distinct';
  const orderBy = st.orderBy ?? [];
  if (Array.isArray(st.distinct)) throw err(st, 'DISTINCT ON is not supported');

  // An ORDER BY item naming a SELECT item: by ordinal, or by an output name (when it is not also a
  // column of the frame, which SQL resolves to the column... except PostgreSQL prefers the output name;
  // we follow PostgreSQL).
  const selectIndexOf = (by: SqlExpr): number | undefined => {
    if (by.type === 'integer') {
      if (by.value < 1 || by.value > sel.length)
        throw err(by, `ORDER BY/GROUP BY position ${by.value} is not in the SELECT list (1..${sel.length})`);
      return by.value - 1;
    }
    if (by.type === 'ref' && !by.table) {
      const k = sel.findIndex((s) => s.name === by.name && (s.expr !== undefined || s.star !== undefined));
      if (k >= 0) return k;
    }
    return undefined;
  };

  const usesGrouping =
    sel.some((s) => groupingCall(s.expr)) || !!groupingCall(st.having) || orderBy.some((o) => groupingCall(o.by));
  const grouped =
    distinct ||
    usesGrouping ||
    (st.groupBy?.length ?? 0) > 0 ||
    sel.some((s) => s.expr && isAggCall(s.expr, aggNames)) ||
    (st.having !== undefined && st.having !== null);

  if (!grouped) {
    // ---- row query: computed SELECT items at the nodes, ORDER BY + LIMIT as a per-node top-k ----
    const internal: string[] = [];
    const windows: WindowSpec[] = [];
    const used = new Set<string>();
    sel.forEach((s, i) => {
      if (s.star) {
        internal.push(used.has(s.star) ? copy(i, s.star) : s.star);
        used.add(s.star);
        return;
      }
      const e = s.expr!;
      if (e.type === 'call' && e.over) {
        if (e.filter) throw err(e.filter, `${e.function.name}: FILTER is not supported in window functions`);
        windows.push(windowSpec(e, `__s${i}`));
        internal.push(`__s${i}`);
        return;
      }
      const x = new Translator(
        text,
        {
          ...baseHooks,
          window: (n) => {
            throw err(n, 'a window function must be a whole SELECT item');
          },
        },
        'without GROUP BY (add GROUP BY, or use OVER)',
      ).expr(e);
      if (x.op === 'col' && !used.has(x.name)) {
        internal.push(x.name);
        used.add(x.name);
      } else {
        addDerived(`__s${i}`, x);
        internal.push(`__s${i}`);
      }
    });
    function copy(i: number, name: string): string {
      addDerived(`__s${i}`, { op: 'col', name });
      return `__s${i}`;
    }
    function windowSpec(call: ExprCall, as: string): WindowSpec {
      const fname = call.function.name.toLowerCase();
      if (!SQL_WINDOWS.has(fname))
        throw err(call.function, `${fname}() cannot be used with OVER (use ${[...SQL_WINDOWS].join(', ')})`);
      const toCol = (x: SqlExpr, tag: string): string => {
        const ex = new Translator(text, baseHooks, 'in a window').expr(x);
        if (ex.op === 'col') return ex.name;
        addDerived(tag, ex);
        return tag;
      };
      const partitionBy = (call.over!.partitionBy ?? []).map((p, k) => toCol(p, `${as}_p${k}`));
      const wOrder: SortKey[] = (call.over!.orderBy ?? []).map((o, k) => ({
        col: toCol(o.by, `${as}_o${k}`),
        desc: o.order === 'DESC',
        ...(o.nulls ? { nulls: o.nulls === 'FIRST' ? ('first' as const) : ('last' as const) } : {}),
      }));
      const args = call.args;
      let col: string | undefined;
      let offsetN = 1;
      if (
        ['lag', 'lead', 'sum', 'avg', 'min', 'max', 'first_value', 'last_value'].includes(fname) ||
        (fname === 'count' && args[0] && !(args[0].type === 'ref' && args[0].name === '*'))
      ) {
        if (!args[0]) throw err(call, `${fname}() needs an argument`);
        col = toCol(args[0], `${as}_x`);
      }
      if ((fname === 'lag' || fname === 'lead') && args[1]) {
        const o = intLit(text, args[1], `${fname} offset`);
        offsetN = o ?? 1;
      }
      let buckets: number | undefined;
      if (fname === 'ntile') {
        buckets = intLit(text, args[0], 'ntile buckets');
        if (!buckets) throw err(call, 'ntile() takes a number of buckets, an integer >= 1');
      }
      if (
        args.length >
        (fname === 'lag' || fname === 'lead'
          ? 2
          : ['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist'].includes(fname)
            ? 0
            : 1)
      )
        throw err(call, `${fname}() takes fewer arguments`);
      const fnMap: Record<string, WindowSpec['fn']> = {
        row_number: 'rowNumber',
        rank: 'rank',
        dense_rank: 'denseRank',
        lag: 'lag',
        lead: 'lead',
        sum: 'sum',
        count: 'count',
        avg: 'mean',
        min: 'min',
        max: 'max',
        first_value: 'firstValue',
        last_value: 'lastValue',
        ntile: 'ntile',
        percent_rank: 'percentRank',
        cume_dist: 'cumeDist',
      };
      const written = (call.over as { eau2Frame?: FrameAt }).eau2Frame;
      let frame: WindowFrame | undefined;
      if (
        written &&
        !['row_number', 'rank', 'dense_rank', 'lag', 'lead', 'ntile', 'percent_rank', 'cume_dist'].includes(fname)
      ) {
        frame = { rows: written.rows, start: written.start, end: written.stop };
        try {
          checkFrame(frame);
        } catch (x) {
          throw sqlError(text, { start: written.at, end: written.end }, (x as Error).message);
        }
      }
      return {
        fn: fnMap[fname]!,
        col,
        offset: offsetN,
        ...(buckets ? { buckets } : {}),
        partitionBy,
        orderBy: wOrder,
        ...(frame ? { frame } : {}),
        as,
      };
    }

    const sortKeys: SortKey[] = orderBy.map((o, k) => {
      const si = selectIndexOf(o.by);
      let c: string;
      if (si !== undefined) c = internal[si]!;
      else {
        const x = new Translator(text, baseHooks, 'in ORDER BY without GROUP BY').expr(o.by);
        if (x.op === 'col' && windows.length === 0) c = x.name;
        else {
          addDerived(`__o${k}`, x);
          c = `__o${k}`;
        }
      }
      return {
        col: c,
        desc: o.order === 'DESC',
        ...(o.nulls ? { nulls: o.nulls === 'FIRST' ? ('first' as const) : ('last' as const) } : {}),
      };
    });
    const names = sel.map((s) => s.name);
    if (windows.length === 0) {
      const stage1: Plan = clean({
        derive: derive.length ? derive : undefined,
        filter: where,
        select: internal,
        orderBy: sortKeys.length ? sortKeys : undefined,
        limit,
        offset,
      });
      return { stage1, windows, post: undefined, names };
    }
    // Windows need every matching row at the client: stage 1 gathers the columns they and the
    // SELECT list read; ORDER BY/LIMIT apply after the windows.
    const need = new Set<string>(internal.filter((n) => !n.startsWith('__s') || derive.some((d) => d.name === n)));
    for (const w of windows) {
      for (const p of w.partitionBy) need.add(p);
      for (const o of w.orderBy) need.add(o.col);
      if (w.col) need.add(w.col);
    }
    for (const k of sortKeys) need.add(k.col);
    for (const w of windows) need.delete(w.as);
    const stage1: Plan = clean({ derive: derive.length ? derive : undefined, filter: where, select: [...need] });
    const post: Plan = clean({ select: internal, orderBy: sortKeys.length ? sortKeys : undefined, limit, offset });
    return { stage1, windows, post, names };
  }

  // ---- aggregate query: group keys and partial aggregates at the nodes, the rest at the client ----
  const groupBy: string[] = [];
  const groupExprs: Expr[] = [];
  const expanded = distinct ? undefined : expandGroupBy(text, st.groupBy ?? []);
  const groupItems: SqlExpr[] = expanded
    ? expanded.keys
    : sel.map((s) => s.expr ?? ({ type: 'ref', name: s.star! } as SqlExpr));
  /** The index in groupBy of each item's key (a key written twice is grouped by once). */
  const keyOf: number[] = [];
  if (distinct && (st.groupBy?.length ?? 0) > 0) throw err(st, 'SELECT DISTINCT with GROUP BY is not supported');
  groupItems.forEach((g, k) => {
    const si = distinct ? k : selectIndexOf(g);
    const src = si !== undefined ? (sel[si]!.expr ?? ({ type: 'ref', name: sel[si]!.star! } as SqlExpr)) : g;
    if (isAggCall(src, aggNames)) throw err(g, 'GROUP BY cannot name an aggregate');
    const x = new Translator(text, baseHooks, 'in GROUP BY').expr(src);
    const seen = groupExprs.findIndex((y) => same(x, y));
    keyOf.push(seen >= 0 ? seen : groupExprs.length);
    if (seen >= 0) return;
    if (x.op === 'col') groupBy.push(x.name);
    else {
      addDerived(`__g${k}`, x);
      groupBy.push(`__g${k}`);
    }
    groupExprs.push(x);
  });

  // Grouping sets as sets of groupBy's keys; grouping() over a plain GROUP BY reads one set of all.
  const sets = expanded?.sets
    ? expanded.sets.map((s) => [...new Set(s.map((k) => keyOf[k]!))].sort((a, b) => a - b))
    : usesGrouping
      ? [groupBy.map((_, k) => k)]
      : undefined;
  const flags: Field[] = sets ? groupBy.map((_, k) => ({ name: flagName(k), type: 'I' })) : [];
  const masked = (n: SqlExpr): SqlExpr =>
    sets
      ? withGroupingMasks(text, n, (a) => {
          const g = groupExprs.findIndex((y) => same(new Translator(text, baseHooks, 'in grouping()').expr(a), y));
          if (g < 0) throw err(a, 'arguments to GROUPING must be grouping expressions of the associated query level');
          return flagName(g);
        })
      : n;

  const aggs: AggSpec[] = [];
  const aggKeys: string[] = [];
  const postFields = (): Field[] => {
    const out: Field[] = groupBy.map((g) => fields.find((f) => f.name === g)!);
    for (const a of aggs) {
      const t = a.col === '*' ? undefined : fields.find((f) => f.name === a.col)!.type;
      out.push({ name: a.as, type: aggType(a.fn, t) });
    }
    return [...out, ...flags];
  };
  const aggregate = (call: ExprCall, fn: string): Expr => {
    const n = call.filter ? filtered(call, fn, err) : call;
    const name = n.function.name.toLowerCase();
    let f = fn as AggFn;
    let q: number | undefined;
    let sep: string | undefined;
    let desc: boolean | undefined;
    const args = n.args;
    if (n.distinct === 'distinct') {
      if (f !== 'count') throw err(n, `DISTINCT is only supported in count()`);
      f = 'countDistinct';
    }
    let colName: string;
    // The aggregated value: the argument, or an ordered-set aggregate's WITHIN GROUP (ORDER BY x).
    let value = args[0];
    if (n.withinGroup || name === 'percentile_disc' || name === 'percentile_cont') {
      const wg = n.withinGroup;
      if (!wg) throw err(n, `${name}(fraction) needs WITHIN GROUP (ORDER BY x)`);
      const fa = args[0];
      if (args.length !== 1 || (fa?.type !== 'numeric' && fa?.type !== 'integer') || !(fa.value >= 0 && fa.value <= 1))
        throw err(fa ?? n, `${name} takes one fraction, a number in [0, 1]`);
      q = fa.value;
      const desc = wg.order === 'DESC';
      // percentile_cont counted from the greatest value is the complement counted from the least.
      if (f === 'quantileCont') q = desc ? 1 - q : q;
      else if (desc) f = 'quantileDesc';
      // The least value: rank 1 from the least is rank n from the greatest.
      else if (q === 0) [f, q] = ['quantileDesc', 1];
      value = wg.by;
    }
    if (args.length === 1 && args[0]!.type === 'ref' && args[0]!.name === '*') {
      if (f !== 'count') throw err(args[0], `${name}(*) is not allowed: only count(*)`);
      colName = '*';
    } else {
      if (!n.withinGroup) {
        const want = f === 'quantile' || f === 'quantileCont' || f === 'stringAgg' ? 2 : 1;
        if (args.length !== want) throw err(n, `${name}() takes ${want} argument(s)`);
        if (f === 'quantile' || f === 'quantileCont') {
          const qa = args[1]!;
          const num = qa.type === 'numeric' || qa.type === 'integer';
          if (!num || !((f === 'quantile' ? qa.value > 0 : qa.value >= 0) && qa.value <= 1))
            throw err(qa, `the quantile must be a number in ${f === 'quantile' ? '(0, 1]' : '[0, 1]'}`);
          q = qa.value;
        }
        if (f === 'stringAgg') {
          const sa = args[1]!;
          if (sa.type !== 'string') throw err(sa, `${name}'s separator must be a string literal`);
          if (sa.value.length > MAX_SEPARATOR)
            throw err(sa, `${name}'s separator is longer than ${MAX_SEPARATOR} characters`);
          sep = sa.value;
        }
      }
      if (isAggCall(value!, aggNames)) throw err(value, 'aggregates cannot be nested');
      const x = new Translator(text, baseHooks, 'inside an aggregate').expr(value!);
      if (n.orderBy) {
        // The state holds the values it joins, so it orders by them; another key would need its
        // column beside each value.
        // (Compared with the argument as written: FILTER made x a CASE of it.)
        const o = n.orderBy;
        const tr = new Translator(text, baseHooks, 'inside an aggregate');
        const by = o.length === 1 ? tr.expr(o[0]!.by) : undefined;
        if (f !== 'stringAgg' || !by || !same(by, call.filter ? tr.expr(call.args[0]!) : x))
          throw err(
            o[0]?.by ?? n,
            `${name}: ORDER BY inside the call takes the aggregated value itself (string_agg(s, ',' ORDER BY s [DESC]))`,
          );
        desc = o[0]!.order === 'DESC';
      }
      if (x.op === 'col') colName = x.name;
      else {
        const existing = derive.find((d) => same(d.expr, x));
        if (existing) colName = existing.name;
        else {
          colName = `__x${aggs.length}`;
          addDerived(colName, x);
        }
      }
    }
    const key = JSON.stringify([f, colName, q, sep, desc]);
    let k = aggKeys.indexOf(key);
    if (k < 0) {
      const spec = clean({ col: colName, fn: f, as: `__a${aggs.length}`, q, sep, desc }) as unknown as AggSpec;
      const t = colName === '*' ? undefined : fields.find((fl) => fl.name === colName)!.type;
      const why = checkAggInput(f, t);
      if (why) throw err(n, `${name}() needs ${why}`);
      aggs.push(spec);
      aggKeys.push(key);
      k = aggs.length - 1;
    }
    return { op: 'col', name: `__a${k}` };
  };

  // Expressions over the groups: a subtree equal to a group key becomes that key's column; any
  // column left over was neither grouped nor aggregated.
  const overGroups = (n: SqlExpr, where: string): Expr => {
    const withAggs = (): Field[] => [...fields, ...postFields().slice(groupBy.length)];
    const ref = (r: ExprRef): string => (flags.some((f) => f.name === r.name) ? r.name : baseHooks.ref(r));
    const tr = new Translator(text, { ...baseHooks, ref, aggregate, fields: withAggs });
    const x = tr.expr(masked(n));
    const sub = (e: Expr): Expr => {
      const g = groupExprs.findIndex((y) => same(e, y));
      if (g >= 0) return { op: 'col', name: groupBy[g]! };
      if (e.op === 'col') {
        if (e.name.startsWith('__a') || flags.some((f) => f.name === e.name)) return e;
        throw sqlError(
          text,
          tr.spans.get(e) ?? spanOf(n),
          `column ${e.name} must appear in GROUP BY or be used in an aggregate function ${where}`,
        );
      }
      if ('args' in e) return { ...e, args: e.args.map(sub) } as Expr;
      return e;
    };
    return sub(x);
  };

  const postDerive: Derived[] = [];
  const selNames = sel.map((s, i) => {
    const x = overGroups(s.expr ?? ({ type: 'ref', name: s.star! } as SqlExpr), 'in SELECT');
    postDerive.push({ name: `__s${i}`, expr: x });
    return `__s${i}`;
  });
  const having = st.having ? overGroups(st.having, 'in HAVING') : undefined;
  const sortKeys: SortKey[] = orderBy.map((o, k) => {
    const si = selectIndexOf(o.by);
    let c: string;
    if (si !== undefined) c = selNames[si]!;
    else {
      postDerive.push({ name: `__o${k}`, expr: overGroups(o.by, 'in ORDER BY') });
      c = `__o${k}`;
    }
    return {
      col: c,
      desc: o.order === 'DESC',
      ...(o.nulls ? { nulls: o.nulls === 'FIRST' ? ('first' as const) : ('last' as const) } : {}),
    };
  });
  if (having) postDerive.push({ name: '__having', expr: having });
  // Type-check stage 2 against stage 1's output now, so its errors also point into the statement.
  const pf = postFields();
  for (const d of postDerive) {
    const t = checkExpr(d.expr, pf);
    pf.push({ name: d.name, type: t === 'N' ? 'D' : t });
  }
  if (having && pf.find((f) => f.name === '__having')!.type !== 'B' && having.op !== 'lit')
    throw err(st.having, 'HAVING must be a boolean expression');
  const stage1: Plan = clean({
    derive: derive.length ? derive : undefined,
    filter: where,
    groupBy: groupBy.length ? groupBy : undefined,
    aggs,
  });
  const post: Plan = clean({
    derive: postDerive,
    filter: having ? { op: 'col', name: '__having' } : undefined,
    select: selNames,
    orderBy: sortKeys.length ? sortKeys : undefined,
    limit,
    offset,
  });
  return { stage1, windows: [], post, names: sel.map((s) => s.name), ...(sets ? { sets } : {}) };
}

function clean(p: Record<string, unknown>): Plan {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Plan;
}

function checkAggInput(fn: AggFn, t: ColumnType | undefined): string | undefined {
  if (t === undefined) return undefined;
  if ((fn === 'sum' || fn === 'mean') && t !== 'I' && t !== 'D' && t !== 'L') return 'a numeric column';
  return isGenericAgg(fn) ? AGG_IMPLS[fn].accepts(t) : undefined;
}

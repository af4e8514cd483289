// Plans as text, for explain() and SQL's EXPLAIN: what each node computes over the chunks it leads,
// what travels back, and what the client does with it.

import type { Expr } from './expr-base.js';
import { zoneExplain } from '../zone-map.js';
import { lateReads, type CheckedPlan, type SourceZones } from './plan.js';
import type { SortKey } from './sort.js';

const INFIX: Record<string, string> = {
  eq: '=',
  ne: '<>',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
  add: '+',
  sub: '-',
  mul: '*',
  div: '/',
  mod: '%',
  and: 'AND',
  or: 'OR',
};

function lit(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'`;
  return String(v);
}

/** An expression in SQL-like text. */
export function exprText(e: Expr): string {
  switch (e.op) {
    case 'col':
      return /^[A-Za-z_][A-Za-z0-9_]*$/.test(e.name) ? e.name : `"${e.name.replaceAll('"', '""')}"`;
    case 'lit':
      return lit(e.value);
    case 'not':
      return `NOT ${exprText(e.args[0])}`;
    case 'neg':
      return `-${exprText(e.args[0])}`;
    case 'isNull':
      return `${exprText(e.args[0])} IS NULL`;
    case 'in':
      return `${exprText(e.args[0])} IN (${e.values.map(lit).join(', ')})`;
    case 'call':
      return `${e.fn}(${e.args.map(exprText).join(', ')}${e.unit ? `, unit ${e.unit}` : ''})`;
    case 'cast':
      return `CAST(${exprText(e.args[0])} AS ${e.to})`;
    case 'coalesce':
      return `COALESCE(${e.args.map(exprText).join(', ')})`;
    case 'case': {
      const a = e.args;
      let s = 'CASE';
      for (let k = 0; k + 1 < a.length; k += 2) s += ` WHEN ${exprText(a[k]!)} THEN ${exprText(a[k + 1]!)}`;
      return `${s} ELSE ${exprText(a[a.length - 1]!)} END`;
    }
    default:
      return `(${e.args.map(exprText).join(` ${INFIX[e.op] ?? e.op} `)})`;
  }
}

function sortText(keys: readonly SortKey[]): string {
  return keys
    .map((k) => `${k.col}${k.desc ? ' DESC' : ''}${k.nulls ? ` NULLS ${k.nulls.toUpperCase()}` : ''}`)
    .join(', ');
}

/**
 * What the zone maps let the filter skip: per top-level AND term whether its shape can skip chunks
 * and how many it skips by the metadata, then the whole filter's count, which is what the query will
 * skip (the estimate before running; EXPLAIN ANALYZE and queryStats give the count after).
 */
function zoneLines(checked: CheckedPlan, z: SourceZones): string[] {
  const filter = checked.plan.filter!;
  const nchunks = z.zones?.length;
  if (nchunks === undefined) return ['  zone maps: none (the frame was written before them): every chunk is read'];
  const ex = zoneExplain(filter, z.fields, checked.fields, z.zones, nchunks, z.rowsOf);
  const lines = ['  zone maps (per chunk min/max/nulls in the metadata), by filter term:'];
  for (const t of ex.terms)
    lines.push(
      `    ${exprText(t.term)}: ${t.why ? `cannot skip chunks (${t.why})` : `can skip chunks; skips ${t.skips} of ${nchunks} by the metadata`}`,
    );
  lines.push(`  chunks skipped: ${ex.skipped} of ${nchunks} (estimate from the metadata, before running)`);
  return lines;
}

/**
 * What the node part reads. Over a stored frame's own columns, a top-k reads its filter's and first
 * key's columns of every chunk, best zone first, and the rest for the chunks holding a candidate
 * (top-k.ts, lateTopK), and a filtered row query its filter's columns, then the rest of the chunks
 * where rows match (lateRows); anything else the plan's columns of every chunk it does not skip.
 */
function readLines(checked: CheckedPlan, local: boolean, zones: SourceZones | undefined): string[] {
  const p = checked.plan;
  const name = (i: number): string => checked.fields[i]!.name;
  const whole = [`  read columns: ${checked.reads.map(name).join(', ') || '(none)'}`];
  if (local || zones === undefined || p.aggs !== undefined || p.derive?.length) return whole;
  const split = lateReads(checked);
  if (!p.orderBy) {
    if (!p.filter || split === undefined) return whole;
    return [
      `  read columns: ${split.early.map(name).join(', ')} of every chunk`,
      `  then ${split.rest.map(name).join(', ')} of the chunks where rows match`,
    ];
  }
  const k = p.limit === undefined ? 0 : p.limit + (p.offset ?? 0);
  if (k === 0) return whole;
  const first = p.orderBy[0]!.col;
  const byZone = zones.zones
    ? `, chunks with the best ${first} by their zone maps first; a chunk that cannot reach the kept rows is not read`
    : '';
  const lines = [`  read columns: ${(split?.early ?? checked.reads).map(name).join(', ')} of every chunk${byZone}`];
  if (split)
    lines.push(
      `  then ${split.rest.map(name).join(', ')} of the chunks holding a row that can be among the best ${k} on ${first} (ties with the ${k}th included; past 16384 ties, of every chunk)`,
    );
  return lines;
}

/** The plan's node part and merge, one step per line. */
export function explainPlan(
  checked: CheckedPlan,
  where: string,
  local = false,
  over = 'the chunks it leads',
  zones?: SourceZones,
): string {
  const p = checked.plan;
  // A frame in memory (a part's gathered rows, a DataFrame) is not on the nodes: it runs here.
  const head = local
    ? `at ${where}:`
    : where === 'in memory'
      ? 'in this process, over the frame in memory:'
      : `on each node (${where}), over ${over}:`;
  const lines = [head];
  lines.push(...readLines(checked, local, zones));
  for (const d of p.derive ?? []) lines.push(`  compute ${d.name} = ${exprText(d.expr)}`);
  if (p.filter) lines.push(`  filter ${exprText(p.filter)}`);
  if (p.filter && zones) lines.push(...zoneLines(checked, zones));
  if (p.aggs) {
    const aggs = p.aggs.map((a) => `${a.fn}(${a.col}${a.q !== undefined ? `, ${a.q}` : ''}) AS ${a.as}`).join(', ');
    lines.push(`  ${p.groupBy?.length ? `group by ${p.groupBy.join(', ')}: ` : ''}partial ${aggs || '(keys only)'}`);
    lines.push('then at the client: merge the partial aggregates per group, order groups by key');
  } else if (p.orderBy) {
    const k = p.limit === undefined ? 'all matching rows' : `its best ${p.limit + (p.offset ?? 0)} rows (top-k heap)`;
    lines.push(`  order by ${sortText(p.orderBy)}: keep ${k}`);
    lines.push(`  ${local ? 'keep' : 'send'} ${(p.select ?? checked.output.map((f) => f.name)).join(', ')}`);
    if (!local || p.offset || p.limit !== undefined)
      lines.push(
        `${local ? '  ' : "then at the client: merge-sort the nodes' rows"}${p.offset ? `, skip ${p.offset}` : ''}${p.limit !== undefined ? `, keep ${p.limit}` : ''}`.replace(
          /^ {2}, /,
          '  ',
        ),
      );
  } else {
    const k = p.limit === undefined ? 'every matching row' : `its first ${p.limit + (p.offset ?? 0)} matching rows`;
    lines.push(`  ${local ? 'keep' : 'send'} ${k} of ${(p.select ?? checked.output.map((f) => f.name)).join(', ')}`);
    if (!local)
      lines.push(
        `then at the client: concatenate in frame order${p.offset ? `, skip ${p.offset}` : ''}${p.limit !== undefined ? `, keep ${p.limit}` : ''}`,
      );
  }
  lines.push(`result: ${checked.output.map((f) => `${f.name}:${f.type}`).join(', ')}`);
  return lines.join('\n');
}

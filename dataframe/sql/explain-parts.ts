// EXPLAIN of a statement that runs as parts (derived.ts): WITH queries, subqueries in FROM, UNION
// branches, scalar subqueries, grouped subqueries a correlated subquery is joined as, the rows under
// DISTINCT ON or window functions over groups. EXPLAIN runs none of them: runStatement walks the
// statement as it would run it, each SELECT is planned as the single-SELECT EXPLAIN plans it, and
// the result a part would give is stood in for by an empty frame of its columns, which the next
// part is planned over. The text lists the parts in the order they run. docs/dataframe.md "SQL".

import { DataFrame } from '../dataframe.js';
import { columnFromValues } from '../column-builder.js';
import type { SelectFromStatement } from 'pgsql-ast-parser';
import type { Field } from '../schema.js';
import { closingParen } from './pre-parse.js';

interface Open {
  lines: string[];
  /** Stored frames the part reads. */
  stored: Set<string>;
  /** Parts whose rows it reads. */
  inputs: Set<number>;
}

interface Part extends Open {
  what: string;
  /** The part's text in the statement, when it is written there (not made by a rewrite). */
  sql?: string;
}

/** The parts of one statement as EXPLAIN prints them. */
export class PartsLog {
  private readonly done: Part[] = [];
  private readonly open: Open[] = [PartsLog.opened()];
  /** Each part's result (a stand-in; with ANALYZE, its rows), by the part's number. */
  private readonly standIns = new WeakMap<DataFrame, number>();

  /** `analyze`: EXPLAIN ANALYZE, which runs each part (and the next over its rows) and reports it. */
  constructor(readonly analyze = false) {}

  /** Starts a part: what is noted until it ends is its. */
  begin(): void {
    this.open.push(PartsLog.opened());
  }

  private static opened(): Open {
    return { lines: [], stored: new Set(), inputs: new Set() };
  }

  /** Ends the part begun last as `what`, its result standing in as `df`; the part's number. */
  end(what: string, df: DataFrame, sql?: string): number {
    const o = this.open.pop()!;
    if (this.analyze) o.lines.push(`gave ${df.nrows} rows`);
    this.done.push({ what, ...o, ...(sql === undefined ? {} : { sql }) });
    const n = this.done.length;
    this.standIns.set(df, n);
    return n;
  }

  /** Adds lines to the part being planned (the main SELECT when none is). */
  note(...lines: string[]): void {
    this.open[this.open.length - 1]!.lines.push(...lines);
  }

  /** `df` is the result of the same part as `was` (the part's result under other column names). */
  same(df: DataFrame, was: DataFrame): void {
    const n = this.standIns.get(was);
    if (n !== undefined) this.standIns.set(df, n);
  }

  /** Notes what a SELECT reads: other parts' rows, frames in memory, stored frames. */
  reads(st: SelectFromStatement, frames: Readonly<Record<string, object>>): void {
    const names = new Set<string>();
    const walk = (x: unknown): void => {
      if (x === null || typeof x !== 'object') return;
      if (Array.isArray(x)) return x.forEach(walk);
      const n = x as { type?: unknown; name?: { name?: unknown } };
      if (n.type === 'table' && typeof n.name?.name === 'string') names.add(n.name.name);
      for (const v of Object.values(x)) walk(v);
    };
    walk(st.from);
    walk(st.where);
    walk(st.columns);
    walk(st.having);
    const o = this.open[this.open.length - 1]!;
    const said: string[] = [];
    const parts: number[] = [];
    for (const name of names) {
      const df = Object.hasOwn(frames, name) ? frames[name] : undefined;
      const n = this.partOf(df);
      const shown = name.startsWith('\u0000') ? 'the rows' : name;
      if (n !== undefined) {
        said.push(`${shown}: part ${n}'s rows, gathered at the client (in memory)`);
        o.inputs.add(n);
        parts.push(n);
      } else if (df) said.push(`${shown}: rows in memory at the client`);
      else {
        said.push(`${name}: a stored frame`);
        o.stored.add(name);
      }
    }
    if (said.length) this.note(`reads ${said.join('; ')}`);
    if (parts.length && o.stored.size && !this.analyze)
      this.note(
        `planned as if ${parts.map((n) => `part ${n}`).join(' and ')} gave no rows: which side of a join is broadcast to the nodes holding the stored frame, and whether it is within the broadcast limit, depends on how many rows it gives`,
      );
  }

  /** The number of the part whose result `df` stands in for, if it is one. */
  partOf(df: object | undefined): number | undefined {
    return df instanceof DataFrame ? this.standIns.get(df) : undefined;
  }

  /** A stand-in for a part's result with these columns: no rows, or (for a scalar's value) one of nulls. */
  standIn(fields: readonly Field[], rows: 0 | 1 = 0): DataFrame {
    return DataFrame.fromFields(
      fields,
      fields.map((f) => columnFromValues(f.type, rows ? [null] : [])),
    );
  }

  /** The parts as text, the main SELECT last. */
  text(): string {
    const out: string[] = [];
    const main = this.open[0]!;
    const total = this.done.length + 1;
    out.push(
      this.analyze
        ? `runs as ${total} parts, in this order; EXPLAIN ANALYZE ran each`
        : `runs as ${total} parts, in this order; EXPLAIN runs none of them`,
    );
    this.done.forEach((p, i) => {
      out.push(`part ${i + 1}: ${p.what}, ${where(p)}`, ...p.lines.map(indent));
    });
    out.push(`part ${total}: the main SELECT, ${where(main)}`, ...main.lines.map(indent));
    // A chain of joins names its parts' rows with a NUL the statement cannot spell: not printed.
    return out.join('\n').replaceAll('\u0000', '');
  }

  /** The parts' texts as written in the statement, by number (tests compare them with EXPLAIN of each). */
  parts(): { n: number; sql: string; lines: string[] }[] {
    return this.done.flatMap((p, i) => (p.sql === undefined ? [] : [{ n: i + 1, sql: p.sql, lines: p.lines }]));
  }
}

/** Where a part runs: over stored frames where they are, or at the client over other parts' rows. */
function where(o: Open): string {
  const parts = [...o.inputs].map((n) => `part ${n}`).join(', ');
  if (o.stored.size)
    return `where ${[...o.stored].join(', ')} ${o.stored.size > 1 ? 'are' : 'is'} stored${parts ? ` (with the rows of ${parts} sent there)` : ''}`;
  if (parts) return `at the client over the rows of ${parts}`;
  return 'at the client';
}

/**
 * A part's text in the statement: the whole of the parentheses it is written in (the parser's
 * location of a subquery may stop short of its end), or its location when it has none (a UNION
 * branch). Undefined for a part a rewrite made.
 */
export function writtenText(text: string, node: unknown): string | undefined {
  const at = (node as { _location?: { start: number; end: number } } | null)?._location;
  if (!at || (node as { type?: unknown }).type !== 'select') return undefined;
  let open = at.start;
  if (text[open] !== '(') {
    open = at.start - 1;
    while (open >= 0 && /\s/.test(text[open]!)) open--;
    if (open < 0 || text[open] !== '(') return text.slice(at.start, at.end);
  }
  const from = text.slice(open);
  const close = closingParen(from);
  return close < 0 ? text.slice(at.start, at.end) : from.slice(1, close).trim();
}

function indent(line: string): string {
  return line
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

// The statement's time: current_date, current_timestamp, now() and today() are read once per execution
// of a statement (PostgreSQL reads them at its transaction's start; a statement here is its own
// transaction) and stand in its tree as literals, as a parameter's value does (params.ts), before
// anything is planned: every part, subquery and node sees the same instant, and no node reads its own
// clock. A plan holding such a literal is not kept (run.ts), since the next execution has another time.
// docs/dataframe.md "SQL".

import { rewrite } from './rewrite.js';
import type { Expr as SqlExpr, SelectStatement } from 'pgsql-ast-parser';
import { formatDate, formatTimestamp } from '../temporal.js';
import type { Span } from './errors.js';

type Node = Record<string, unknown>;

/** The names that read the statement's time, with the type each gives: a date or a timestamp (UTC). */
const TIME_NAMES: Record<string, 'date' | 'timestamp'> = {
  current_date: 'date',
  today: 'date',
  current_timestamp: 'timestamp',
  now: 'timestamp',
  transaction_timestamp: 'timestamp',
};

const MS_PER_DAY = 86_400_000;

/** Whether the text may read the time (a cheap test before walking its tree). */
export function mayReadTime(text: string): boolean {
  return /current_|now|today|transaction_timestamp/i.test(text);
}

function timeName(n: Node): string | undefined {
  let name: string | undefined;
  if (n.type === 'keyword') name = String(n.keyword).toLowerCase();
  else if (n.type === 'call' && !n.over && (n.args as unknown[] | undefined)?.length === 0)
    name = String((n.function as Node | undefined)?.name).toLowerCase();
  return name !== undefined && TIME_NAMES[name] !== undefined ? name : undefined;
}

/**
 * The statement with each of its time functions replaced by `at` as a literal (a date: the UTC day
 * of `at`; a timestamp: `at` to the millisecond), and whether it had one. The parsed statement is
 * shared (frozen): the nodes on the way to a replaced one are copied, the rest kept.
 */
export function bindTime<T extends SelectStatement>(st: T, at: Date): { st: T; timed: boolean } {
  let timed = false;
  const ms = at.getTime();
  const bound = rewrite(st, (n) => {
    const name = timeName(n);
    if (name === undefined) return undefined;
    timed = true;
    const loc = n._location ? { _location: n._location as Span } : {};
    const to = TIME_NAMES[name]!;
    const value = to === 'date' ? formatDate(Math.floor(ms / MS_PER_DAY)) : formatTimestamp(BigInt(ms) * 1000n);
    return { type: 'cast', operand: { type: 'string', value, ...loc }, to: { name: to }, ...loc } as SqlExpr;
  });
  return { st: bound, timed };
}

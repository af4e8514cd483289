// stringAgg (SQL's string_agg): a group's non-null strings joined by a separator, in frame order or
// ordered by the value. Its state holds every value until the end, so it is bounded twice: a group's
// result (MAX_STRING_AGG_CHARS) and all of one query's states on one node or at the client
// (MAX_STRING_AGG_HELD), each past its bound TOO_LARGE, checked as values arrive (from rows or from
// a node's partial), never after the memory is taken. docs/dataframe.md "Aggregates".

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { Value } from '../schema.js';

/** Characters one group's result may have, separators included. */
const MAX_STRING_AGG_CHARS = 1 << 20;

/**
 * Characters the stringAgg states of one query may hold on one node or at the client, each value
 * counted with STRING_AGG_ENTRY more for its entry (so a million empty strings count too).
 */
const MAX_STRING_AGG_HELD = 1 << 24;
const STRING_AGG_ENTRY = 16;

/** The query-wide count of held characters (one per query, on a node or at the client). */
export interface HeldChars {
  held: number;
}

/** The longest separator a plan may give. */
export const MAX_SEPARATOR = 1000;

type Item = [chunk: number, row: number, value: string];

export class StringAgg {
  items: Item[] = [];
  /** The result's length so far, separators included (one per item). */
  private chars = 0;

  constructor(
    private readonly sep: string,
    /** undefined: frame order; else by value, ascending or descending (ties in frame order). */
    private readonly order: 'asc' | 'desc' | undefined,
    private readonly budget: HeldChars,
  ) {}

  private take(chunk: number, row: number, v: string): void {
    this.chars += v.length + this.sep.length;
    if (this.chars - this.sep.length > MAX_STRING_AGG_CHARS)
      throw new Eau2Error(
        ErrorCode.TOO_LARGE,
        `string_agg's result for one group would exceed ${MAX_STRING_AGG_CHARS} characters: filter or group more finely`,
      );
    this.budget.held += v.length + STRING_AGG_ENTRY;
    if (this.budget.held > MAX_STRING_AGG_HELD)
      throw new Eau2Error(
        ErrorCode.TOO_LARGE,
        `string_agg holds more than ${MAX_STRING_AGG_HELD} characters in one query on one node or at the client: filter the rows it joins`,
      );
    this.items.push([chunk, row, v]);
  }

  add(v: Value, chunk: number, row: number): void {
    this.take(chunk, row, v as string);
  }

  merge(o: StringAgg): void {
    // o's items were counted in the budget when o took them: move them without counting them twice.
    for (const [c, r, v] of o.items) {
      this.budget.held -= v.length + STRING_AGG_ENTRY;
      this.take(c, r, v);
    }
  }

  finish(): Value {
    if (this.items.length === 0) return null;
    const dir = this.order === 'desc' ? -1 : 1;
    const byValue = this.order !== undefined;
    this.items.sort((a, b) => {
      if (byValue && a[2] !== b[2]) return (a[2] < b[2] ? -1 : 1) * dir;
      return a[0] - b[0] || a[1] - b[1];
    });
    return this.items.map((x) => x[2]).join(this.sep);
  }

  toPlain(): unknown {
    return this.items;
  }

  static fromPlain(x: unknown, sep: string, order: 'asc' | 'desc' | undefined, budget: HeldChars): StringAgg {
    if (!Array.isArray(x)) throw new TypeError('bad stringAgg accumulator');
    const s = new StringAgg(sep, order, budget);
    for (const it of x) {
      if (
        !Array.isArray(it) ||
        it.length !== 3 ||
        !Number.isSafeInteger(it[0]) ||
        !Number.isSafeInteger(it[1]) ||
        typeof it[2] !== 'string'
      )
        throw new TypeError('bad stringAgg accumulator');
      s.take(it[0], it[1], it[2]);
    }
    return s;
  }
}

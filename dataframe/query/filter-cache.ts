// Compiled filters kept between a node's tasks. A compiled filter lists its rows in a buffer of its
// own (filter.ts), sized to a chunk: compiling it afresh for every task allocated that buffer anew
// (250 KB for a 62.5k-row chunk), and those short-lived ArrayBuffers, counted as external memory, set
// off a full mark-compact every few dozen warm queries on each node (27-28 over 400 warm filter +
// group-by queries on the 3-node cluster, 0 with the buffer kept; docs/dataframe.md "Where a small
// query's time goes"). A kept filter is lent to one task at a time, so a task's selection is never
// overwritten by another task's, exactly as when every task compiled its own.

import type { Field } from '../schema.js';
import type { Expr } from './expr-base.js';
import { compileFilter, type SelectFn } from './filter.js';

/** A compiled filter lent to one caller; give it back when its last selection has been used. */
export interface FilterLease {
  readonly select: SelectFn;
  give(): void;
}

interface Kept {
  select: SelectFn;
  /** The most rows it was called on: its buffer holds that many row numbers (4 bytes each). */
  rows: number;
}

/**
 * A text that names `v` exactly (a tag per type, -0, NaN and bigints distinct), or undefined for a
 * value of another kind, which is then compiled afresh rather than risk two filters sharing a key.
 */
function keyOf(v: unknown): string | undefined {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? 'n-0' : `n${v}`;
    case 'string':
      return `s${JSON.stringify(v)}`;
    case 'bigint':
      return `b${v}`;
    case 'boolean':
      return v ? 't' : 'f';
    case 'undefined':
      return 'u';
    case 'object': {
      if (v === null) return 'z';
      const parts: string[] = [];
      if (Array.isArray(v)) {
        for (const x of v) {
          const k = keyOf(x);
          if (k === undefined) return undefined;
          parts.push(k);
        }
        return `[${parts.join(',')}]`;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return undefined;
      for (const [name, x] of Object.entries(v)) {
        const k = keyOf(x);
        if (k === undefined) return undefined;
        parts.push(`${JSON.stringify(name)}:${k}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return undefined;
  }
}

export class FilterCache {
  /** Idle compiled filters by key, the least recently given back first. */
  private readonly idle = new Map<string, Kept>();
  private bytes = 0;

  /**
   * @param maxBytes the row-number buffers kept idle, at most (a filter whose buffer alone is over a
   *   quarter of it is not kept)
   */
  constructor(readonly maxBytes = 16 * 2 ** 20) {}

  /** Filters kept idle (for tests). */
  get size(): number {
    return this.idle.size;
  }

  /** The compiled filter of `e` over `fields`: a kept one when one is idle, else compiled. */
  take(e: Expr, fields: readonly Field[]): FilterLease {
    const key = keyOf([e, fields.map((f) => [f.name, f.type])]);
    let kept = key === undefined ? undefined : this.idle.get(key);
    if (kept !== undefined) {
      this.idle.delete(key!);
      this.bytes -= bufferBytes(kept.rows);
    } else kept = { select: compileFilter(e, fields), rows: 0 };
    const k = kept;
    const inner = k.select;
    const select: SelectFn = Object.assign(
      (cols: Parameters<SelectFn>[0], n: number): Uint32Array => {
        if (n > k.rows) k.rows = n;
        return inner(cols, n);
      },
      { nonNull: inner.nonNull },
    );
    let given = false;
    return {
      select,
      give: () => {
        if (given || key === undefined) return;
        given = true;
        const b = bufferBytes(k.rows);
        if (b > this.maxBytes / 4 || this.idle.has(key)) return;
        this.idle.set(key, k);
        this.bytes += b;
        for (const [oldKey, old] of this.idle) {
          if (this.bytes <= this.maxBytes) break;
          this.idle.delete(oldKey);
          this.bytes -= bufferBytes(old.rows);
        }
      },
    };
  }
}

function bufferBytes(rows: number): number {
  return 4 * (rows + 1) + 256;
}

// Filters as selection vectors. A filter keeps a row only where its test is true, so a top-level AND
// keeps a row iff every one of its terms is true: the terms are applied one after another, each
// narrowing the list of surviving row numbers, instead of building a 0/1 vector per term, combining
// the vectors and then listing the true rows (five passes over every row for `a > 1 AND b`). A term
// that compares a numeric or bool column without nulls with a literal runs as one branch-free loop,
// over all rows for the first term and over the survivors only after that; any other term is
// evaluated as a vector by eval.ts and then narrows the list. Semantics are eval.ts's exactly: the
// same comparisons on the same values, and a null test never keeps a row.

import { columnIndex, type Field } from '../schema.js';
import { compile, selection, type ChunkCols } from './eval.js';
import { keepValidF64, keepValidI32 } from './filter-valid.js';
import type { CompareOp, Expr } from './expr-base.js';

/**
 * The rows of a chunk that pass the filter, ascending. The array is valid until the next call: it
 * reuses one buffer per compiled filter (a fresh 256 KB array per 64K-row chunk would be garbage that
 * brings on collections), so use it before selecting the next chunk.
 */
export type SelectFn = ((cols: ChunkCols, n: number) => Uint32Array) & {
  /**
   * Field indexes of the columns that are non-null on every row the filter keeps: those compared
   * with a literal or tested IS NOT NULL by a top-level AND term (a comparison with null is null,
   * which never keeps a row). An aggregate over such a column needs no null test per row.
   */
  readonly nonNull: ReadonlySet<number>;
};

/**
 * Narrows `sel` (undefined = all n rows) to the rows passing one term; may reuse `sel`'s memory, and
 * writes the first term's rows into `buf` (at least n + 1 long).
 */
type Step = (cols: ChunkCols, n: number, sel: Uint32Array | undefined, buf: Uint32Array) => Uint32Array;

const FLIP: Record<CompareOp, CompareOp> = { eq: 'eq', ne: 'ne', lt: 'gt', le: 'ge', gt: 'lt', ge: 'le' };
const COMPARE = new Set<string>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

function terms(e: Expr, out: Expr[] = []): Expr[] {
  if (e.op === 'and') for (const a of e.args) terms(a, out);
  else out.push(e);
  return out;
}

/** `column <op> number` for an I, D or B column and a literal of its kind, normalised column-first. */
function columnVsLiteral(e: Expr, fields: readonly Field[]): { col: number; op: CompareOp; y: number } | undefined {
  if (!COMPARE.has(e.op)) return undefined;
  let [a, b] = (e as { args: readonly [Expr, Expr] }).args;
  let op = e.op as CompareOp;
  if (a.op === 'lit' && b.op === 'col') {
    [a, b] = [b, a];
    op = FLIP[op];
  }
  if (a.op !== 'col' || b.op !== 'lit') return undefined;
  const col = columnIndex(fields, a.name);
  const t = fields[col]!.type;
  const v = b.value;
  // A NaN literal takes the vector path, which ranks NaN (eval.ts COMPARE).
  if ((t === 'I' || t === 'D') && typeof v === 'number' && !Number.isNaN(v)) return { col, op, y: v };
  if (t === 'B' && typeof v === 'boolean') return { col, op, y: v ? 1 : 0 };
  return undefined;
}

// The kernels: `out[j] = row; j += +(test)` writes every candidate and advances past the kept ones,
// so no branch depends on the data (a data-dependent branch mispredicts on every other row of
// unsorted data). One function per array type keeps each loop monomorphic (see eval.ts). A NaN
// value is greater than y (never NaN here): gt and ge are !(a <= y) and !(a < y), one comparison.
// `sel` undefined: rows 0..n-1 into `buf`, which has a spare slot; else `sel` is narrowed in place.

function keepF64(
  op: CompareOp,
  a: Float64Array,
  y: number,
  n: number,
  sel: Uint32Array | undefined,
  buf: Uint32Array,
): Uint32Array {
  const out = sel ?? buf;
  const m = sel ? sel.length : n;
  let j = 0;
  if (!sel) {
    switch (op) {
      case 'eq':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i] === y);
        }
        break;
      case 'ne':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i] !== y);
        }
        break;
      case 'lt':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! < y);
        }
        break;
      case 'le':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! <= y);
        }
        break;
      case 'gt':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +!(a[i]! <= y);
        }
        break;
      case 'ge':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +!(a[i]! < y);
        }
        break;
    }
    return out.subarray(0, j);
  }
  switch (op) {
    case 'eq':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r] === y);
      }
      break;
    case 'ne':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r] !== y);
      }
      break;
    case 'lt':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! < y);
      }
      break;
    case 'le':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! <= y);
      }
      break;
    case 'gt':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +!(a[r]! <= y);
      }
      break;
    case 'ge':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +!(a[r]! < y);
      }
      break;
  }
  return out.subarray(0, j);
}

function keepI32(
  op: CompareOp,
  a: Int32Array,
  y: number,
  n: number,
  sel: Uint32Array | undefined,
  buf: Uint32Array,
): Uint32Array {
  const out = sel ?? buf;
  const m = sel ? sel.length : n;
  let j = 0;
  if (!sel) {
    switch (op) {
      case 'eq':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i] === y);
        }
        break;
      case 'ne':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i] !== y);
        }
        break;
      case 'lt':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! < y);
        }
        break;
      case 'le':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! <= y);
        }
        break;
      case 'gt':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! > y);
        }
        break;
      case 'ge':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! >= y);
        }
        break;
    }
    return out.subarray(0, j);
  }
  switch (op) {
    case 'eq':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r] === y);
      }
      break;
    case 'ne':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r] !== y);
      }
      break;
    case 'lt':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! < y);
      }
      break;
    case 'le':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! <= y);
      }
      break;
    case 'gt':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! > y);
      }
      break;
    case 'ge':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! >= y);
      }
      break;
  }
  return out.subarray(0, j);
}

function keepU8(
  op: CompareOp,
  a: Uint8Array,
  y: number,
  n: number,
  sel: Uint32Array | undefined,
  buf: Uint32Array,
): Uint32Array {
  const out = sel ?? buf;
  const m = sel ? sel.length : n;
  let j = 0;
  if (!sel) {
    switch (op) {
      case 'eq':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i] === y);
        }
        break;
      case 'ne':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i] !== y);
        }
        break;
      case 'lt':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! < y);
        }
        break;
      case 'le':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! <= y);
        }
        break;
      case 'gt':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! > y);
        }
        break;
      case 'ge':
        for (let i = 0; i < n; i++) {
          out[j] = i;
          j += +(a[i]! >= y);
        }
        break;
    }
    return out.subarray(0, j);
  }
  switch (op) {
    case 'eq':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r] === y);
      }
      break;
    case 'ne':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r] !== y);
      }
      break;
    case 'lt':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! < y);
      }
      break;
    case 'le':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! <= y);
      }
      break;
    case 'gt':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! > y);
      }
      break;
    case 'ge':
      for (let t = 0; t < m; t++) {
        const r = out[t]!;
        out[j] = r;
        j += +(a[r]! >= y);
      }
      break;
  }
  return out.subarray(0, j);
}

/** Any boolean term: evaluated as a vector over all n rows, then narrows `sel` to its true rows. */
function vectorStep(e: Expr, fields: readonly Field[]): Step {
  const f = compile(e, fields);
  return (cols, n, sel) => {
    const x = f(cols, n);
    if (sel === undefined) return selection(x, n);
    if (x.v === null) return sel.subarray(0, 0);
    const v = x.v as ArrayLike<number>;
    const nulls = x.nulls;
    let j = 0;
    for (let t = 0; t < sel.length; t++) {
      const r = sel[t]!;
      const at = x.scalar ? 0 : r;
      if (v[at] === 1 && (nulls === undefined || nulls[at] !== 1)) sel[j++] = r;
    }
    return sel.subarray(0, j);
  };
}

/** Narrows `sel` in place to the rows whose bit in `nulls` is clear (`keepNull`: set). */
function keepByNull(nulls: Uint8Array, sel: Uint32Array, keepNull: boolean): Uint32Array {
  let j = 0;
  const want = keepNull ? 1 : 0;
  for (let t = 0; t < sel.length; t++) {
    const r = sel[t]!;
    sel[j] = r;
    j += +(((nulls[r >>> 3]! >>> (r & 7)) & 1) === want);
  }
  return sel.subarray(0, j);
}

/**
 * The rows 0..n-1 whose null bit is clear, into `buf` (which has a spare slot): `col IS NOT NULL` as a
 * filter's first term. A bitmap byte of 0 (eight rows, none null: most bytes of most columns) writes
 * its eight rows without testing each; a byte of 0xff writes none.
 */
function nonNullRows(nulls: Uint8Array, n: number, buf: Uint32Array): Uint32Array {
  let j = 0;
  const whole = n >>> 3;
  for (let b = 0; b < whole; b++) {
    const bits = nulls[b]!;
    const r = b << 3;
    if (bits === 0) {
      buf[j] = r;
      buf[j + 1] = r + 1;
      buf[j + 2] = r + 2;
      buf[j + 3] = r + 3;
      buf[j + 4] = r + 4;
      buf[j + 5] = r + 5;
      buf[j + 6] = r + 6;
      buf[j + 7] = r + 7;
      j += 8;
    } else if (bits !== 0xff) {
      for (let k = 0; k < 8; k++) {
        buf[j] = r + k;
        j += ((bits >>> k) & 1) ^ 1;
      }
    }
  }
  for (let r = whole << 3; r < n; r++) {
    buf[j] = r;
    j += ((nulls[r >>> 3]! >>> (r & 7)) & 1) ^ 1;
  }
  return buf.subarray(0, j);
}

/** Rows 0..n-1 into `buf` (which has a spare slot), as the kernels' first term writes them. */
function allRows(n: number, buf: Uint32Array): Uint32Array {
  for (let i = 0; i < n; i++) buf[i] = i;
  return buf.subarray(0, n);
}

function compareStep(e: Expr, fields: readonly Field[]): Step | undefined {
  const c = columnVsLiteral(e, fields);
  if (!c) return undefined;
  const { col, op, y } = c;
  const fallback = vectorStep(e, fields);
  return (cols, n, sel, buf) => {
    const column = cols[col]!;
    const a = column.values;
    let out: Uint32Array;
    // The first term over a numeric column with nulls tests the values and the null bits in one pass
    // (filter-valid.ts).
    if (sel === undefined && column.nulls !== undefined) {
      if (a instanceof Float64Array) return keepValidF64(op, a, column.nulls, y, n, buf);
      if (a instanceof Int32Array) return keepValidI32(op, a, column.nulls, y, n, buf);
    }
    // A null slot holds the type's zero, which the kernel compares like any value; the null rows are
    // then dropped, as a comparison with null never keeps a row.
    if (a instanceof Float64Array) out = keepF64(op, a, y, n, sel, buf);
    else if (a instanceof Int32Array) out = keepI32(op, a, y, n, sel, buf);
    else if (a instanceof Uint8Array) out = keepU8(op, a, y, n, sel, buf);
    else return fallback(cols, n, sel, buf);
    return column.nulls ? keepByNull(column.nulls, out, false) : out;
  };
}

/** `col IS NULL` and `col IS NOT NULL` (not(isNull(col))) read from the column's null bitmap. */
function nullStep(e: Expr, fields: readonly Field[]): Step | undefined {
  const negated = e.op === 'not';
  const inner = negated ? (e as { args: readonly [Expr] }).args[0] : e;
  if (inner.op !== 'isNull') return undefined;
  const a = (inner as { args: readonly [Expr] }).args[0];
  if (a.op !== 'col') return undefined;
  const col = columnIndex(fields, a.name);
  return (cols, n, sel, buf) => {
    const nulls = cols[col]!.nulls;
    if (nulls === undefined) return negated ? (sel ?? allRows(n, buf)) : (sel ?? buf).subarray(0, 0);
    if (sel === undefined && negated) return nonNullRows(nulls, n, buf);
    return keepByNull(nulls, sel ?? allRows(n, buf), !negated);
  };
}

/** The column of `col IS NOT NULL` (not(isNull(col))). */
function notNullColumn(e: Expr, fields: readonly Field[]): { col: number } | undefined {
  if (e.op !== 'not') return undefined;
  const inner = (e as { args: readonly [Expr] }).args[0];
  if (inner.op !== 'isNull') return undefined;
  const a = (inner as { args: readonly [Expr] }).args[0];
  return a.op === 'col' ? { col: columnIndex(fields, a.name) } : undefined;
}

/**
 * The field index of `c` when the filter keeps exactly the rows where column c is not null (every
 * top-level AND term is `c IS NOT NULL`), else undefined: a top-k on c can skip those rows in its
 * own scan rather than list the others first.
 */
export function onlyNotNull(e: Expr, fields: readonly Field[]): number | undefined {
  let col: number | undefined;
  for (const t of terms(e)) {
    const c = notNullColumn(t, fields)?.col;
    if (c === undefined || (col !== undefined && c !== col)) return undefined;
    col = c;
  }
  return col;
}

/** Compiles a checked boolean filter into a function listing the rows it keeps. */
export function compileFilter(e: Expr, fields: readonly Field[]): SelectFn {
  const all = terms(e);
  const steps = all.map((t) => compareStep(t, fields) ?? nullStep(t, fields) ?? vectorStep(t, fields));
  const nonNull = new Set<number>();
  for (const t of all) {
    const c = columnVsLiteral(t, fields) ?? notNullColumn(t, fields);
    if (c) nonNull.add(c.col);
  }
  let buf = new Uint32Array(0);
  const select = (cols: ChunkCols, n: number): Uint32Array => {
    if (buf.length < n + 1) buf = new Uint32Array(n + 1);
    let sel: Uint32Array | undefined;
    for (const step of steps) {
      sel = step(cols, n, sel, buf);
      if (sel.length === 0) break;
    }
    return sel ?? Uint32Array.from({ length: n }, (_, i) => i);
  };
  return Object.assign(select, { nonNull: nonNull as ReadonlySet<number> });
}

// A filter's first term, a comparison with a literal, over a column with nulls (filter.ts): one
// pass that tests each row's value and its null bit together. The null rows were dropped by a second
// pass over the compare's survivors (its own loads of the row numbers and the bitmap: 2.6 ns a row
// in isolation for `dep_delay > 0` on 2% nulls); here the rows go eight at a time, one bitmap byte
// each, its complement masking the eight tests (1.0 ns a row). The value in a null slot is compared
// like any other and masked out, so what a null slot holds does not matter. Branch-free as filter.ts's
// kernels, and one function per array type (each loop monomorphic); the rows past the last whole byte
// (at most seven) go through `passes`.

import type { CompareOp } from './expr-base.js';

/** One row's test, the kernels' semantics: gt and ge are !(x <= y) and !(x < y), so NaN passes. */
function passes(op: CompareOp, x: number, y: number): boolean {
  switch (op) {
    case 'eq':
      return x === y;
    case 'ne':
      return x !== y;
    case 'lt':
      return x < y;
    case 'le':
      return x <= y;
    case 'gt':
      return !(x <= y);
    case 'ge':
      return !(x < y);
  }
}

/** The rows past the last whole bitmap byte, appended to `buf` from position j. */
function tail(
  op: CompareOp,
  a: Float64Array | Int32Array,
  nulls: Uint8Array,
  y: number,
  n: number,
  buf: Uint32Array,
  j: number,
): Uint32Array {
  for (let i = n & ~7; i < n; i++) {
    buf[j] = i;
    j += +(passes(op, a[i]!, y) && ((nulls[i >>> 3]! >>> (i & 7)) & 1) === 0);
  }
  return buf.subarray(0, j);
}

/** The rows 0..n-1 of `a` that are not null and pass `op y`, into `buf` (which has a spare slot). */
export function keepValidF64(
  op: CompareOp,
  a: Float64Array,
  nulls: Uint8Array,
  y: number,
  n: number,
  buf: Uint32Array,
): Uint32Array {
  const whole = n >>> 3;
  let j = 0;
  switch (op) {
    case 'eq':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r] === y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1] === y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2] === y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3] === y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4] === y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5] === y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6] === y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7] === y) & (keep >>> 7);
      }
      break;
    case 'ne':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r] !== y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1] !== y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2] !== y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3] !== y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4] !== y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5] !== y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6] !== y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7] !== y) & (keep >>> 7);
      }
      break;
    case 'lt':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r]! < y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1]! < y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2]! < y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3]! < y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4]! < y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5]! < y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6]! < y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7]! < y) & (keep >>> 7);
      }
      break;
    case 'le':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r]! <= y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1]! <= y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2]! <= y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3]! <= y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4]! <= y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5]! <= y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6]! <= y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7]! <= y) & (keep >>> 7);
      }
      break;
    case 'gt':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +!(a[r]! <= y) & keep;
        buf[j] = r + 1;
        j += +!(a[r + 1]! <= y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +!(a[r + 2]! <= y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +!(a[r + 3]! <= y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +!(a[r + 4]! <= y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +!(a[r + 5]! <= y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +!(a[r + 6]! <= y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +!(a[r + 7]! <= y) & (keep >>> 7);
      }
      break;
    case 'ge':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +!(a[r]! < y) & keep;
        buf[j] = r + 1;
        j += +!(a[r + 1]! < y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +!(a[r + 2]! < y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +!(a[r + 3]! < y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +!(a[r + 4]! < y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +!(a[r + 5]! < y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +!(a[r + 6]! < y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +!(a[r + 7]! < y) & (keep >>> 7);
      }
      break;
  }
  return tail(op, a, nulls, y, n, buf, j);
}

/** The rows 0..n-1 of `a` that are not null and pass `op y`, into `buf` (which has a spare slot). */
export function keepValidI32(
  op: CompareOp,
  a: Int32Array,
  nulls: Uint8Array,
  y: number,
  n: number,
  buf: Uint32Array,
): Uint32Array {
  const whole = n >>> 3;
  let j = 0;
  switch (op) {
    case 'eq':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r] === y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1] === y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2] === y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3] === y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4] === y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5] === y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6] === y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7] === y) & (keep >>> 7);
      }
      break;
    case 'ne':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r] !== y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1] !== y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2] !== y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3] !== y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4] !== y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5] !== y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6] !== y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7] !== y) & (keep >>> 7);
      }
      break;
    case 'lt':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r]! < y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1]! < y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2]! < y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3]! < y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4]! < y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5]! < y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6]! < y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7]! < y) & (keep >>> 7);
      }
      break;
    case 'le':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r]! <= y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1]! <= y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2]! <= y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3]! <= y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4]! <= y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5]! <= y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6]! <= y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7]! <= y) & (keep >>> 7);
      }
      break;
    case 'gt':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r]! > y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1]! > y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2]! > y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3]! > y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4]! > y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5]! > y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6]! > y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7]! > y) & (keep >>> 7);
      }
      break;
    case 'ge':
      for (let b = 0; b < whole; b++) {
        const keep = ~nulls[b]!;
        const r = b << 3;
        buf[j] = r;
        j += +(a[r]! >= y) & keep;
        buf[j] = r + 1;
        j += +(a[r + 1]! >= y) & (keep >>> 1);
        buf[j] = r + 2;
        j += +(a[r + 2]! >= y) & (keep >>> 2);
        buf[j] = r + 3;
        j += +(a[r + 3]! >= y) & (keep >>> 3);
        buf[j] = r + 4;
        j += +(a[r + 4]! >= y) & (keep >>> 4);
        buf[j] = r + 5;
        j += +(a[r + 5]! >= y) & (keep >>> 5);
        buf[j] = r + 6;
        j += +(a[r + 6]! >= y) & (keep >>> 6);
        buf[j] = r + 7;
        j += +(a[r + 7]! >= y) & (keep >>> 7);
      }
      break;
  }
  return tail(op, a, nulls, y, n, buf, j);
}

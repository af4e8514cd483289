// Arrow UTF-8 string vectors are read as dictionary columns straight from their bytes
// (io/arrow-columns.ts dictionaryStrings), and the chunk encoder and zone maps take such a column's
// dictionary as it is. These tests check the outcome against the row-by-row reading: the same
// values and nulls, byte-identical encoded chunks (whole and for row ranges) and the same zones,
// on seeded random vectors built near the rule's edges (exactly one distinct value per DICT_RATIO
// rows and one more, empty strings, nulls, multi-byte text, several Arrow chunks, 64-bit offsets).

import * as A from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { DICT_RATIO, decodeChunk, encodeChunk } from '../../dataframe/chunk-codec.js';
import { StringColumn, bitSet, bitmapBytes } from '../../dataframe/column.js';
import { columnFromArrow } from '../../dataframe/io/arrow-columns.js';
import { computeZone } from '../../dataframe/zone-map.js';
import { seededRng } from './helpers.js';

const ALPHABET = ['a', 'b', 'z', 'é', '日', '😀', ' ', ',', '"'];

function randomText(rng: Rng): string {
  let s = '';
  const len = rng.int(0, 6);
  for (let i = 0; i < len; i++) s += rng.pick(ALPHABET);
  return s;
}

/** `n` rows over `distinct` values (each used at least once when n allows), `pNull` of them null. */
function rows(rng: Rng, n: number, distinct: number, pNull: number): (string | null)[] {
  const seen = new Set<string>();
  const pool: string[] = [];
  while (pool.length < distinct) {
    const s = pool.length === 0 && rng.bool() ? '' : `${randomText(rng)}#${pool.length}`;
    if (!seen.has(s)) {
      seen.add(s);
      pool.push(s);
    }
  }
  const out: (string | null)[] = [];
  for (let i = 0; i < n; i++) out.push(rng.bool(pNull) ? null : i < distinct ? pool[i]! : rng.pick(pool));
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function vectorOf(vals: (string | null)[], pieces: number, large: boolean): A.Vector {
  const type = large ? new A.LargeUtf8() : new A.Utf8();
  const parts: A.Vector[] = [];
  const step = Math.ceil(vals.length / pieces);
  for (let i = 0; i < vals.length; i += step) parts.push(A.vectorFromArray(vals.slice(i, i + step), type));
  return parts.reduce((a, b) => a.concat(b));
}

/** The column as the row-by-row reader builds it: every row a string ('' for nulls), plus a bitmap. */
function plainColumn(vals: (string | null)[]): StringColumn {
  let nulls: Uint8Array | undefined;
  vals.forEach((v, i) => {
    if (v === null) bitSet((nulls ??= new Uint8Array(bitmapBytes(vals.length))), i);
  });
  return new StringColumn(
    vals.map((v) => v ?? ''),
    vals.length,
    nulls,
  );
}

describe('Arrow UTF-8 strings read as a dictionary', () => {
  it('gives the values, nulls, encoded chunks and zones the row-by-row reading gives', () => {
    const rng = seededRng();
    for (let round = 0; round < 40; round++) {
      const n = rng.pick([64, 100, 1000, 4096, 5003]);
      const limit = Math.floor(n / DICT_RATIO);
      const distinct = Math.max(1, rng.pick([1, 2, 7, limit, limit + 1, Math.min(n, limit * 2), rng.int(1, limit)]));
      const vals = rows(rng, n, Math.min(distinct, n), rng.pick([0, 0.1, 0.9]));
      const v = vectorOf(vals, rng.pick([1, 2, 3]), rng.bool(0.3));
      const col = columnFromArrow('S', v, 's', 0) as StringColumn;
      const plain = plainColumn(vals);
      const where = `round ${round}: n ${n}, distinct ${distinct}`;
      expect(col.toArray(), where).toEqual(vals);
      // More distinct values than a dictionary chunk may hold: read row by row, as before.
      const distinctRead = new Set(vals.map((x) => x ?? '')).size;
      expect(col.dictionary !== undefined, where).toBe(distinctRead <= limit);
      expect(Buffer.from(encodeChunk(col)).equals(Buffer.from(encodeChunk(plain))), where).toBe(true);
      const a = rng.int(0, n - 1);
      const b = rng.int(a + 1, n);
      expect(
        Buffer.from(encodeChunk(col, undefined, a, b)).equals(Buffer.from(encodeChunk(plain, undefined, a, b))),
        `${where} rows ${a}-${b}`,
      ).toBe(true);
      expect(computeZone(col, a, b), `${where} rows ${a}-${b}`).toEqual(computeZone(plain, a, b));
      expect(computeZone(col, 0, n), where).toEqual(computeZone(plain, 0, n));
    }
  });

  it('re-encodes a decoded dictionary chunk byte for byte, without its strings per row', () => {
    const rng = seededRng();
    const vals = rows(rng, 3000, 40, 0.1);
    const bytes = encodeChunk(plainColumn(vals));
    const decoded = decodeChunk(bytes, 'test', 'S', vals.length) as StringColumn;
    expect(decoded.dictionary).toBeDefined();
    expect(Buffer.from(encodeChunk(decoded)).equals(Buffer.from(bytes))).toBe(true);
    expect(
      Buffer.from(encodeChunk(decoded, undefined, 100, 2900)).equals(
        Buffer.from(encodeChunk(plainColumn(vals), undefined, 100, 2900)),
      ),
    ).toBe(true);
  });
});

// Encoded numeric chunks (dataframe/number-codec.ts, docs/format.md 7.2 "Encoded numbers"): the
// bytes written equal an independent reference encoder's (BigInt arithmetic, written from the format
// text), every value comes back bit for bit, old chunks still decode, damaged fields are CORRUPTION,
// and a frame stored encoded answers queries exactly as the same frame stored raw.

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { ArrayPool } from '../../dataframe/array-pool.js';
import { columnToBody, decodeChunk, encodeChunk } from '../../dataframe/chunk-codec.js';
import { columnFromValues } from '../../dataframe/column-builder.js';
import type { Column } from '../../dataframe/column.js';
import { Kind, openVersioned, seal } from '../../dataframe/envelope.js';
import { DataFrame, importCsv, type Value } from '../../dataframe/index.js';
import { parseChunkKey } from '../../dataframe/layout.js';
import { rowsInChunk } from '../../dataframe/meta.js';
import type { ColumnType } from '../../dataframe/schema.js';
import { computeZone } from '../../dataframe/zone-map.js';
import { isEau2Error } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { seededRng } from './helpers.js';

type NumType = 'I' | 'd' | 'D' | 'L' | 'T';

function expectCorruption(f: () => unknown, what: string): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isEau2Error(err, 'CORRUPTION'), `${what}: expected CORRUPTION, got ${String(err)}`).toBe(true);
}

// ---- the reference encoder: the format's rules, spelled out with BigInt, no shared code ----

function widthOf(span: bigint): 0 | 1 | 2 | 4 | undefined {
  return span === 0n ? 0 : span < 256n ? 1 : span < 65536n ? 2 : span < 2n ** 32n ? 4 : undefined;
}

function le(x: bigint, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Number((BigInt.asUintN(64, x) >> BigInt(8 * i)) & 0xffn));
  return out;
}

function isNullAt(c: Column, i: number): boolean {
  return c.isNull(i);
}

function refEncode(c: Column): Uint8Array {
  const t = c.type as NumType;
  const n = c.length;
  const raw = (): Uint8Array => seal(Kind.CHUNK, columnToBody(c), t === 'L' || t === 'T' || t === 'd' ? 2 : 1);
  if (n === 0) return raw();
  const idx = Array.from({ length: n }, (_, i) => i).filter((i) => !isNullAt(c, i));
  let base = 0n;
  let ks: bigint[] = []; // the integers offsets are taken from, per row (0n for nulls)
  let e: number | undefined;
  let s = 0;
  let m: Uint8Array | undefined; // D: the non-null rows holding -0
  if (t === 'D') {
    const vals = c.values as Float64Array;
    e = 0;
    if (idx.length > 0) {
      if (idx.some((i) => !Number.isFinite(vals[i]!))) return raw();
      const negZeros = idx.filter((i) => Object.is(vals[i], -0));
      if (negZeros.length > 0) {
        m = new Uint8Array(Math.ceil(n / 8));
        for (const i of negZeros) m[i >> 3]! |= 1 << (i & 7);
      }
      const ok = (x: number): boolean => idx.every((i) => Math.round(vals[i]! * 10 ** x) / 10 ** x === vals[i]);
      while (e <= 6 && !ok(e)) e++;
      if (e > 6) return raw();
      const p = 10 ** e;
      if (idx.some((i) => !Number.isSafeInteger(Math.round(vals[i]! * p)))) return raw();
      ks = Array.from({ length: n }, (_, i) => (isNullAt(c, i) ? 0n : BigInt(Math.round(vals[i]! * p) + 0)));
    } else ks = new Array<bigint>(n).fill(0n);
  } else {
    ks = Array.from({ length: n }, (_, i) => (isNullAt(c, i) ? 0n : BigInt(c.values[i] as number | bigint)));
  }
  const live = idx.map((i) => ks[i]!);
  let min = 0n;
  let max = 0n;
  if (live.length > 0) {
    min = max = live[0]!;
    for (const x of live) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  base = min;
  const span = max - min;
  let w = widthOf(span);
  if ((t === 'L' || t === 'T') && span < 2n ** 53n) {
    for (let k = 18; k >= 1; k--) {
      const p = 10n ** BigInt(k);
      const narrower = widthOf(span / p);
      if (live.every((x) => (x - min) % p === 0n) && narrower !== undefined && narrower < (w ?? 8)) {
        s = k;
        w = narrower;
        break;
      }
    }
  }
  if ((t === 'L' || t === 'T') && span >= 2n ** 53n) return raw();
  if (w === undefined) return raw();
  const rawBytes = n * (t === 'I' || t === 'd' ? 4 : 8);
  const mLen = m ? m.length : 0;
  const extra = 12 + (e !== undefined ? 3 : 0) + (m ? 2 + (mLen < 256 ? 2 : 3) + mLen : 0) + (s > 0 ? 3 : 0);
  if (n * w + extra >= rawBytes) return raw();
  const v: number[] = [];
  const scale = 10n ** BigInt(s);
  for (let i = 0; i < n; i++) v.push(...le(isNullAt(c, i) ? 0n : (ks[i]! - base) / scale, w));
  const body: Record<string, unknown> = { t, n, v: Uint8Array.from(v) };
  if (c.nulls) body.z = c.nulls;
  body.b = Uint8Array.from(le(base, 8));
  if (e !== undefined) body.e = e;
  if (m) body.m = m;
  if (s > 0) body.s = s;
  return seal(Kind.CHUNK, body, 3);
}

// ---- columns that probe every width and edge ----

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const SPANS = [0, 1, 255, 256, 65535, 65536, 2 ** 32 - 2, 2 ** 32 - 1];

function randomBig(rng: Rng, lo: bigint, hi: bigint): bigint {
  const span = hi - lo;
  let x = 0n;
  for (let i = 0; i < 4; i++) x = (x << 32n) | BigInt(rng.int(0, 2 ** 32 - 1));
  return lo + (span === 0n ? 0n : x % (span + 1n));
}

/** A column of `n` rows of type t whose non-null values span exactly `span` (endpoints included). */
function spanColumn(rng: Rng, t: NumType, n: number, nullP: number): Column {
  const nulls = Array.from({ length: n }, () => rng.bool(nullP));
  const live = nulls.map((x, i) => (x ? -1 : i)).filter((i) => i >= 0);
  const vals: (number | bigint | null)[] = [];
  if (t === 'I' || t === 'd') {
    const span = Math.min(rng.pick(SPANS), 2 ** 32 - 1);
    const lo =
      t === 'd' ? rng.int(-1_000_000, 1_000_000 - Math.min(span, 1_000_000)) : rng.int(INT32_MIN, INT32_MAX - span);
    const sp = t === 'd' ? Math.min(span, 1_000_000) : span;
    for (let i = 0; i < n; i++) vals.push(nulls[i] ? null : lo + rng.int(0, sp));
    if (live.length > 0) vals[live[0]!] = lo;
    if (live.length > 1) vals[live[live.length - 1]!] = lo + sp;
  } else if (t === 'L' || t === 'T') {
    const scale = 10n ** BigInt(rng.pick([0, 0, 1, 3, 6, 7, 9, 18]));
    const wide =
      BigInt(rng.pick([...SPANS, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53])) * (rng.bool(0.7) ? 1n : 60_000_000n);
    const span = wide < 2n ** 62n ? wide : 2n ** 62n;
    const steps = span / scale;
    const lo = randomBig(rng, -(2n ** 63n), 2n ** 63n - 1n - steps * scale);
    for (let i = 0; i < n; i++) vals.push(nulls[i] ? null : lo + randomBig(rng, 0n, steps) * scale);
    if (live.length > 0) vals[live[0]!] = lo;
    if (live.length > 1) vals[live[live.length - 1]!] = lo + steps * scale;
  } else {
    const e = rng.int(0, 8);
    const span = rng.pick(SPANS);
    const lo = rng.int(-(2 ** 40), 2 ** 40);
    for (let i = 0; i < n; i++) vals.push(nulls[i] ? null : (lo + rng.int(0, span)) / 10 ** e);
    const specials = [
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      5e-324,
      2.2250738585072014e-308,
      0.1 + 0.2,
      1e300,
      -1.7976931348623157e308,
      2 ** 53,
      2 ** 53 + 2,
      9007199254740991 / 10,
      123456789.123456,
      0.1,
      -0.5,
    ];
    if (live.length > 0 && rng.bool(0.3)) vals[live[rng.int(0, live.length - 1)]!] = rng.pick(specials);
  }
  return columnFromValues(t, vals as Value[]);
}

/** The column's typed array, with a null's slot as the type's zero: what a decode must give. */
function expectedBytes(c: Column): Uint8Array {
  const a = (c.values as Int32Array | Float64Array | BigInt64Array).slice();
  for (let i = 0; i < c.length; i++) if (c.isNull(i)) a[i] = a instanceof BigInt64Array ? 0n : 0;
  return new Uint8Array(a.buffer);
}

function bytesOf(c: Column): Uint8Array {
  const a = c.values as Int32Array | Float64Array | BigInt64Array;
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('encoded numeric chunks', () => {
  it('write what the reference encoder writes and decode bit for bit, at every width and edge', () => {
    const rng = seededRng();
    const pool = new ArrayPool();
    const counts = new Map<string, number>();
    for (let round = 0; round < 1500; round++) {
      const t = rng.pick<NumType>(['I', 'd', 'D', 'L', 'T']);
      const n = rng.pick([1, 2, 3, 5, 8, 9, 40, 300]);
      const c = spanColumn(rng, t, n, rng.pick([0, 0, 0.2, 1]));
      const where = `${t} n=${n} round ${round}: ${c.toArray().slice(0, 6).join(',')}`;
      const enc = encodeChunk(c);
      const want = refEncode(c);
      if (!sameBytes(enc, want)) expect(hex(enc), where).toBe(hex(want));
      // The writer's path: the zone map entry picks the encoding; the same bytes.
      const viaZone = encodeChunk(c, undefined, 0, n, { zone: computeZone(c, 0, n) });
      expect(sameBytes(viaZone, enc), `${where}, via the zone`).toBe(true);
      const key = `${t}/${enc[3] === 3 ? 'encoded' : 'raw'}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      // From a store's buffer at an odd offset, and into a recycled arena.
      const odd = Buffer.concat([Buffer.alloc(1 + (round % 7)), enc]).subarray(1 + (round % 7));
      for (const arena of [undefined, pool.arena()]) {
        const back = decodeChunk(odd, 'k', t, n, arena);
        expect(back.type).toBe(t);
        if (!sameBytes(bytesOf(back), expectedBytes(c))) expect(back.toArray(), where).toEqual(c.toArray());
        for (let i = 0; i < n; i++) expect(back.isNull(i), where).toBe(c.isNull(i));
        if (arena) pool.give(arena.taken);
      }
    }
    // Both forms were exercised for every type (the generator is meant to reach them).
    for (const t of ['I', 'd', 'D', 'L', 'T']) {
      const keys = [...counts.keys()].filter((k) => k.startsWith(`${t}/`));
      expect(
        keys.some((k) => k.endsWith('/encoded')),
        `${t} encoded: ${keys}`,
      ).toBe(true);
      expect(
        keys.some((k) => !k.endsWith('/encoded')),
        `${t} raw: ${keys}`,
      ).toBe(true);
    }
  });

  it('picks the narrowest width at each boundary, scales int64 offsets, and leaves a chunk raw when it must', () => {
    const ver = (t: ColumnType, vals: Value[]): number => encodeChunk(columnFromValues(t, vals))[3]!;
    const vLen = (t: ColumnType, vals: Value[]): number => {
      const body = openVersioned(Kind.CHUNK, encodeChunk(columnFromValues(t, vals)), 'k', [1, 2, 3]).body as {
        v: Uint8Array;
      };
      return body.v.length / vals.length;
    };
    const ramp = (n: number, lo: number, span: number): number[] =>
      Array.from({ length: n }, (_, i) => lo + Math.round((i * span) / (n - 1)));
    expect(vLen('I', ramp(100, 7, 0))).toBe(0);
    expect(vLen('I', ramp(100, -7, 255))).toBe(1);
    expect(vLen('I', ramp(100, -7, 256))).toBe(2);
    expect(vLen('I', ramp(100, INT32_MIN, 65535))).toBe(2);
    expect(vLen('I', ramp(100, INT32_MAX - 65536, 65536))).toBe(4); // raw: 4 bytes either way
    expect(ver('I', ramp(100, 0, 65536))).toBe(1);
    expect(ver('I', [INT32_MIN, INT32_MAX])).toBe(1);
    expect(ver('d', ramp(100, 19000, 40))).toBe(3);
    // Timestamps of whole minutes over a month: offsets scaled by 10^7, 4 bytes instead of 8.
    const minutes = Array.from({ length: 1000 }, (_, i) => 1_704_067_200_000_000n + BigInt(i * 2677) * 60_000_000n);
    expect(vLen('T', minutes)).toBe(4);
    const body = openVersioned(Kind.CHUNK, encodeChunk(columnFromValues('T', minutes)), 'k', [3]).body as {
      s: number;
    };
    expect(body.s).toBe(7);
    // Span exactly 2^32 - 1 fits 4 bytes; 2^32 does not (and no scale divides it).
    const ten = (vals: bigint[]): bigint[] => Array.from({ length: 10 }, (_, i) => vals[i % vals.length]!);
    expect(vLen('L', ten([5n, 5n + 2n ** 32n - 1n, 7n]))).toBe(4);
    expect(ver('L', ten([5n, 5n + 2n ** 32n, 7n]))).toBe(2);
    expect(ver('L', [5n, 5n + 2n ** 32n - 1n, 7n])).toBe(2); // 3 x 4 bytes + the base: no smaller than 3 x 8
    expect(vLen('L', ten([-(2n ** 63n), -(2n ** 63n) + 255n]))).toBe(1);
    expect(vLen('L', ten([2n ** 63n - 1n, 2n ** 63n - 1n - 65535n, 2n ** 63n - 2n]))).toBe(2);
    // Decimal doubles: the least e that is exact.
    const dBody = (vals: Value[]) =>
      openVersioned(Kind.CHUNK, encodeChunk(columnFromValues('D', vals)), 'k', [1, 3]).body as { e?: number };
    expect(dBody([1.25, null, 3.5, 7]).e).toBe(2);
    expect(dBody([1, 2, 3, 4, -5]).e).toBe(0);
    const many = (vals: number[]): number[] => Array.from({ length: 20 }, (_, i) => vals[i % vals.length]!);
    expect(dBody(many([0.000001, 0.5])).e).toBe(6);
    expect(dBody(many([0.0000001, 0.5])).e).toBeUndefined(); // 7 decimals: raw
    expect(dBody([0.000001, 0.5]).e).toBeUndefined(); // 2 x 4 bytes + base and e: no smaller than 2 x 8
    // -0 is k = 0 listed in `m`, and comes back as -0 (0 stays +0).
    const zeros = many([-0, 0, 1.5, -0, -2.25]);
    const zBody = openVersioned(Kind.CHUNK, encodeChunk(columnFromValues('D', zeros)), 'k', [3]).body as {
      m: Uint8Array;
      e: number;
    };
    expect([zBody.e, zBody.m.length, zBody.m[0]]).toEqual([2, 3, 0b00101001]); // rows 0, 3, 5
    const zBack = decodeChunk(encodeChunk(columnFromValues('D', zeros)), 'k', 'D', 20).values as Float64Array;
    expect(zeros.every((x, i) => Object.is(zBack[i], x))).toBe(true);
    // Anything not exactly k / 10^e for a safe k stays raw, bit for bit.
    for (const x of [Number.NaN, Number.POSITIVE_INFINITY, 5e-324, 0.1 + 0.2, 1e300, 2 ** 53 + 2]) {
      const vals = [1.5, x, 2.5, 3.5];
      expect(ver('D', vals), String(x)).toBe(1);
      const back = decodeChunk(encodeChunk(columnFromValues('D', vals)), 'k', 'D', 4).values as Float64Array;
      expect(Object.is(back[1], x), String(x)).toBe(true);
    }
    // All-null and one-row chunks.
    for (const t of ['I', 'd', 'D', 'L', 'T'] as const) {
      const nulls = Array.from({ length: 50 }, () => null);
      expect(vLen(t, nulls), t).toBe(0);
      expect(decodeChunk(encodeChunk(columnFromValues(t, nulls)), 'k', t, 50).toArray()).toEqual(nulls);
      const one = [t === 'L' || t === 'T' ? 42n : 42];
      expect(decodeChunk(encodeChunk(columnFromValues(t, one)), 'k', t, 1).toArray()).toEqual(one);
    }
  });

  it('decodes the worked examples of docs/format.md 7.2, old and new', () => {
    // Version 1, as every reader since the first has written it: I [1, null, 3].
    const v1 = Buffer.from('e2df0101184488518' + '4a174a149a16e03a176c40c010000000000000003000000a17ac40102', 'hex');
    expect(decodeChunk(v1, 'k', 'I', 3).toArray()).toEqual([1, null, 3]);
    expect(hex(encodeChunk(columnFromValues('I', [1, null, 3]), undefined, 0, 3, { plain: true }))).toBe(hex(v1));
    // Version 2 (a raw T chunk) and version 1 (a D chunk that cannot be encoded: 0.1 + 0.2) as written
    // before encodings, and still written so.
    const v2 = 'e2df0102de2c5ee884a174a154a16e02a176c41000202110d70d06000000000000000000a17ac40102';
    expect(decodeChunk(Buffer.from(v2, 'hex'), 'k', 'T', 2).toArray()).toEqual([1_704_067_200_000_000n, null]);
    expect(
      hex(encodeChunk(columnFromValues('T', [1_704_067_200_000_000n, null]), undefined, 0, 2, { plain: true })),
    ).toBe(v2);
    const rawD = 'e2df0101578c5c8b84a174a144a16e03a176c418343333333333d33f00000000000000800000000000000000a17ac40104';
    const d = decodeChunk(Buffer.from(rawD, 'hex'), 'k', 'D', 3).values as Float64Array;
    expect([d[0], Object.is(d[1], -0)]).toEqual([0.1 + 0.2, true]);
    expect(hex(encodeChunk(columnFromValues('D', [0.1 + 0.2, -0, null])))).toBe(rawD);
    // Version 3: D [1.25, null, 3.5, 2] as k / 10^2 with k = 125, (null), 350, 200: base 125, offsets 0, 0, 225, 75.
    const v3 = encodeChunk(columnFromValues('D', [1.25, null, 3.5, 2]));
    expect(hex(v3)).toBe(GOLDEN_D);
    expect(decodeChunk(Buffer.from(GOLDEN_D, 'hex'), 'k', 'D', 4).toArray()).toEqual([1.25, null, 3.5, 2]);
    const t3 = encodeChunk(columnFromValues('T', [1_704_067_200_000_000n, 1_704_067_260_000_000n, null]));
    expect(hex(t3)).toBe(GOLDEN_T);
    expect(decodeChunk(Buffer.from(GOLDEN_T, 'hex'), 'k', 'T', 3).toArray()).toEqual([
      1_704_067_200_000_000n,
      1_704_067_260_000_000n,
      null,
    ]);
    // A reader that predates encodings refuses version 3 as an unsupported version.
    expect(() => openVersioned(Kind.CHUNK, v3, 'k', [1, 2])).toThrow(/unsupported format version 3/);
  });

  it('refuses every inconsistent encoded field as CORRUPTION', () => {
    const b8 = (x: bigint): Uint8Array => Uint8Array.from(le(x, 8));
    const v3 = (body: Record<string, unknown>): Uint8Array => seal(Kind.CHUNK, body, 3);
    const ok = v3({ t: 'I', n: 2, v: new Uint8Array([0, 5]), b: b8(10n) });
    expect(decodeChunk(ok, 'k', 'I', 2).toArray()).toEqual([10, 15]);
    const bad: [string, Uint8Array, ColumnType, number][] = [
      ['width 3', v3({ t: 'I', n: 2, v: new Uint8Array(6), b: b8(0n) }), 'I', 2],
      ['width 8', v3({ t: 'L', n: 2, v: new Uint8Array(16), b: b8(0n) }), 'L', 2],
      ['length not a multiple of n', v3({ t: 'I', n: 2, v: new Uint8Array(3), b: b8(0n) }), 'I', 2],
      ['no base', v3({ t: 'I', n: 2, v: new Uint8Array(2) }), 'I', 2],
      ['short base', v3({ t: 'I', n: 2, v: new Uint8Array(2), b: new Uint8Array(4) }), 'I', 2],
      ['base a number', v3({ t: 'I', n: 2, v: new Uint8Array(2), b: 3 }), 'I', 2],
      ['int32 overflow', v3({ t: 'I', n: 2, v: new Uint8Array([0, 1]), b: b8(2n ** 31n - 1n) }), 'I', 2],
      ['base below int32', v3({ t: 'd', n: 1, v: new Uint8Array(1), b: b8(-(2n ** 31n) - 1n) }), 'd', 1],
      ['int64 overflow', v3({ t: 'L', n: 1, v: new Uint8Array([1]), b: b8(2n ** 63n - 1n) }), 'L', 1],
      ['scaled int64 overflow', v3({ t: 'T', n: 1, v: new Uint8Array([10]), b: b8(2n ** 62n), s: 18 }), 'T', 1],
      ['scale 0', v3({ t: 'T', n: 1, v: new Uint8Array([1]), b: b8(0n), s: 0 }), 'T', 1],
      ['scale 19', v3({ t: 'T', n: 1, v: new Uint8Array([1]), b: b8(0n), s: 19 }), 'T', 1],
      ['scale on I', v3({ t: 'I', n: 1, v: new Uint8Array([1]), b: b8(0n), s: 2 }), 'I', 1],
      ['D without e', v3({ t: 'D', n: 1, v: new Uint8Array([1]), b: b8(0n) }), 'D', 1],
      ['e 7', v3({ t: 'D', n: 1, v: new Uint8Array([1]), b: b8(0n), e: 7 }), 'D', 1],
      ['e -1', v3({ t: 'D', n: 1, v: new Uint8Array([1]), b: b8(0n), e: -1 }), 'D', 1],
      ['e 1.5', v3({ t: 'D', n: 1, v: new Uint8Array([1]), b: b8(0n), e: 1.5 }), 'D', 1],
      ['e on I', v3({ t: 'I', n: 1, v: new Uint8Array([1]), b: b8(0n), e: 1 }), 'I', 1],
      [
        '-0 bitmap too short',
        v3({ t: 'D', n: 9, v: new Uint8Array(9), b: b8(0n), e: 0, m: new Uint8Array(1) }),
        'D',
        9,
      ],
      ['-0 bitmap on I', v3({ t: 'I', n: 1, v: new Uint8Array(1), b: b8(0n), m: new Uint8Array(1) }), 'I', 1],
      [
        '-0 row not 0',
        v3({ t: 'D', n: 2, v: new Uint8Array([0, 1]), b: b8(0n), e: 0, m: new Uint8Array([2]) }),
        'D',
        2,
      ],
      [
        '-0 row null',
        v3({ t: 'D', n: 2, v: new Uint8Array(2), z: new Uint8Array([1]), b: b8(0n), e: 0, m: new Uint8Array([1]) }),
        'D',
        2,
      ],
      ['-0 row past n', v3({ t: 'D', n: 2, v: new Uint8Array(2), b: b8(0n), e: 0, m: new Uint8Array([4]) }), 'D', 2],
      [
        'version 1 with a -0 bitmap',
        seal(Kind.CHUNK, { t: 'D', n: 1, v: new Uint8Array(8), m: new Uint8Array(1) }),
        'D',
        1,
      ],
      ['unsafe D base', v3({ t: 'D', n: 1, v: new Uint8Array([1]), b: b8(2n ** 53n), e: 0 }), 'D', 1],
      ['zero rows', v3({ t: 'I', n: 0, v: new Uint8Array(0), b: b8(0n) }), 'I', 0],
      ['encoded bools', v3({ t: 'B', n: 1, v: new Uint8Array(1), b: b8(0n) }), 'B', 1],
      ['encoded strings', v3({ t: 'S', n: 1, v: new Uint8Array(1), b: b8(0n) }), 'S', 1],
      ['type mismatch', v3({ t: 'I', n: 1, v: new Uint8Array(1), b: b8(0n) }), 'd', 1],
      ['rows mismatch', v3({ t: 'I', n: 2, v: new Uint8Array(2), b: b8(0n) }), 'I', 3],
      ['bad null bitmap', v3({ t: 'I', n: 2, v: new Uint8Array(2), z: new Uint8Array(2), b: b8(0n) }), 'I', 2],
      ['version 1 with a base', seal(Kind.CHUNK, { t: 'I', n: 1, v: new Uint8Array(4), b: b8(0n) }), 'I', 1],
      ['version 2 with a scale', seal(Kind.CHUNK, { t: 'T', n: 1, v: new Uint8Array(8), s: 3 }, 2), 'T', 1],
    ];
    for (const [what, value, t, n] of bad) expectCorruption(() => decodeChunk(value, 'k', t, n), what);
    // And any single flipped byte of an encoded chunk (the checksum).
    const good = encodeChunk(columnFromValues('T', [1n, 2000n, null, 3n]));
    expect(good[3]).toBe(3);
    for (let i = 0; i < good.length; i++) {
      const flipped = new Uint8Array(good);
      flipped[i]! ^= 0x04;
      expectCorruption(() => decodeChunk(flipped, 'k', 'T', 4), `byte ${i} flipped`);
    }
  });

  it('gives a frame stored encoded the same query answers as the same frame stored raw', async () => {
    const rng = seededRng();
    const n = 5000;
    const lines = ['id,day,at,price,qty,big,label'];
    for (let i = 0; i < n; i++) {
      const nul = (s: string): string => (rng.bool(0.05) ? '' : s);
      const day = `2024-${String(1 + (i % 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`;
      lines.push(
        [
          i,
          nul(day),
          nul(`${day}T${String(rng.int(0, 23)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}:00Z`),
          nul((rng.int(0, 100000) / 100).toFixed(2)),
          nul(String(rng.int(-50, 50))),
          nul(String(BigInt(rng.int(0, 1000)) * 10n ** 12n + 7n)),
          rng.pick(['a', 'b', 'c']),
        ].join(','),
      );
    }
    const encoded = new MemoryStore();
    await importCsv(encoded, 'f', () => Readable.from([`${lines.join('\n')}\n`]), {
      schema: 'id:I,day:d,at:T,price:D,qty:I,big:L,label:S',
      chunkRows: 700,
    });
    // The same frame with every chunk rewritten raw, as a writer before encodings stored it.
    const raw = new MemoryStore();
    const meta = (await DataFrame.get(encoded, 'f')).meta;
    let encodedChunks = 0;
    for await (const [k, v] of encoded.scan({})) {
      let value = v;
      const key = Buffer.from(k).toString('utf8');
      const at = parseChunkKey(key);
      if (at && v[3] === 3) {
        encodedChunks++;
        const chunk = meta.slots ? meta.slots.indexOf(at.chunk) : at.chunk;
        const rows = rowsInChunk(meta, chunk);
        const c = decodeChunk(v, key, meta.fields[at.col]!.type, rows);
        value = encodeChunk(c, undefined, 0, rows, { plain: true });
        expect(value[3]).not.toBe(3);
      }
      await raw.put(k, value);
    }
    expect(encodedChunks).toBeGreaterThan(30);
    const queries = [
      'SELECT * FROM f ORDER BY id',
      'SELECT label, count(*), sum(qty), min(price), max(price), sum(price), min(at), max(at), min(day), max(big) FROM f GROUP BY label ORDER BY label',
      "SELECT id, price FROM f WHERE price > 500.25 AND day >= DATE '2024-06-01' ORDER BY id",
      "SELECT count(*) FROM f WHERE at < TIMESTAMP '2024-03-15 12:00:00' OR big = 7000000000007",
      'SELECT qty, count(*) FROM f WHERE qty IS NULL OR qty < -40 GROUP BY qty ORDER BY qty',
    ];
    for (const q of queries) {
      const a = [...(await DataFrame.sql(encoded, q)).rows()];
      const b = [...(await DataFrame.sql(raw, q)).rows()];
      expect(a.length, q).toBeGreaterThan(0);
      expect(a, q).toEqual(b);
    }
    // And both hold the rows of the file.
    const back = await (await DataFrame.get(encoded, 'f')).load();
    expect(back.get('price', 3)).toBe(lines[4]!.split(',')[3] === '' ? null : Number(lines[4]!.split(',')[3]));
  });
});

const GOLDEN_D = 'e2df0103c71a03fc86a174a144a16e04a176c4040000e14ba17ac40102a162c4087d00000000000000a16502';
const GOLDEN_T = 'e2df01036f18950786a174a154a16e03a176c403000600a17ac40104a162c40800202110d70d0600a17307';

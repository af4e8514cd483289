// A node keeps the broadcast right sides it prepared (dataframe/query/join-cache.ts) and uses one
// only for a payload whose right side is equal to it value for value: a repeated join query finds
// it, a right frame's new version (same name, same shape, other values) never does, a payload
// mutated after it was kept does not change the entry, and the entries stay within the byte bound.

import { describe, expect, it } from 'vitest';
import { ChunkCache, DataFrame, type Value } from '../../dataframe/index.js';
import { StringColumn } from '../../dataframe/column.js';
import { JoinCache } from '../../dataframe/query/join-cache.js';
import { joinPayload } from '../../dataframe/query/join.js';
import { joinCache } from '../../dataframe/query/tasks.js';
import type { Field } from '../../dataframe/schema.js';
import { FakeCluster } from './fake-cluster.js';
import { columnOf, seededRng } from './helpers.js';

const LEFT: Field[] = [
  { name: 'dest', type: 'S' },
  { name: 'v', type: 'I' },
];
const RIGHT: Field[] = [
  { name: 'code', type: 'S' },
  { name: 'state', type: 'S' },
  { name: 'w', type: 'I' },
];

/** A broadcast payload (as it is after msgpack: fresh arrays and bytes every time) of right rows. */
function payload(rows: [string, string | null, number | null][]): unknown {
  const cols = [
    columnOf(
      'S',
      rows.map((r) => r[0]),
    ),
    columnOf(
      'S',
      rows.map((r) => r[1]),
    ),
    columnOf(
      'I',
      rows.map((r) => r[2]),
    ),
  ];
  return structuredClone(joinPayload('inner', [['dest', 'code']], RIGHT, cols));
}

/** The joined rows of left rows `left` through a prepared join, as [dest, v, code, state, w]. */
async function joined(cache: JoinCache, raw: unknown, left: [string | null, number][]): Promise<Value[][]> {
  const prepared = cache.prepare(raw, LEFT);
  const cols = [
    columnOf(
      'S',
      left.map((r) => r[0]),
    ),
    columnOf(
      'I',
      left.map((r) => r[1]),
    ),
  ];
  const { load, rowsOf } = prepared.wrap(
    async () => cols,
    () => left.length,
  );
  const out = await load(0, [0, 1, 2, 3, 4]);
  return Array.from({ length: rowsOf(0) }, (_, r) => out.map((c) => c!.get(r)));
}

const STATES = ['CA', 'NY', 'TX', 'WA', 'OR'];

describe('prepared broadcast right sides', () => {
  it('an equal right side is found, a changed one (same shape) never is', async () => {
    const rng = seededRng();
    const cache = new JoinCache(1 << 20);
    const codes = Array.from({ length: 40 }, (_, i) => `A${i}`);
    const rows = codes.map((c) => [c, rng.pick(STATES), rng.int(0, 100)] as [string, string, number]);
    const left = Array.from({ length: 300 }, () => [rng.bool(0.05) ? null : rng.pick(codes), rng.int(0, 9)]) as [
      string | null,
      number,
    ][];
    const reference = (rs: typeof rows): Value[][] =>
      left.flatMap(([d, v]) => rs.filter((r) => r[0] === d).map((r) => [d, v, ...r]));

    const a = await joined(cache, payload(rows), left);
    expect(a).toEqual(reference(rows));
    expect([cache.hits, cache.misses, cache.size]).toEqual([0, 1, 1]);
    const first = cache.prepare(payload(rows), LEFT);
    expect(cache.hits).toBe(1);
    expect(await joined(cache, payload(rows), left)).toEqual(a);
    expect(cache.hits).toBe(2);
    expect(cache.prepare(payload(rows), LEFT)).toBe(first);

    // Each kind of change, one value at a time: a string, a null, a number, a key; to a row some left
    // row matches, so that the answer shows it (a code no left row holds changes nothing joined).
    const matched = rows.flatMap((row, i) => (left.some(([d]) => d === row[0]) ? [i] : []));
    for (let round = 0; round < 20; round++) {
      const changed = rows.map((r) => [...r] as [string, string | null, number | null]);
      const r = rng.pick(matched);
      const kind = round % 4;
      if (kind === 0) changed[r]![1] = `${changed[r]![1]}x`;
      else if (kind === 1) changed[r]![1] = null;
      else if (kind === 2) changed[r]![2] = (changed[r]![2] ?? 0) + 1;
      else changed[r]![0] = `B${r}`;
      const hits = cache.hits;
      const got = await joined(cache, payload(changed), left);
      expect(cache.hits).toBe(hits);
      expect(got).toEqual(reference(changed as typeof rows));
      expect(got).not.toEqual(a);
      // And back: the original is prepared again (its entry was replaced), the answer the first one.
      expect(await joined(cache, payload(rows), left)).toEqual(a);
    }
  });

  it('keeps copies: bytes changed in a payload after it was kept do not change the entry', async () => {
    const cache = new JoinCache(1 << 20);
    const rows: [string, string, number][] = [
      ['A', 'CA', 1],
      ['B', 'NY', 2],
    ];
    const left: [string, number][] = [
      ['A', 10],
      ['B', 20],
    ];
    const raw = payload(rows) as { right: { bodies: { v: Uint8Array | string[] }[] } };
    await joined(cache, raw, left);
    // w's int32 bytes, changed in place: an entry that kept the payload's own bytes would match this
    // payload and the original one both.
    (raw.right.bodies[2]!.v as Uint8Array)[0] = 7;
    expect(await joined(cache, raw, left)).toEqual([
      ['A', 10, 'A', 'CA', 7],
      ['B', 20, 'B', 'NY', 2],
    ]);
    expect(cache.hits).toBe(0);
    expect(await joined(cache, payload(rows), left)).toEqual([
      ['A', 10, 'A', 'CA', 1],
      ['B', 20, 'B', 'NY', 2],
    ]);
  });

  it('depends on the join type, keys and left fields as well as the right side', () => {
    const cache = new JoinCache(1 << 20);
    const raw = payload([['A', 'CA', 1]]) as Record<string, unknown>;
    const inner = cache.prepare(raw, LEFT);
    expect(cache.prepare({ ...raw, how: 'left' }, LEFT)).not.toBe(inner);
    const otherLeft: Field[] = [...LEFT, { name: 'state', type: 'S' }];
    const wider = cache.prepare(raw, otherLeft);
    expect(wider.fields.map((f) => f.name)).toEqual(['dest', 'v', 'state', 'code', 'state_right', 'w']);
    expect(cache.hits).toBe(0);
    // Each kept under its own key: the first is found again.
    expect(cache.prepare(raw, LEFT)).toBe(inner);
    expect(inner.fields.map((f) => f.name)).toEqual(['dest', 'v', 'code', 'state', 'w']);
    expect(cache.hits).toBe(1);
  });

  it('stays within its byte bound, and keeps nothing of a bad payload', () => {
    const rng = seededRng();
    const cache = new JoinCache(64 * 1024);
    for (let i = 0; i < 200; i++) {
      const n = rng.int(1, 100);
      const rows = Array.from({ length: n }, (_, r) => [`K${i}-${r}`, rng.pick(STATES), r] as [string, string, number]);
      cache.prepare(payload(rows), LEFT);
      expect(cache.bytes).toBeLessThanOrEqual(cache.capacity);
      expect(cache.bytes).toBeGreaterThan(0);
    }
    expect(cache.size).toBeGreaterThan(1);
    // Over half the capacity: prepared, not kept.
    cache.clear();
    const big = Array.from({ length: 2000 }, (_, r) => [`K${r}`, 'CA', r] as [string, string, number]);
    cache.prepare(payload(big), LEFT);
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
    // A bad payload throws as prepareJoin does (TypeError, or a body's decoding error) and leaves nothing.
    const bad = payload([['A', 'CA', 1]]) as { on: unknown };
    bad.on = [['dest', 'nope']];
    expect(() => cache.prepare(bad, LEFT)).toThrow(TypeError);
    expect(() =>
      cache.prepare({ how: 'inner', on: [['dest', 'code']], right: { fields: RIGHT, bodies: [1, 2, 3] } }, LEFT),
    ).toThrow(/chunk body is not a map/);
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
    expect(() => new JoinCache(-1)).toThrow(TypeError);
    // Capacity 0: nothing kept.
    const none = new JoinCache(0);
    none.prepare(payload([['A', 'CA', 1]]), LEFT);
    none.prepare(payload([['A', 'CA', 1]]), LEFT);
    expect([none.size, none.hits]).toEqual([0, 0]);
  });

  it('on a cluster: a replaced right frame is answered from its new version', async () => {
    const rng = seededRng();
    const store = new FakeCluster(
      3,
      16,
      2,
      [0, 1, 2].map(() => new ChunkCache(16 * 2 ** 20)),
    );
    const codes = Array.from({ length: 30 }, (_, i) => `C${i}`);
    const n = 3000;
    const dest = Array.from({ length: n }, () => rng.pick(codes));
    const v = Array.from({ length: n }, () => rng.int(-50, 50));
    await DataFrame.put(
      store,
      'f',
      DataFrame.fromColumns({ dest: { type: 'S', values: dest }, v: { type: 'I', values: v } }),
      { chunkRows: 500 },
    );
    const q =
      'SELECT d.state, count(*) AS n, sum(f.v) AS s FROM f JOIN dim d ON f.dest = d.code GROUP BY d.state ORDER BY d.state';
    const reference = (state: Map<string, string>): Value[][] => {
      const acc = new Map<string, [number, number]>();
      for (let r = 0; r < n; r++) {
        const s = state.get(dest[r]!)!;
        const a = acc.get(s) ?? [0, 0];
        a[0]++;
        a[1] += v[r]!;
        acc.set(s, a);
      }
      return [...acc.keys()].sort().map((s) => [s, ...acc.get(s)!]);
    };
    for (let version = 0; version < 4; version++) {
      // The same codes, shape and types every version; only the states move.
      const state = new Map(codes.map((c) => [c, rng.pick(STATES)]));
      await DataFrame.put(
        store,
        'dim',
        DataFrame.fromColumns({
          code: { type: 'S', values: codes },
          state: { type: 'S', values: codes.map((c) => state.get(c)!) },
        }),
      );
      const hits = joinCache.hits;
      for (let run = 0; run < 3; run++) expect([...(await DataFrame.sql(store, q)).rows()]).toEqual(reference(state));
      // The repeated runs' tasks found the prepared right side.
      expect(joinCache.hits).toBeGreaterThan(hits);
    }
  });
});

describe('inner join on a dictionary-coded key, unique right keys', () => {
  it('matches as a reference for every code width, with and without nulls, and a dictionary larger than the chunk', async () => {
    const rng = seededRng();
    const cache = new JoinCache(0);
    // Dictionaries of 200 (uint8 codes), 1,000 (uint16) and 70,000 (uint32) strings; the right side
    // holds every third of them, so some left rows match and some do not. Chunks smaller than the
    // dictionary take the lazy loop, the others the per-width kernels.
    for (const [size, Codes] of [
      [200, Uint8Array],
      [1000, Uint16Array],
      [70_000, Uint32Array],
    ] as const) {
      const dict = Array.from({ length: size }, (_, i) => `k${i}`);
      const keep = dict.filter((_, i) => i % 3 === 0);
      // The right side's string column, gathered as a dictionary (uint8 codes for the first right
      // side, whose few strings travel dictionary-coded; uint16 for the others, plain), some null.
      const states = keep.map((_, i) => (rng.bool(0.1) ? null : size === 200 || i % 2 ? rng.pick(STATES) : `s${i}`));
      const raw = structuredClone(
        joinPayload('inner', [['dest', 'code']], RIGHT, [
          columnOf('S', keep),
          columnOf('S', states),
          columnOf(
            'I',
            keep.map((_, i) => i),
          ),
        ]),
      );
      const right = new Map(keep.map((c, i) => [c, i]));
      for (const n of [1, 50, 5000, size]) {
        for (const withNulls of [false, true]) {
          const codes = new Codes(n);
          for (let r = 0; r < n; r++) codes[r] = rng.int(0, size - 1);
          let nulls: Uint8Array | undefined;
          if (withNulls) {
            nulls = new Uint8Array(Math.ceil(n / 8));
            for (let r = 0; r < n; r++) if (rng.bool(0.2)) nulls[r >> 3]! |= 1 << (r & 7);
          }
          const isNull = (r: number): boolean => nulls !== undefined && (nulls[r >> 3]! & (1 << (r & 7))) !== 0;
          const key = new StringColumn(undefined, n, nulls, { dict, codes });
          const v = columnOf(
            'I',
            Array.from({ length: n }, (_, r) => r),
          );
          const { load, rowsOf } = cache.prepare(raw, LEFT).wrap(
            async () => [key, v],
            () => n,
          );
          const out = await load(0, [1, 3, 4]);
          const got = Array.from({ length: rowsOf(0) }, (_, j) => [out[1]!.get(j), out[3]!.get(j), out[4]!.get(j)]);
          const want: Value[][] = [];
          for (let r = 0; r < n; r++) {
            const w = isNull(r) ? undefined : right.get(dict[codes[r]!]!);
            if (w !== undefined) want.push([r, states[w]!, w]);
          }
          expect(got, `dictionary ${size}, ${n} rows, nulls ${withNulls}`).toEqual(want);
        }
      }
    }
  });
});

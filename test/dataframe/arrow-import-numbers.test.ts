// A Parquet row group's fixed-width columns (int32, date, double, int64, microsecond timestamps)
// become eau2 columns without a copy: the importer owns the decoded buffers, so a column's values
// are a view of them, null rows zeroed in place (io/arrow-columns.ts, the `adopt` hint). These tests
// check that a seeded random Parquet file stores the chunks and zones the same values stored from
// plain arrays do, and that adopting zeroes junk under nulls while a caller's own Arrow data (no
// hint: fromArrow) is copied and left as it was. EAU2_TEST_SEED=<seed> replays a run.

import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import type { Column } from '../../dataframe/column.js';
import { DataFrame, exportParquet, importParquet } from '../../dataframe/index.js';
import { columnFromArrow } from '../../dataframe/io/arrow-columns.js';
import { chunkKey } from '../../dataframe/layout.js';
import { slotOf } from '../../dataframe/meta.js';
import { readMeta } from '../../dataframe/storage.js';
import { MemoryStore } from '../support/memory-store.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-arrow-numbers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function failedWith(): void {
  onTestFailed(() =>
    console.error(`[arrow-import-numbers] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
  );
}

describe('fixed-width Parquet columns taken without a copy', () => {
  it('store the chunks and zones the same values store from plain arrays', async () => {
    failedWith();
    const rng = new Rng(SEED);
    for (let round = 0; round < 6; round++) {
      const chunkRows = rng.pick([64, 300, 1000]);
      const n = chunkRows * rng.int(1, 3) + rng.pick([0, rng.int(1, chunkRows - 1)]);
      const pNull = rng.pick([0, 0.05, 0.6]);
      const maybe = <T>(f: () => T): T | null => (rng.bool(pNull) ? null : f());
      const i = Array.from({ length: n }, () => maybe(() => rng.int(-2147483648, 2147483647) >> rng.int(0, 31)));
      const d = Array.from({ length: n }, () => maybe(() => rng.int(-700000, 2900000)));
      const x = Array.from({ length: n }, () =>
        maybe(() => (rng.bool(0.1) ? rng.pick([0, -0, Number.NaN, Infinity]) : rng.int(-1e6, 1e6) / 100)),
      );
      const l = Array.from({ length: n }, () => maybe(() => BigInt(rng.int(-1e9, 1e9)) * BigInt(rng.int(1, 1e6))));
      const t = Array.from({ length: n }, () =>
        maybe(() => 1_700_000_000_000_000n + BigInt(rng.int(0, 1e9)) * 60_000_000n),
      );
      const frame = DataFrame.fromColumns({
        i: { type: 'I', values: i },
        d: { type: 'd', values: d },
        x: { type: 'D', values: x },
        l: { type: 'L', values: l },
        t: { type: 'T', values: t },
      });
      // The reference: the values stored from plain arrays; the file: eau2's export of it, a row
      // group per row-chunk.
      const want = new MemoryStore();
      await DataFrame.put(want, 'f', frame, { chunkRows });
      const p = join(dir, `n${round}.parquet`);
      const out = createWriteStream(p);
      await exportParquet(await DataFrame.get(want, 'f'), out);
      await new Promise<void>((resolve, reject) => out.end(resolve).on('error', reject));
      const got = new MemoryStore();
      await importParquet(got, 'f', p, { chunkRows });
      const where = `seed ${SEED} round ${round} (n ${n}, chunkRows ${chunkRows})`;
      const a = (await readMeta(got, 'f'))!;
      const b = (await readMeta(want, 'f'))!;
      expect(a.fields, where).toEqual(b.fields);
      expect(a.nrows, where).toBe(n);
      expect(a.zones, where).toEqual(b.zones);
      for (let k = 0; k < a.nchunks; k++) {
        for (let c = 0; c < a.fields.length; c++) {
          const u = await got.get(chunkKey('f', a.version, slotOf(a, k), c));
          const v = await want.get(chunkKey('f', b.version, slotOf(b, k), c));
          expect(u && v && Buffer.from(u).equals(Buffer.from(v)), `${where}: chunk ${k}, column ${c}`).toBe(true);
        }
      }
    }
  });

  it('read nulls and zero their rows from sliced and chunked vectors, at any bit offset', () => {
    failedWith();
    const rng = new Rng((SEED ^ 0x68e31da4) >>> 0);
    for (let round = 0; round < 60; round++) {
      const [t, type, make] = rng.pick([
        ['I', new A.Int32(), (k: number) => Int32Array.from({ length: k }, () => rng.int(-1e9, 1e9))],
        ['D', new A.Float64(), (k: number) => Float64Array.from({ length: k }, () => rng.int(-1e6, 1e6) / 8)],
        ['L', new A.Int64(), (k: number) => BigInt64Array.from({ length: k }, () => BigInt(rng.int(-1e9, 1e9)) << 20n)],
      ] as const);
      // Chunks of junk under their nulls, each maybe sliced at any row.
      const parts: A.Vector[] = [];
      const want: (number | bigint | null)[] = [];
      for (let c = rng.int(1, 3); c > 0; c--) {
        const n = rng.int(1, 70);
        const data = make(n);
        const bitmap = new Uint8Array(Math.ceil(n / 8));
        const valid = Array.from({ length: n }, () => !rng.bool(rng.pick([0, 0.3, 0.95])));
        valid.forEach((ok, r) => {
          if (ok) bitmap[r >>> 3]! |= 1 << (r & 7);
        });
        const nullCount = valid.filter((ok) => !ok).length;
        let v = A.makeVector(A.makeData({ type, length: n, nullCount, nullBitmap: bitmap, data } as never));
        const a = rng.bool() ? 0 : rng.int(0, n - 1);
        const b = rng.bool() ? n : rng.int(a + 1, n);
        v = v.slice(a, b);
        parts.push(v);
        for (let r = a; r < b; r++) want.push(valid[r] ? data[r]! : null);
      }
      const vec = parts.reduce((x, y) => x.concat(y));
      const col: Column = columnFromArrow(t, vec, 'c', 0, { adopt: rng.bool() });
      const zero = t === 'L' ? 0n : 0;
      const vals = col.values as ArrayLike<number | bigint>;
      for (let r = 0; r < want.length; r++) {
        expect(col.isNull(r), `round ${round} ${t} row ${r}`).toBe(want[r] === null);
        expect(vals[r], `round ${round} ${t} row ${r}`).toBe(want[r] ?? zero);
      }
    }
  });

  it("zero junk under nulls when adopting, and copy a caller's data without touching it", () => {
    const n = 20;
    const valid = Array.from({ length: n }, (_, r) => r % 3 !== 0);
    const bitmap = new Uint8Array(Math.ceil(n / 8));
    valid.forEach((ok, r) => {
      if (ok) bitmap[r >>> 3]! |= 1 << (r & 7);
    });
    const nullCount = valid.filter((ok) => !ok).length;
    const cases: [string, A.DataType, () => Int32Array | Float64Array | BigInt64Array][] = [
      ['I', new A.Int32(), () => Int32Array.from({ length: n }, (_, r) => r * 7 - 50)],
      ['d', new A.DateDay(), () => Int32Array.from({ length: n }, (_, r) => 19000 + r)],
      ['D', new A.Float64(), () => Float64Array.from({ length: n }, (_, r) => r / 4 - 1)],
      ['L', new A.Int64(), () => BigInt64Array.from({ length: n }, (_, r) => BigInt(r) * 10n ** 15n - 7n)],
      ['T', new A.TimestampMicrosecond(), () => BigInt64Array.from({ length: n }, (_, r) => BigInt(r) * 1_000_000n)],
    ];
    for (const [t, type, make] of cases) {
      for (const adopt of [true, false]) {
        const data = make();
        const before = data.slice();
        const vec = A.makeVector(A.makeData({ type, length: n, nullCount, nullBitmap: bitmap, data } as never));
        const col: Column = columnFromArrow(t as never, vec, 'c', 0, { adopt });
        const vals = col.values as ArrayLike<number | bigint>;
        for (let r = 0; r < n; r++) {
          const zero = typeof before[r] === 'bigint' ? 0n : 0;
          expect(vals[r], `${t} adopt ${adopt} row ${r}`).toBe(valid[r] ? before[r] : zero);
          expect(col.isNull(r), `${t} adopt ${adopt} row ${r}`).toBe(!valid[r]);
        }
        // Adopted: the very buffer, its nulls zeroed; copied: the caller's array as it was.
        expect((col.values as ArrayBufferView).buffer === data.buffer, `${t} adopt ${adopt}`).toBe(adopt);
        if (!adopt) expect(data, t).toEqual(before);
      }
    }
  });
});

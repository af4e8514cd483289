// The CSV importer fills the writer's columns one at a time (DataFrameWriter.appendColumnwise), a
// batch of records per call, cut where chunks fill. It must store exactly what appending the same
// values row by row stores, chunk by chunk, and fail on the value a row-by-row reading meets first.
// Randomized (seeded: a failure prints the seed; EAU2_TEST_SEED=<seed> replays it).

import { Readable } from 'node:stream';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng, chooseSeed } from '../../app/apps/random.js';
import { DataFrame, importCsv } from '../../dataframe/index.js';
import { convertText } from '../../dataframe/io/text-values.js';
import type { ColumnType, Value } from '../../dataframe/schema.js';
import { DataFrameWriter } from '../../dataframe/writer.js';
import { Eau2Error } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';

function seeded(): Rng {
  const env = process.env.EAU2_TEST_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : chooseSeed();
  onTestFailed(() => console.error(`[csv-columnwise] failed with seed ${seed}: replay with EAU2_TEST_SEED=${seed}`));
  return new Rng(seed);
}

const TYPES: ColumnType[] = ['I', 'D', 'B', 'S', 'L', 'T', 'd'];

/** A field's text for type t: valid, empty (null) in about one of eight. */
function fieldText(rng: Rng, t: ColumnType, distinct: number): string {
  if (rng.bool(0.12)) return '';
  const d2 = (hi: number): string => String(rng.int(1, hi)).padStart(2, '0');
  switch (t) {
    case 'I':
      return String(rng.int(-2_147_483_648, 2_147_483_647));
    case 'L':
      return rng.bool(0.2) ? rng.pick(['9223372036854775807', '-9223372036854775808']) : String(rng.int(-1e15, 1e15));
    case 'D':
      return rng.pick([String(rng.int(-1e6, 1e6) / 64), String(rng.next()), '1e300', '-0', 'NaN', '-Infinity']);
    case 'B':
      return rng.pick(['true', 'false', 'TRUE', 'False']);
    case 'T':
      return `${rng.int(1900, 2100)}-${d2(12)}-${d2(28)}${rng.pick(['T', ' '])}${d2(23)}:${d2(59)}:${d2(59)}${rng.pick(['Z', '', '.123456Z', '+02:00'])}`;
    case 'd':
      return `${rng.int(1900, 2100)}-${d2(12)}-${d2(28)}`;
    case 'S':
      // Short codes (the packed dictionary path), longer words, and text that needs quoting.
      return rng.pick([
        `${'ABCDEFGH'[rng.int(0, 7)]}${rng.int(0, 9)}`,
        `w${rng.int(0, distinct)}`,
        'a,b',
        'say "hi"',
        'two\nlines',
        'é',
      ]);
  }
}

/** A field as CSV; an empty one quoted in a one-column file, where an empty line is no record. */
const quote = (s: string, width: number): string =>
  /[",\n\r]/.test(s) || (s === '' && width === 1) ? `"${s.replaceAll('"', '""')}"` : s;

/** Stored chunks byte for byte (keys with the version replaced) and the metadata but for version and time. */
async function stored(store: MemoryStore, version: string): Promise<Map<string, string>> {
  const chunks = new Map<string, string>();
  for await (const [k, v] of store.scan()) {
    const key = Buffer.from(k).toString('latin1');
    if (key.includes(version)) chunks.set(key.replace(version, 'V'), Buffer.from(v).toString('hex'));
  }
  return chunks;
}

/** A CSV source read in pieces of the given sizes (so batches and chunks end at varied records). */
function pieces(text: string, rng: Rng): () => Readable {
  const parts: string[] = [];
  // Small pieces (a batch of a record or a few) or large ones (hundreds of records, as a file's 64 KiB reads).
  const most = rng.pick([3000, 65_536]);
  for (let at = 0; at < text.length; ) {
    const n = rng.int(1, most);
    parts.push(text.slice(at, at + n));
    at += n;
  }
  return () => Readable.from(parts);
}

describe('CSV import, column by column', () => {
  it('stores exactly the chunks that appending the same values row by row stores', async () => {
    const rng = seeded();
    for (let round = 0; round < 12; round++) {
      const width = rng.int(1, 9);
      const types = Array.from({ length: width }, () => rng.pick(TYPES));
      const schema = types.join('');
      const rows = rng.int(0, 3000);
      // Chunks from one row to more than the file: batches end before, at and after chunk ends.
      const chunkRows = rng.pick([1, 7, rng.int(2, 900), 4096]);
      // One round in three has a string column with more distinct values than a chunk keeps codes for.
      const distinct = round % 3 === 0 ? 40_000 : 300;
      const texts = Array.from({ length: rows }, () => types.map((t) => fieldText(rng, t, distinct)));
      const csv = `${types.map((_, i) => `c${i}`).join(',')}\n${texts.map((r) => r.map((f) => quote(f, r.length)).join(',')).join('\n')}\n`;
      const ctx = `round ${round}: schema ${schema}, ${rows} rows, chunkRows ${chunkRows}`;

      const byRow = new MemoryStore();
      const w = await DataFrameWriter.open(byRow, 'f', types.map((t, i) => `c${i}:${t}`).join(','), { chunkRows });
      for (const r of texts) await w.append(r.map((s, i) => convertText(types[i]!, s) as Value));
      const { version: v1, created: _c1, ...meta1 } = await w.close();

      const byColumn = new MemoryStore();
      const res = await importCsv(byColumn, 'f', pieces(csv, rng), { schema, chunkRows, sampleRows: rng.int(1, 50) });
      const { version: v2, created: _c2, ...meta2 } = res.meta;
      expect(meta2, ctx).toEqual(meta1);
      const want = await stored(byRow, v1);
      expect(want.size, ctx).toBe(Math.ceil(rows / chunkRows) * width);
      expect(await stored(byColumn, v2), ctx).toEqual(want);

      // And value by value, read back through the frame.
      const df = await DataFrame.get(byColumn, 'f');
      const back = await df.load();
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < width; c++) {
          const v = convertText(types[c]!, texts[r]![c]!);
          const got = back.column(`c${c}`).get(r);
          expect(got, `${ctx}, row ${r}, column ${c}`).toEqual(
            (types[c] === 'L' || types[c] === 'T') && v !== null ? BigInt(v as number | bigint) : v,
          );
        }
    }
  });

  it('fails on the first bad value in file order, whichever column it is in, and publishes nothing', async () => {
    const rng = seeded();
    for (let round = 0; round < 20; round++) {
      const types: ColumnType[] = ['S', 'I', 'D', 'T', 'd', 'L', 'B'];
      const rows = rng.int(2, 2500);
      const texts = Array.from({ length: rows }, () => types.map((t) => fieldText(rng, t, 300)));
      // Bad values in some numeric columns at random records: the error must name the first in row
      // order (a smaller record first, then a smaller column), however the batches are cut.
      // They lie a few records apart, so that several fall in one batch and one chunk.
      const bad: [number, number][] = [];
      const near = rng.int(0, rows - 1);
      for (let k = rng.int(1, 4); k > 0; k--) {
        const r = Math.max(0, Math.min(rows - 1, near + rng.int(-3, 3)));
        const c = rng.int(1, types.length - 1);
        texts[r]![c] = 'oops';
        bad.push([r, c]);
      }
      bad.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const [r0, c0] = bad[0]!;
      const chunkRows = rng.pick([1, rng.int(2, 500), 65_536]);
      const csv = `${types.map((_, i) => `c${i}`).join(',')}\n${texts.map((r) => r.map((f) => quote(f, r.length)).join(',')).join('\n')}\n`;
      const store = new MemoryStore();
      const err = await importCsv(store, 'f', pieces(csv, rng), {
        schema: types.join(''),
        chunkRows,
        sampleRows: rng.int(1, 50),
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const ctx = `round ${round}: bad ${JSON.stringify(bad)}, chunkRows ${chunkRows}`;
      expect(err, ctx).toBeInstanceOf(Eau2Error);
      // Record 1 is the header.
      expect((err as Error).message, ctx).toContain(`record ${r0 + 2}, column "c${c0}": "oops" is not`);
      let keys = 0;
      for await (const _ of store.scan()) keys++;
      expect(keys, `${ctx}: the store holds nothing after the failed import`).toBe(0);
    }
  });

  it('a writer whose column fill threw refuses more rows and close(), and abort() removes its chunks', async () => {
    const store = new MemoryStore();
    const w = await DataFrameWriter.open(store, 'f', 'I', { chunkRows: 2 });
    await w.appendColumnwise(3, (b, from, to) => {
      for (let k = from; k < to; k++) b[0]!.pushInt32(k);
    });
    expect(() =>
      w.appendColumnwise(2, (b) => {
        b[0]!.pushInt32(9);
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(() => w.appendFitted([1])).toThrow(/is broken/);
    await expect(w.close()).rejects.toThrow(/is broken/);
    expect(await w.abort()).toBe(true);
    let keys = 0;
    for await (const _ of store.scan()) keys++;
    expect(keys).toBe(0);
  });

  it('a column fill that pushes too few or too many rows is refused, and the writer with it', async () => {
    for (const extra of [-1, 1]) {
      const w = await DataFrameWriter.open(new MemoryStore(), 'f', 'IS', { chunkRows: 10 });
      expect(() =>
        w.appendColumnwise(4, (b, from, to) => {
          for (let k = from; k < to; k++) b[0]!.pushInt32(k);
          for (let k = from; k < to + extra; k++) b[1]!.pushString('x');
        }),
      ).toThrow(`column "c1" was given ${4 + extra} rows of 4`);
      await expect(w.close()).rejects.toThrow(/is broken/);
      expect(await w.abort()).toBe(true);
    }
  });
});

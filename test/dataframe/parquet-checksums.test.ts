// Checksums in Parquet files. The decoder (parquet-wasm: arrow-rs's parquet crate with libzstd, in
// WebAssembly) decompresses a ZSTD page with libzstd, which verifies a frame's content checksum when
// the frame has one: a flipped bit in the checksum or the compressed page is refused (the decoder
// aborts), never read as other values. These pin that on a file whose pages are zstd frames with
// checksums (test/support/zstd-frames.ts; hyparquet-writer takes the compressor). Page CRCs
// (PageHeader.crc) are not checked: the decoder is built without the parquet crate's `crc` feature,
// and hyparquet, which reads the footer, reads the field but never checks it (docs/dataframe.md,
// "Parquet and Arrow"). EAU2_TEST_SEED=<seed> replays the random flips.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, importParquet } from '../../dataframe/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { polarsZstd, withChecksum, ZSTD_MAGIC } from '../support/zstd-frames.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
const ROWS = 20_000;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-parquet-checksums-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const a = Int32Array.from({ length: ROWS }, (_, i) => (i * 7919) % 100_003);
const b = Float64Array.from({ length: ROWS }, (_, i) => (i % 977) / 8);

/** A Parquet file of columns a and b whose pages are zstd frames with content checksums, and where they lie. */
function written(): { bytes: Buffer; frames: { start: number; end: number }[] } {
  const pages: Buffer[] = [];
  const bytes = Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: 'a', data: a, type: 'INT32', nullable: false },
        { name: 'b', data: b, type: 'DOUBLE', nullable: false },
      ],
      codec: 'ZSTD',
      compressors: {
        ZSTD: (page: Uint8Array) => {
          const f = withChecksum(polarsZstd(page), page);
          pages.push(f);
          return f;
        },
      },
    }),
  );
  let from = 0;
  const frames = pages.map((f) => {
    const start = bytes.indexOf(f, from);
    expect(start, 'each page is in the file').toBeGreaterThan(0);
    from = start + f.length;
    return { start, end: from };
  });
  expect(frames.length).toBeGreaterThanOrEqual(2);
  expect(bytes.indexOf(ZSTD_MAGIC)).toBe(frames[0]!.start);
  return { bytes, frames };
}

describe('Parquet zstd pages with content checksums', () => {
  it('read exactly as written', async () => {
    const p = join(dir, 'ok.parquet');
    await writeFile(p, written().bytes);
    const store = new MemoryStore();
    await importParquet(store, 'f', p);
    const df = await (await DataFrame.get(store, 'f')).load();
    expect(df.column('a').toArray()).toEqual(Array.from(a));
    expect(df.column('b').toArray()).toEqual(Array.from(b));
  });

  for (const [what, range] of [
    ['checksum', (f: { start: number; end: number }): [number, number] => [f.end - 4, f.end - 1]],
    ['compressed bytes', (f: { start: number; end: number }): [number, number] => [f.start + 6, f.end - 5]],
  ] as const)
    it(`a flipped bit in a page's ${what} is INVALID naming the file and row group, never other values`, async () => {
      onTestFailed(() =>
        console.error(`[parquet-checksums] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
      );
      const rng = new Rng(SEED);
      const w = written();
      for (let k = 0; k < 4; k++) {
        const bytes = Buffer.from(w.bytes);
        const [lo, hi] = range(rng.pick(w.frames));
        const at = rng.int(lo, hi);
        bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7));
        const p = join(dir, `flip-${what.replace(' ', '-')}-${k}.parquet`);
        await writeFile(p, bytes);
        const store = new MemoryStore();
        const err = await importParquet(store, 'c', p).then(
          () => undefined,
          (e: unknown) => e,
        );
        if (err === undefined && what !== 'checksum') {
          // A bit no decoder reads (a Huffman or FSE table's padding) changes nothing.
          const df = await (await DataFrame.get(store, 'c')).load();
          expect(df.column('a').toArray()).toEqual(Array.from(a));
          expect(df.column('b').toArray()).toEqual(Array.from(b));
          continue;
        }
        expect(err, `flip at byte ${at}: the import should fail`).toBeInstanceOf(Eau2Error);
        expect((err as Eau2Error).code).toBe(ErrorCode.INVALID);
        expect((err as Error).message).toMatch(
          new RegExp(
            `^cannot read row group at row \\d+ of ${p} as Parquet: the decoder failed on its data \\(damaged`,
          ),
        );
        await expect(DataFrame.get(store, 'c')).rejects.toThrow();
      }
    });
});

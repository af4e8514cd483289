// Compressed Arrow IPC (LZ4_FRAME, ZSTD) that lies or is damaged: files Polars wrote, with the int64
// length prefix of a compressed buffer, or the compressed bytes, changed. Each must fail with an
// INVALID error naming the file and the record batch, publish nothing, and never allocate what a
// buffer merely claims. Also the export's `compression` option, read back by Polars and by eau2.
// EAU2_TEST_SEED=<seed> replays the random corruptions.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, importArrow } from '../../dataframe/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-arrow-compressed-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  delete process.env.EAU2_ARROW_MAX_BATCH_BYTES;
});

const ROWS = 20_000;
const CODECS = [
  ['lz4', 'LZ4_FRAME', [0x04, 0x22, 0x4d, 0x18]],
  ['zstd', 'ZSTD', [0x28, 0xb5, 0x2f, 0xfd]],
] as const;

/** Two int64 columns without nulls (so each compressed buffer is 8 * ROWS bytes), written by Polars. */
function source(): pl.DataFrame {
  const a = Array.from({ length: ROWS }, (_, i) => (i * 7919) % 100_003);
  return pl.DataFrame({
    a: pl.Series('a', a, pl.Int64),
    b: pl.Series(
      'b',
      a.map((x) => -x),
      pl.Int64,
    ),
  });
}

async function written(codec: 'lz4' | 'zstd', stream: boolean): Promise<Buffer> {
  const p = join(dir, `src-${codec}.${stream ? 'arrows' : 'arrow'}`);
  if (stream) source().writeIPCStream(p, { compression: codec });
  else source().writeIPC(p, { compression: codec });
  return readFile(p);
}

/** Where each compressed buffer starts (its frame magic), the 8 bytes before being its length prefix. */
function frames(bytes: Buffer, magic: readonly number[]): number[] {
  const at: number[] = [];
  for (let i = bytes.indexOf(Buffer.from(magic)); i >= 0; i = bytes.indexOf(Buffer.from(magic), i + 1))
    if (bytes.readBigInt64LE(i - 8) === BigInt(8 * ROWS)) at.push(i);
  return at;
}

async function importFails(bytes: Buffer, name: string): Promise<Eau2Error> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  const store = new MemoryStore();
  const err = await importArrow(store, 'c', p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the import should fail').toBeInstanceOf(Eau2Error);
  expect((err as Eau2Error).code).toBe(ErrorCode.INVALID);
  expect((err as Error).message).toContain(`cannot read ${p} as Arrow IPC: `);
  await expect(DataFrame.get(store, 'c')).rejects.toThrow();
  return err as Eau2Error;
}

describe('compressed Arrow IPC that lies about its length', () => {
  for (const [codec, name, magic] of CODECS)
    for (const stream of [false, true]) {
      const kind = `${codec} ${stream ? 'stream' : 'file'}`;

      it(`${kind}: reads as written, both columns, every value`, async () => {
        const p = join(dir, `ok-${codec}.${stream ? 'arrows' : 'arrow'}`);
        await writeFile(p, await written(codec, stream));
        const store = new MemoryStore();
        await importArrow(store, 'f', p);
        const df = await (await DataFrame.get(store, 'f')).load();
        const want = source();
        expect(df.column('a').toArray().map(String)).toEqual(want.getColumn('a').toArray().map(String));
        expect(df.column('b').toArray().map(String)).toEqual(want.getColumn('b').toArray().map(String));
      });

      it(`${kind}: a buffer claiming 1 TiB is refused before anything is allocated`, async () => {
        const bytes = await written(codec, stream);
        bytes.writeBigInt64LE(2n ** 40n, frames(bytes, magic)[0]! - 8);
        const err = await importFails(bytes, `huge-${kind}`);
        expect(err.message).toMatch(
          new RegExp(
            `: the record batch after row 0, compressed with ${name}: a buffer declares 1099511627776 bytes uncompressed, which would take the record batch past 1073741824 bytes \\(EAU2_ARROW_MAX_BATCH_BYTES\\)`,
          ),
        );
      });

      it(`${kind}: a negative claimed length is refused`, async () => {
        const bytes = await written(codec, stream);
        bytes.writeBigInt64LE(-2n, frames(bytes, magic)[0]! - 8);
        const err = await importFails(bytes, `negative-${kind}`);
        expect(err.message).toContain(`compressed with ${name}: a buffer declares an uncompressed length of -2 bytes`);
      });

      for (const delta of [-1, 1, -ROWS])
        it(`${kind}: a buffer that decompresses to ${delta < 0 ? 'more' : 'less'} than it claims (${delta}) is refused`, async () => {
          const bytes = await written(codec, stream);
          bytes.writeBigInt64LE(BigInt(8 * ROWS + delta), frames(bytes, magic)[0]! - 8);
          const err = await importFails(bytes, `off-${delta}-${kind}`);
          expect(err.message).toMatch(
            new RegExp(
              `compressed with ${name}: (a buffer decompresses to \\d+ bytes where it declares ${8 * ROWS + delta}|its LZ4 frame holds more blocks than the ${8 * ROWS + delta} bytes the buffer declares)`,
            ),
          );
        });

      it(`${kind}: a record batch whose buffers add up past EAU2_ARROW_MAX_BATCH_BYTES is refused, one under it reads`, async () => {
        const bytes = await written(codec, stream);
        const p = join(dir, `budget-${kind}`);
        await writeFile(p, bytes);
        process.env.EAU2_ARROW_MAX_BATCH_BYTES = String(8 * ROWS * 2 - 1); // each buffer fits, both do not
        const err = await importFails(bytes, `budget-${kind}`);
        expect(err.message).toContain(
          `compressed with ${name}: a buffer declares ${8 * ROWS} bytes uncompressed, which would take the record batch past ${8 * ROWS * 2 - 1} bytes`,
        );
        process.env.EAU2_ARROW_MAX_BATCH_BYTES = String(8 * ROWS * 2);
        expect((await importArrow(new MemoryStore(), 'f', p)).rows).toBe(ROWS);
      });
    }
});

describe('damaged compressed bytes', () => {
  for (const stream of [false, true]) {
    const kind = stream ? 'stream' : 'file';

    it(`lz4 ${kind}: any byte of a frame changed (Polars writes block and content checksums) fails, never reads as data`, async () => {
      onTestFailed(() =>
        console.error(`[arrow-compressed] lz4 corruption failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
      );
      const rng = new Rng(SEED);
      const clean = await written('lz4', stream);
      const start = frames(clean, CODECS[0][2])[0]!;
      const end = start + 200; // the frame header and the start of its first block
      for (let k = 0; k < 12; k++) {
        const bytes = Buffer.from(clean);
        const at = rng.int(start, end);
        bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7));
        const err = await importFails(bytes, `flip-lz4-${kind}-${k}`);
        expect(err.message).toMatch(/compressed with LZ4_FRAME: /);
      }
    });

    it(`zstd ${kind}: a reserved block type, a window past zstd's limit and a truncated block are refused`, async () => {
      const clean = await written('zstd', stream);
      const at = frames(clean, CODECS[1][2])[0]!;
      // Polars writes frames with a window descriptor and no content size: the first block header follows it.
      expect(clean[at + 4]).toBe(0);
      const reserved = Buffer.from(clean);
      reserved[at + 6] = reserved[at + 6]! | 0b110;
      expect((await importFails(reserved, `zstd-reserved-${kind}`)).message).toContain(
        'compressed with ZSTD: corrupt zstd data: a block of the reserved type',
      );
      const window = Buffer.from(clean);
      window[at + 5] = 0xf8; // 2^41 bytes
      expect((await importFails(window, `zstd-window-${kind}`)).message).toContain(
        `compressed with ZSTD: corrupt zstd data: a window of ${2 ** 41} bytes, past zstd's default limit of ${2 ** 27}`,
      );
      const long = Buffer.from(clean);
      long.writeUIntLE((long.readUIntLE(at + 6, 3) & 7) | (((1 << 17) - 1) << 3), at + 6, 3);
      expect((await importFails(long, `zstd-long-${kind}`)).message).toMatch(
        /compressed with ZSTD: corrupt zstd data: /,
      );
    });
  }
});

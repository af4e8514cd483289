// Checksums inside compressed Arrow IPC bodies. A zstd frame may end with a content checksum (the
// low 32 bits of XXH64 of what it decompresses to, RFC 8878 3.1.1); an LZ4 frame may carry block
// and content checksums (xxh32). A flipped bit in the compressed bytes or in the checksum must make
// the import fail with INVALID naming the file, the record batch and the checksum, publish nothing,
// and never read as other values; intact files read exactly.
//
// The zstd frames are libzstd's with a checksum added (test/support/zstd-frames.ts), written into
// the IPC body by apache-arrow's writer, which stores each compressed buffer's compressed length
// where the format puts its uncompressed length, so the prefixes are rewritten after it.
// EAU2_TEST_SEED=<seed> replays the random flips.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xxh64 } from '@node-rs/xxhash';
import * as A from 'apache-arrow';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { registerArrowCodecs } from '../../dataframe/io/arrow-codecs.js';
import { DataFrame, importArrow } from '../../dataframe/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { polarsZstd, withChecksum, ZSTD_MAGIC } from '../support/zstd-frames.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-arrow-checksums-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const BATCH_ROWS = 4000;
const BATCHES = 3;

interface Source {
  a: bigint[];
  b: number[];
  s: (string | null)[];
}

function source(): Source {
  const n = BATCH_ROWS * BATCHES;
  const a = Array.from({ length: n }, (_, i) => BigInt((i * 7919) % 100_003) - 50_000n);
  const b = Array.from({ length: n }, (_, i) => (i % 977) / 8);
  const s = Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : `v${(i * 31) % 5003}`));
  return { a, b, s };
}

function table(src: Source): A.Table {
  const batches: A.Table[] = [];
  for (let k = 0; k < BATCHES; k++) {
    const at = k * BATCH_ROWS;
    const end = at + BATCH_ROWS;
    batches.push(
      new A.Table({
        a: A.vectorFromArray(BigInt64Array.from(src.a.slice(at, end))),
        b: A.vectorFromArray(Float64Array.from(src.b.slice(at, end))),
        s: A.vectorFromArray(src.s.slice(at, end), new A.Utf8()),
      }),
    );
  }
  return batches.reduce((x, y) => x.concat(y));
}

interface Written {
  bytes: Buffer;
  /** Each compressed buffer's frames: [start, end) in the file, the checksum in its last 4 bytes. */
  frames: { start: number; end: number }[];
}

/**
 * An Arrow IPC file or stream of table(src) whose compressed buffers are zstd frames with content
 * checksums. With `split`, a buffer over 1 KiB is two frames, each with its own checksum.
 */
async function writeChecksummed(src: Source, stream: boolean, split: boolean): Promise<Written> {
  registerArrowCodecs();
  const eau2 = A.compressionRegistry.get(A.CompressionType.ZSTD)!;
  const made: { frames: Buffer[]; length: number }[] = [];
  const encode = (buf: Uint8Array): Uint8Array => {
    const parts = split && buf.length > 1024 ? [buf.subarray(0, 1000), buf.subarray(1000)] : [buf];
    const frames = parts.map((p) => withChecksum(polarsZstd(p), p));
    made.push({ frames, length: buf.length });
    return Buffer.concat(frames);
  };
  A.compressionRegistry.set(A.CompressionType.ZSTD, { encode, decode: eau2.decode });
  let bytes: Buffer;
  try {
    const Writer = stream ? A.RecordBatchStreamWriter : A.RecordBatchFileWriter;
    const w = new Writer({ compressionType: A.CompressionType.ZSTD });
    bytes = Buffer.from(await w.writeAll(table(src)).toUint8Array());
  } finally {
    A.compressionRegistry.set(A.CompressionType.ZSTD, eau2);
  }
  const frames: Written['frames'] = [];
  let from = 0;
  for (const m of made) {
    const whole = Buffer.concat(m.frames);
    if (whole.length >= m.length) continue; // apache-arrow stores this buffer uncompressed
    const at = bytes.indexOf(whole, from);
    expect(at, 'each compressed buffer is in the file').toBeGreaterThan(0);
    expect(bytes.readBigInt64LE(at - 8)).toBe(BigInt(whole.length));
    bytes.writeBigInt64LE(BigInt(m.length), at - 8);
    let start = at;
    for (const f of m.frames) {
      frames.push({ start, end: start + f.length });
      start += f.length;
    }
    from = start;
  }
  return { bytes, frames };
}

async function imported(bytes: Buffer, name: string): Promise<DataFrame> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  const store = new MemoryStore();
  await importArrow(store, 'f', p);
  return (await DataFrame.get(store, 'f')).load();
}

async function importFails(bytes: Buffer, name: string): Promise<Eau2Error> {
  const p = join(dir, name);
  await writeFile(p, bytes);
  const store = new MemoryStore();
  const err = await importArrow(store, 'c', p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the import should fail, not read as data').toBeInstanceOf(Eau2Error);
  expect((err as Eau2Error).code).toBe(ErrorCode.INVALID);
  expect((err as Error).message).toMatch(
    new RegExp(`^cannot read ${p} as Arrow IPC: the (record|dictionary) batch .*compressed with ZSTD: `),
  );
  await expect(DataFrame.get(store, 'c')).rejects.toThrow();
  return err as Eau2Error;
}

function expectSource(df: DataFrame, src: Source): void {
  expect(df.nrows).toBe(src.a.length);
  expect(df.column('a').toArray().map(String)).toEqual(src.a.map(String));
  expect(df.column('b').toArray()).toEqual(src.b);
  expect(df.column('s').toArray()).toEqual(src.s);
}

describe('zstd frames with content checksums', () => {
  for (const stream of [false, true])
    for (const split of [false, true]) {
      const kind = `${stream ? 'stream' : 'file'}${split ? ', two frames a buffer' : ''}`;

      it(`${kind}: reads exactly as written`, async () => {
        const src = source();
        const w = await writeChecksummed(src, stream, split);
        expect(w.frames.length).toBeGreaterThanOrEqual(BATCHES * 3);
        expectSource(await imported(w.bytes, `ok-${kind}`), src);
      });

      it(`${kind}: a flipped bit in a frame's checksum is INVALID naming the checksum`, async () => {
        onTestFailed(() =>
          console.error(`[arrow-checksums] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
        );
        const rng = new Rng(SEED);
        const w = await writeChecksummed(source(), stream, split);
        for (let k = 0; k < 6; k++) {
          const bytes = Buffer.from(w.bytes);
          const f = w.frames[rng.int(0, w.frames.length - 1)]!;
          const at = rng.int(f.end - 4, f.end - 1);
          bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7));
          const err = await importFails(bytes, `sum-${kind}-${k}`);
          expect(err.message).toMatch(
            /: zstd frame [12] fails its content checksum \(XXH64 of what it decompresses to ends 0x[0-9a-f]{8}, the frame states 0x[0-9a-f]{8}\): the data is damaged$/,
          );
        }
      });

      it(`${kind}: a flipped bit in a frame's compressed blocks is INVALID, never other values`, async () => {
        onTestFailed(() =>
          console.error(`[arrow-checksums] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
        );
        const rng = new Rng(SEED);
        const src = source();
        const w = await writeChecksummed(src, stream, split);
        let byChecksum = 0;
        for (let k = 0; k < 24; k++) {
          const bytes = Buffer.from(w.bytes);
          const f = w.frames[rng.int(0, w.frames.length - 1)]!;
          const at = rng.int(f.start + 6, f.end - 5); // past the frame header, before the checksum
          bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7));
          const name = `body-${kind}-${k}`;
          const p = join(dir, name);
          await writeFile(p, bytes);
          const store = new MemoryStore();
          const err = await importArrow(store, 'f', p).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (err === undefined) {
            // A bit no decoder reads (a Huffman or FSE table's padding) changes nothing: the content,
            // and so the checksum, are the same. Then the data must be exactly the source.
            expectSource(await (await DataFrame.get(store, 'f')).load(), src);
            continue;
          }
          expect(err, `flip at byte ${at}`).toBeInstanceOf(Eau2Error);
          expect((err as Eau2Error).code).toBe(ErrorCode.INVALID);
          expect((err as Error).message).toMatch(
            new RegExp(`^cannot read ${p} as Arrow IPC: the (record|dictionary) batch .*compressed with ZSTD: `),
          );
          await expect(DataFrame.get(store, 'f')).rejects.toThrow();
          if (/fails its content checksum/.test((err as Error).message)) byChecksum++;
        }
        // Many flips decompress to something of the right length: only the checksum tells them apart.
        expect(byChecksum).toBeGreaterThan(0);
      });
    }

  it('a frame whose content was replaced by other content of the same length fails its checksum', async () => {
    // A raw block (no compression) decompresses to its bytes: a flip there is always other values.
    const content = Buffer.from('eau2 checksums: the content of one raw block!!!');
    const raw = Buffer.concat([
      ZSTD_MAGIC,
      Buffer.from([0x20 | 0x04, content.length]), // single segment, checksum, 1-byte content size
      Buffer.from([((content.length << 3) | 1) & 0xff, (content.length << 3) >> 8, 0]), // last raw block
      content,
    ]);
    const frame = Buffer.concat([raw, Buffer.alloc(4)]);
    frame.writeUInt32LE(Number(xxh64(content) & 0xffffffffn), raw.length);
    registerArrowCodecs();
    const zstd = A.compressionRegistry.get(A.CompressionType.ZSTD)!;
    const body = (f: Buffer): Uint8Array => {
      const b = Buffer.alloc(8 + f.length);
      b.writeBigInt64LE(BigInt(content.length), 0);
      f.copy(b, 8);
      return b.subarray(8);
    };
    expect(Buffer.from(zstd.decode!(body(frame)))).toEqual(content);
    const damaged = Buffer.from(frame);
    damaged[10] = damaged[10]! ^ 0x20; // 'e' of "eau2" -> 'E'
    expect(() => zstd.decode!(body(damaged))).toThrow(/zstd frame 1 fails its content checksum/);
  });
});

// lz4_flex (through lz4-napi) verifies an LZ4 frame's header, block and content checksums itself
// (eau2 adds none): these pin that, on the frames Polars writes, which carry all three.
describe('LZ4 frames with block and content checksums', () => {
  const LZ4_MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18]);
  const ROWS = 40_000;
  const values = Array.from({ length: ROWS }, (_, i) => (i * 7919) % 100_003);

  /** Where, in each LZ4 frame of a Polars file, its block checksums and its content checksum lie. */
  function lz4Checksums(bytes: Buffer): { block: number[]; content: number[]; data: [number, number][] } {
    const out = { block: [] as number[], content: [] as number[], data: [] as [number, number][] };
    for (let i = bytes.indexOf(LZ4_MAGIC); i >= 0; i = bytes.indexOf(LZ4_MAGIC, i + 1)) {
      if (bytes.readBigInt64LE(i - 8) !== BigInt(8 * ROWS)) continue;
      const flg = bytes[i + 4]!;
      expect(flg & 0x14, 'Polars writes block and content checksums').toBe(0x14);
      let at = i + 6 + (flg & 0x08 ? 8 : 0) + 1;
      for (;;) {
        const word = bytes.readUInt32LE(at);
        at += 4;
        if (word === 0) break;
        const size = word & 0x7fffffff;
        out.data.push([at, at + size]);
        at += size;
        out.block.push(at);
        at += 4;
      }
      out.content.push(at);
    }
    return out;
  }

  for (const stream of [false, true]) {
    const kind = stream ? 'stream' : 'file';
    const written = (): Buffer => {
      const df = pl.DataFrame({ a: pl.Series('a', values, pl.Int64) });
      return stream ? df.writeIPCStream({ compression: 'lz4' }) : df.writeIPC({ compression: 'lz4' });
    };

    it(`${kind}: reads exactly as written`, async () => {
      const df = await imported(written(), `lz4-ok-${kind}`);
      expect(df.column('a').toArray().map(String)).toEqual(values.map(String));
    });

    for (const [what, pick] of [
      ['a block checksum', (c: ReturnType<typeof lz4Checksums>, rng: Rng) => rng.pick(c.block) + rng.int(0, 3)],
      ['the content checksum', (c: ReturnType<typeof lz4Checksums>, rng: Rng) => rng.pick(c.content) + rng.int(0, 3)],
      [
        "a block's compressed bytes",
        (c: ReturnType<typeof lz4Checksums>, rng: Rng) => {
          const [a, b] = rng.pick(c.data);
          return rng.int(a, b - 1);
        },
      ],
    ] as const)
      it(`${kind}: a flipped bit in ${what} is INVALID, never other values`, async () => {
        onTestFailed(() =>
          console.error(`[arrow-checksums] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
        );
        const rng = new Rng(SEED);
        const clean = written();
        const sums = lz4Checksums(clean);
        expect(sums.block.length).toBeGreaterThan(1);
        for (let k = 0; k < 6; k++) {
          const bytes = Buffer.from(clean);
          const at = pick(sums, rng);
          bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7));
          const p = join(dir, `lz4-${kind}-${k}`);
          await writeFile(p, bytes);
          const store = new MemoryStore();
          const err = await importArrow(store, 'c', p).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, `flip at byte ${at}: the import should fail`).toBeInstanceOf(Eau2Error);
          expect((err as Eau2Error).code).toBe(ErrorCode.INVALID);
          expect((err as Error).message).toMatch(
            new RegExp(
              `^cannot read ${p} as Arrow IPC: the record batch after row 0, compressed with LZ4_FRAME: corrupt LZ4 (data \\((Block|Content)ChecksumError\\)|frame: )`,
            ),
          );
          await expect(DataFrame.get(store, 'c')).rejects.toThrow();
        }
      });
  }
});

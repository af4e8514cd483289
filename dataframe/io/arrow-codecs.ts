// LZ4_FRAME and ZSTD codecs for apache-arrow's compressionRegistry, so that Arrow IPC written with
// body compression (pyarrow's feather default, Polars' `compression`) reads. apache-arrow ships no
// codec; the libraries do the decompression (lz4-napi: lz4_flex, prebuilt; fzstd: pure JS, as
// Node 20's zlib has no zstd), and this file bounds what they may allocate and verifies the zstd
// content checksums fzstd skips (lz4_flex verifies an LZ4 frame's header, block and content
// checksums itself).
//
// Each compressed buffer of an IPC body starts with its uncompressed length (int64 LE; -1 means
// "stored uncompressed", which apache-arrow handles without calling a codec). apache-arrow hands
// a codec only the bytes after that prefix, and uses whatever it returns as the buffer, unchecked:
// a short result would become values read past the data. So decode reads the declared length from
// the 8 bytes before its input (a view into the message body), refuses one over the budget before
// allocating, checks the frame headers against it (the declared length bounds the output buffer,
// the window and the number of blocks) and fails unless the data decompresses to exactly that.

import { createRequire } from 'node:module';
import * as A from 'apache-arrow';
import { Decompress } from 'fzstd';

/** A compressed buffer that cannot be decompressed into what it declares; names the codec. */
export class CodecError extends Error {
  constructor(
    readonly codec: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DEFAULT_BATCH_BYTES = 1024 ** 3;

/**
 * What the codecs decompress in one synchronous run of apache-arrow's reader: one record batch
 * (or dictionary batch) as the importer reads them, as every buffer of a batch is decoded in one
 * call with no await between, and the next batch is read after one. A buffer claiming more, or a
 * batch whose buffers add up to more, is refused before anything is allocated.
 */
function batchLimit(): number {
  const v = Number(process.env.EAU2_ARROW_MAX_BATCH_BYTES);
  return Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_BATCH_BYTES;
}

let spent = 0;
let resetQueued = false;

function reserve(codec: string, bytes: number): void {
  if (!resetQueued) {
    resetQueued = true;
    queueMicrotask(() => {
      spent = 0;
      resetQueued = false;
    });
  }
  const limit = batchLimit();
  if (bytes > limit - spent)
    throw new CodecError(
      codec,
      `a buffer declares ${bytes} bytes uncompressed, which would take the record batch past ${limit} bytes (EAU2_ARROW_MAX_BATCH_BYTES): write it in smaller record batches`,
    );
  spent += bytes;
}

/** The uncompressed length declared in the 8 bytes before `bytes`, within the same message body. */
function declaredLength(codec: string, bytes: Uint8Array): number {
  if (bytes.byteOffset < 8)
    throw new CodecError(codec, 'its uncompressed length cannot be read (no length prefix before the data)');
  const n = new DataView(bytes.buffer, bytes.byteOffset - 8, 8).getBigInt64(0, true);
  if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new CodecError(codec, `a buffer declares an uncompressed length of ${n} bytes`);
  return Number(n);
}

function lengthMismatch(codec: string, got: number, declared: number): CodecError {
  return new CodecError(codec, `a buffer decompresses to ${got} bytes where it declares ${declared}`);
}

const require = createRequire(import.meta.url);

let lz4Module: Lz4Napi | undefined;

/** lz4-napi on first use: a platform without its prebuilt binary fails LZ4 reads only, with this. */
function lz4Napi(): Lz4Napi {
  try {
    lz4Module ??= require('lz4-napi') as Lz4Napi;
    return lz4Module;
  } catch (e) {
    throw new CodecError('LZ4_FRAME', `its decompressor (lz4-napi) does not load here: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

// ---- LZ4 frame (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) ----

interface Lz4Napi {
  decompressFrameSync(data: Buffer): Buffer;
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

/**
 * Walks an LZ4 frame's headers (not its data): the most it can decompress to is its stored blocks'
 * sizes plus a maximum block for each compressed one. A frame from an LZ4 writer fills every block
 * but the last, so it holds less than a block more than it declares; lz4_flex decodes into a Vec
 * that grows with the output, so this bound is what keeps a crafted frame (255 output bytes per
 * input byte) from growing past the declared length.
 */
function checkLz4Frame(src: Uint8Array, declared: number): void {
  const fail = (why: string): CodecError => new CodecError('LZ4_FRAME', `corrupt LZ4 frame: ${why}`);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (src.length < 7 || view.getUint32(0, true) !== LZ4_MAGIC) throw fail('it does not start with the LZ4 magic');
  const flg = src[4]!;
  const bd = src[5]!;
  if (flg >> 6 !== 1) throw fail(`unknown frame version ${flg >> 6}`);
  const blockChecksums = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  if (flg & 0x01) throw fail('it needs a dictionary');
  const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 7]!;
  if (blockMax === 0) throw fail(`unknown block size ${(bd >> 4) & 7}`);
  let at = 6;
  if (hasContentSize) {
    if (src.length < at + 9) throw fail('it ends inside its header');
    const size = view.getBigUint64(at, true);
    if (size !== BigInt(declared))
      throw new CodecError('LZ4_FRAME', `its LZ4 frame holds ${size} bytes where the buffer declares ${declared}`);
    at += 8;
  }
  at += 1; // header checksum, verified by lz4_flex
  let bound = 0;
  for (;;) {
    if (at + 4 > src.length) throw fail('it ends before its end mark');
    const word = view.getUint32(at, true);
    at += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    const stored = word !== size;
    if (size > blockMax) throw fail(`a block of ${size} bytes where blocks hold at most ${blockMax}`);
    at += size + (blockChecksums ? 4 : 0);
    if (at > src.length) throw fail('it ends inside a block');
    bound += stored ? size : blockMax;
    if (bound >= declared + blockMax)
      throw new CodecError(
        'LZ4_FRAME',
        `its LZ4 frame holds more blocks than the ${declared} bytes the buffer declares (a buffer decompresses to more than it declares)`,
      );
  }
  if (contentChecksum) at += 4;
  if (at !== src.length) throw fail(`${src.length - at} bytes after its end`);
}

function decodeLz4(src: Uint8Array): Uint8Array {
  const declared = declaredLength('LZ4_FRAME', src);
  reserve('LZ4_FRAME', declared);
  checkLz4Frame(src, declared);
  const lz4 = lz4Napi();
  let out: Buffer;
  try {
    out = lz4.decompressFrameSync(Buffer.from(src.buffer, src.byteOffset, src.byteLength));
  } catch (e) {
    throw new CodecError('LZ4_FRAME', `corrupt LZ4 data (${(e as Error).message})`, { cause: e });
  }
  if (out.length !== declared) throw lengthMismatch('LZ4_FRAME', out.length, declared);
  return out;
}

// ---- Zstandard (RFC 8878) ----

const ZSTD_MAGIC = 0xfd2fb528;
/** The largest window zstd's own decoder accepts unless told otherwise (ZSTD_WINDOWLOG_LIMIT_DEFAULT). */
const ZSTD_MAX_WINDOW = 1 << 27;
const ZSTD_MAX_BLOCK = 128 << 10;

/** Where one zstd frame lies in a buffer: [start, end), and its content checksum's offset, if it has one. */
interface ZstdFrame {
  start: number;
  end: number;
  checksumAt: number | undefined;
}

/**
 * Walks a zstd buffer's frame and block headers: fzstd allocates each frame's window from its header
 * (up to 2 GiB), so a window is refused past zstd's default limit, or, for a single-segment frame
 * whose window is its content size, past the declared length; and content sizes the frames state
 * must add up to the declared length. Returns the frames, for decodeZstd to verify their checksums.
 */
function checkZstdFrames(src: Uint8Array, declared: number): ZstdFrame[] {
  const frames: ZstdFrame[] = [];
  const fail = (why: string): CodecError => new CodecError('ZSTD', `corrupt zstd data: ${why}`);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let at = 0;
  let stated = 0;
  let allStated = true;
  if (src.length === 0) throw fail('it is empty');
  while (at < src.length) {
    const start = at;
    if (at + 6 > src.length) throw fail('it ends inside a frame header');
    if (view.getUint32(at, true) !== ZSTD_MAGIC) throw fail('a frame does not start with the zstd magic');
    const fhd = src[at + 4]!;
    at += 5;
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd & 0x20) !== 0;
    if (fhd & 0x08) throw fail('a reserved header bit is set');
    const checksum = (fhd & 0x04) !== 0;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    let window = 0;
    if (!singleSegment) {
      const wd = src[at++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    if (dictBytes > 0) {
      let dict = 0;
      for (let i = 0; i < dictBytes; i++) dict += src[at + i]! * 2 ** (8 * i);
      if (dict !== 0) throw fail('it needs a dictionary');
      at += dictBytes;
    }
    const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
    if (at + fcsBytes > src.length) throw fail('it ends inside a frame header');
    let size: number | undefined;
    if (fcsBytes === 1) size = src[at]!;
    else if (fcsBytes === 2) size = view.getUint16(at, true) + 256;
    else if (fcsBytes === 4) size = view.getUint32(at, true);
    else if (fcsBytes === 8) {
      const big = view.getBigUint64(at, true);
      size = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
    }
    at += fcsBytes;
    if (size === undefined) allStated = false;
    else stated += size;
    if (stated > declared) throw lengthMismatch('ZSTD', stated, declared);
    if (singleSegment) window = size!;
    else if (window > ZSTD_MAX_WINDOW)
      throw fail(`a window of ${window} bytes, past zstd's default limit of ${ZSTD_MAX_WINDOW}`);
    for (;;) {
      if (at + 3 > src.length) throw fail('it ends inside a block header');
      const h = src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16);
      at += 3;
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      if (type === 3) throw fail('a block of the reserved type');
      if (size > Math.min(window, ZSTD_MAX_BLOCK) && type !== 1) throw fail(`a block of ${size} bytes`);
      at += type === 1 ? 1 : size;
      if (at > src.length) throw fail('it ends inside a block');
      if (h & 1) break;
    }
    const checksumAt = checksum ? at : undefined;
    if (checksum) at += 4;
    if (at > src.length) throw fail('it ends inside a checksum');
    frames.push({ start, end: at, checksumAt });
  }
  if (allStated && stated !== declared) throw lengthMismatch('ZSTD', stated, declared);
  return frames;
}

interface XxHash {
  xxh64(input: Uint8Array, seed?: bigint): bigint;
}

let xxhashModule: XxHash | undefined;

/** @node-rs/xxhash on the first frame with a checksum: without its binary, such frames are refused. */
function xxhash(): XxHash {
  try {
    xxhashModule ??= require('@node-rs/xxhash') as XxHash;
    return xxhashModule;
  } catch (e) {
    throw new CodecError(
      'ZSTD',
      `a zstd frame's content checksum cannot be verified: @node-rs/xxhash does not load here: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/**
 * RFC 8878 3.1.1: a frame's Content_Checksum is the low 32 bits of XXH64(content, seed 0), little
 * endian. fzstd reads past it unchecked, and a flipped bit in a raw block or a literal section
 * decompresses to other values of the same length, so only this check catches it.
 */
function verifyZstdChecksum(src: Uint8Array, checksumAt: number, content: Uint8Array, frame: number): void {
  const stated = new DataView(src.buffer, src.byteOffset + checksumAt, 4).getUint32(0, true);
  const got = Number(xxhash().xxh64(content) & 0xffffffffn);
  if (got !== stated)
    throw new CodecError(
      'ZSTD',
      `zstd frame ${frame + 1} fails its content checksum (XXH64 of what it decompresses to ends 0x${hex32(got)}, the frame states 0x${hex32(stated)}): the data is damaged`,
    );
}

const hex32 = (n: number): string => n.toString(16).padStart(8, '0');

function decodeZstd(src: Uint8Array): Uint8Array {
  const declared = declaredLength('ZSTD', src);
  reserve('ZSTD', declared);
  const frames = checkZstdFrames(src, declared);
  const out = new Uint8Array(declared);
  let at = 0;
  // Streaming, so each block is counted as it comes: fzstd's one-shot decompress into a given
  // buffer drops what overflows it and returns the buffer whole, hiding a short or long result.
  // One frame at a time, so that each frame's checksum covers exactly its own content.
  const onData = (chunk: Uint8Array): void => {
    if (chunk.length > declared - at) throw lengthMismatch('ZSTD', at + chunk.length, declared);
    out.set(chunk, at);
    at += chunk.length;
  };
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    const from = at;
    try {
      new Decompress(onData).push(src.subarray(f.start, f.end), true);
    } catch (e) {
      if (e instanceof CodecError) throw e;
      throw new CodecError('ZSTD', `corrupt zstd data (${(e as Error).message})`, { cause: e });
    }
    if (f.checksumAt !== undefined) verifyZstdChecksum(src, f.checksumAt, out.subarray(from, at), i);
  }
  if (at !== declared) throw lengthMismatch('ZSTD', at, declared);
  return out;
}

// ---- registration ----

const lz4Decoder: A.Codec = { decode: decodeLz4 };
const zstdDecoder: A.Codec = { decode: decodeZstd };

/**
 * Registers eau2's decoders with apache-arrow's process-wide compressionRegistry, each only where no
 * codec is registered: an embedding application's own codec, registered before eau2's Arrow module
 * loads, is kept (and one registered after replaces eau2's).
 */
export function registerArrowCodecs(): void {
  if (!A.compressionRegistry.get(A.CompressionType.LZ4_FRAME))
    A.compressionRegistry.set(A.CompressionType.LZ4_FRAME, lz4Decoder);
  if (!A.compressionRegistry.get(A.CompressionType.ZSTD))
    A.compressionRegistry.set(A.CompressionType.ZSTD, zstdDecoder);
}

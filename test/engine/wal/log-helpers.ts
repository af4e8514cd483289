// Helpers for the log tests: build logs, read them back from plain bytes, hand-encode fragments.

import { putFixed32 } from '../../../engine/util/coding.js';
import { crc32c, maskCrc } from '../../../engine/util/crc32c.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import type { RandomAccessFile } from '../../../engine/vfs/vfs.js';
import { LogReader, type LogReadEnd, type LogRecord } from '../../../engine/wal/log-reader.js';
import { LogWriter } from '../../../engine/wal/log-writer.js';

/** A RandomAccessFile over a byte array (reads are views, not copies: the reader never writes). */
export function bytesFile(bytes: Uint8Array, path = 'test.log'): RandomAccessFile {
  return {
    path,
    size: () => bytes.length,
    readSync: (pos, len) => bytes.subarray(Math.min(pos, bytes.length), Math.min(pos + len, bytes.length)),
    read: async (pos, len) => bytes.subarray(Math.min(pos, bytes.length), Math.min(pos + len, bytes.length)),
    close: async () => undefined,
  };
}

export async function readBytes(
  bytes: Uint8Array,
  path = 'test.log',
): Promise<{ records: LogRecord[]; end: LogReadEnd }> {
  const reader = new LogReader(bytesFile(bytes, path));
  const records: LogRecord[] = [];
  for await (const r of reader) records.push(r);
  return { records, end: reader.end };
}

export interface BuiltLog {
  bytes: Uint8Array;
  payloads: Uint8Array[];
  /** Offset of each record as addRecord returned it. */
  offsets: number[];
  /** End offset of each record. */
  ends: number[];
}

/** Writes `payloads` with a LogWriter (flushing after each) and returns the file's bytes. */
export async function buildLog(payloads: Uint8Array[]): Promise<BuiltLog> {
  const vfs = new MemVfs();
  const f = await vfs.openWritable('x.log');
  const w = new LogWriter(f);
  const offsets: number[] = [];
  const ends: number[] = [];
  for (const p of payloads) {
    offsets.push(w.addRecord(p));
    ends.push(w.offset());
    await w.flush();
  }
  await w.close();
  return { bytes: await vfs.readFile('x.log'), payloads, offsets, ends };
}

/** An independently written fragment encoder: header (masked CRC, length, type) + payload. */
export function fragment(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(7 + payload.length);
  const crc = crc32c(payload, crc32c(Uint8Array.of(type)));
  putFixed32(out, 0, maskCrc(crc));
  out[4] = payload.length & 0xff;
  out[5] = payload.length >>> 8;
  out[6] = type;
  out.set(payload, 7);
  return out;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function fill(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}

/**
 * Asserts two lists of byte arrays are equal. vitest's deep toEqual takes seconds per megabyte of
 * Uint8Array; this compares with Buffer.compare and names the first differing record.
 */
export function expectSameBytes(
  actual: readonly Uint8Array[],
  expected: readonly Uint8Array[],
  what = 'records',
): void {
  const describeList = (xs: readonly Uint8Array[]) => xs.map((x) => x.length).join(',');
  if (actual.length !== expected.length) {
    throw new Error(
      `${what}: got ${actual.length} [${describeList(actual)}], want ${expected.length} [${describeList(expected)}]`,
    );
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (a.length !== e.length || Buffer.compare(a, e) !== 0) {
      throw new Error(`${what}: #${i} differs (length ${a.length}, want ${e.length})`);
    }
  }
}

/** Asserts two byte arrays are equal, fast (see expectSameBytes). */
export function expectBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  expectSameBytes([actual], [expected], what);
}

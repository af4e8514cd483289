// LogReader: every prefix of a log reads back as a prefix of its records; damage at the tail ends
// the log; damage followed by a valid record is CORRUPTION naming the file and the bad record.

import { describe, expect, test } from 'vitest';
import { concatBytes, utf8 } from '../../../kv/index.js';
import { isEau2Error, type Eau2Error } from '../../../kv/index.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import { BLOCK_SIZE, FragmentType, HEADER_SIZE } from '../../../engine/wal/log-format.js';
import { LogReader, readLog, type LogRecord } from '../../../engine/wal/log-reader.js';
import { LogWriter } from '../../../engine/wal/log-writer.js';
import { seededRng, type Rng } from '../vfs/seeded-random.js';
import { bytesFile, expectSameBytes, fill, fragment, readBytes, type BuiltLog } from './log-helpers.js';

const B = BLOCK_SIZE;
const H = HEADER_SIZE;

/**
 * A log in `blockSize` blocks with every layout case: an empty record, small FULL records, a
 * zero-padded block tail, a record starting with an empty FIRST fragment and spanning
 * FIRST/MIDDLE/MIDDLE/LAST, a multi-block record starting mid-block, and `extra` random records.
 */
async function layoutLog(rng: Rng, blockSize = B, extra = 0): Promise<BuiltLog> {
  const vfs = new MemVfs();
  const w = new LogWriter(await vfs.openWritable('x.log'), 0, { blockSize });
  const payloads: Uint8Array[] = [];
  const offsets: number[] = [];
  const ends: number[] = [];
  const add = (n: number) => {
    const p = rng.bytes(n);
    payloads.push(p);
    offsets.push(w.addRecord(p));
    ends.push(w.offset());
  };
  const toBlockEnd = (gap: number) => {
    // A record ending `gap` bytes before a block end (as close as tiny blocks allow).
    gap = Math.min(gap, blockSize - H);
    for (;;) {
      const room = blockSize - (w.offset() % blockSize);
      if (room < H) {
        add(0); // the writer pads; the record starts the next block
        continue;
      }
      if (room - gap - H >= 0) return add(room - gap - H);
      add(room - H); // fill this block exactly and try the next
    }
  };
  add(0);
  for (let i = 0; i < 4; i++) add(rng.int(1, blockSize >> 2));
  toBlockEnd(3); // zero-padded tail
  add(rng.int(1, 10));
  toBlockEnd(H); // the next record starts with an empty FIRST fragment
  add(2 * blockSize + 60);
  add(1);
  add(rng.int(2 * blockSize, 3 * blockSize));
  for (let i = 0; i < extra; i++) {
    add(rng.pick([0, rng.int(1, H), rng.int(1, blockSize), rng.int(blockSize, 3 * blockSize)]));
  }
  add(rng.int(1, blockSize >> 2));
  await w.close();
  return { bytes: await vfs.readFile('x.log'), payloads, offsets, ends };
}

/** Offsets of every fragment header of record i. */
function headerOffsets(log: BuiltLog, i: number, blockSize = B): number[] {
  const out = [log.offsets[i]!];
  for (let bs = (Math.floor(log.offsets[i]! / blockSize) + 1) * blockSize; bs < log.ends[i]!; bs += blockSize)
    out.push(bs);
  return out;
}

function recordAt(log: BuiltLog, pos: number): number {
  return log.offsets.findIndex((o, i) => o <= pos && pos < log.ends[i]!);
}

/** Reads `bytes`, collecting the records yielded before an error (if any). */
async function readUntilError(bytes: Uint8Array, path = 'test.log', blockSize = B) {
  const got: LogRecord[] = [];
  const reader = new LogReader(bytesFile(bytes, path), { blockSize });
  try {
    for await (const r of reader) got.push(r);
    return { got, error: undefined, end: reader.end };
  } catch (e) {
    return { got, error: e as Eau2Error, end: undefined };
  }
}

function flipped(bytes: Uint8Array, pos: number, mask: number): Uint8Array {
  const b = bytes.slice();
  b[pos]! ^= mask;
  return b;
}

async function expectCorruptionAt(
  bytes: Uint8Array,
  offset: number,
  payloadsBefore: Uint8Array[],
  what: string,
  blockSize = B,
) {
  const { got, error } = await readUntilError(bytes, 'db/000007.log', blockSize);
  expect(error, `${what}: expected CORRUPTION`).toBeDefined();
  expect(isEau2Error(error, 'CORRUPTION'), `${what}: ${String(error)}`).toBe(true);
  expect(error!.details, what).toEqual({ file: 'db/000007.log', offset });
  expectSameBytes(
    got.map((r) => r.payload),
    payloadsBefore,
    what,
  );
}

async function expectEndAt(bytes: Uint8Array, validEnd: number, payloads: Uint8Array[], what: string, blockSize = B) {
  const { got, error, end } = await readUntilError(bytes, 'test.log', blockSize);
  expect(error, `${what}: ${String(error)}`).toBeUndefined();
  expectSameBytes(
    got.map((r) => r.payload),
    payloads,
    what,
  );
  expect(end!.validEnd, what).toBe(validEnd);
  expect(end!.clean, what).toBe(validEnd === bytes.length);
}

describe('LogReader truncation', () => {
  /** Truncates `log` at each of `lengths` and checks the reader yields exactly the records before it. */
  async function checkTruncations(log: BuiltLog, lengths: Iterable<number>, blockSize: number) {
    for (const len of lengths) {
      const { got, error, end } = await readUntilError(log.bytes.subarray(0, len), 'test.log', blockSize);
      const what = `block size ${blockSize}, truncated at ${len}`;
      if (error) throw new Error(`${what}: ${String(error)}`);
      const k = log.ends.filter((e) => e <= len).length;
      expect(got.length, what).toBe(k);
      for (let i = 0; i < k; i++) {
        if (got[i]!.offset !== log.offsets[i] || Buffer.compare(got[i]!.payload, log.payloads[i]!) !== 0) {
          throw new Error(`${what}: record ${i} differs`);
        }
      }
      const lastEnd = k === 0 ? 0 : log.ends[k - 1]!;
      // The valid prefix may also take in the zero padding of a block tail, never more.
      if (end!.validEnd !== lastEnd) {
        expect(end!.validEnd, what).toBeGreaterThan(lastEnd);
        expect(end!.validEnd, what).toBeLessThanOrEqual(len);
        expect(blockSize - (lastEnd % blockSize), what).toBeLessThan(H);
        expect(end!.validEnd - lastEnd, what).toBeLessThan(H);
      }
      expect(end!.fileSize, what).toBe(len);
      expect(end!.clean, what).toBe(end!.validEnd === len);
      if (!end!.clean) expect(end!.tail, what).toBeDefined();
    }
  }

  test('TruncationAtEveryOffsetYieldsExactlyAPrefixOfTheRecords', async () => {
    const rng = seededRng();
    for (const blockSize of [H + 1, 16, 64, 200]) {
      const log = await layoutLog(rng, blockSize, 12);
      const every = Array.from({ length: log.bytes.length + 1 }, (_, i) => i);
      await checkTruncations(log, every, blockSize);
    }
  });

  test('TruncationNearEveryBoundaryOfARealLogYieldsAPrefix', async () => {
    // Real 32 KiB blocks: every offset within 24 bytes of each fragment header, record end and
    // block boundary, plus random offsets (every single offset is covered above on small blocks).
    const rng = seededRng();
    const log = await layoutLog(rng);
    const marks = new Set<number>();
    for (let i = 0; i < log.payloads.length; i++) {
      for (const h of headerOffsets(log, i)) marks.add(h);
      marks.add(log.ends[i]!);
    }
    const lengths = new Set<number>();
    for (const m of marks)
      for (let d = -24; d <= 24; d++) if (m + d >= 0 && m + d <= log.bytes.length) lengths.add(m + d);
    for (let k = 0; k < 300; k++) lengths.add(rng.int(0, log.bytes.length));
    await checkTruncations(
      log,
      [...lengths].sort((a, b) => a - b),
      B,
    );
  });

  test('EmptyFileIsACleanEmptyLog', async () => {
    expect(await readBytes(new Uint8Array(0))).toEqual({ records: [], end: { validEnd: 0, fileSize: 0, clean: true } });
  });

  test('RecordCutInsideItsLastFragmentLeavesTheEarlierRecords', async () => {
    const rng = seededRng();
    const a = rng.bytes(100);
    const big = rng.bytes(2 * B);
    const bytes = concatBytes([fragment(FragmentType.FULL, a)]);
    const vfs = new MemVfs();
    const w = new LogWriter(await vfs.openWritable('l'));
    w.addRecord(a);
    w.addRecord(big);
    await w.close();
    const full = await vfs.readFile('l');
    expect(full.subarray(0, bytes.length)).toEqual(bytes);
    await expectEndAt(full.subarray(0, full.length - 1), 107, [a], 'last byte missing');
    await expectEndAt(full.subarray(0, 2 * B + 3), 107, [a], 'cut in the LAST header');
  });
});

describe('LogReader damage', () => {
  test('FlippedByteAnywhereIsCorruptionUnlessInTheLastRecordOrPadding', async () => {
    // Every byte of multi-block logs in small blocks, flipped with a random mask.
    const rng = seededRng();
    for (const blockSize of [16, 64, 200]) {
      const log = await layoutLog(rng, blockSize, 12);
      const last = log.payloads.length - 1;
      for (let pos = 0; pos < log.bytes.length; pos++) {
        const damaged = flipped(log.bytes, pos, rng.int(1, 255));
        const i = recordAt(log, pos);
        const what = `block size ${blockSize}: byte ${pos} (record ${i}) flipped`;
        if (i < 0) {
          // Zero padding of a block tail, after record p and before record p + 1.
          const p = log.ends.findIndex((e, k) => e <= pos && pos < log.offsets[k + 1]!);
          await expectCorruptionAt(damaged, log.ends[p]!, log.payloads.slice(0, p + 1), what, blockSize);
        } else if (i < last) {
          await expectCorruptionAt(damaged, log.offsets[i]!, log.payloads.slice(0, i), what, blockSize);
        } else {
          await expectEndAt(damaged, log.offsets[last]!, log.payloads.slice(0, last), what, blockSize);
        }
      }
    }
  });

  test('FlippedByteInAnyFragmentOfANonLastRecordIsCorruptionAtTheRecordStart', async () => {
    const rng = seededRng();
    const log = await layoutLog(rng);
    const last = log.payloads.length - 1;
    for (let i = 0; i < last; i++) {
      const positions = new Set<number>();
      for (const h of headerOffsets(log, i)) for (let k = 0; k < H; k++) positions.add(h + k);
      for (let k = 0; k < 12; k++) positions.add(rng.int(log.offsets[i]!, log.ends[i]! - 1));
      for (const pos of positions) {
        const what = `byte ${pos} of record ${i} flipped`;
        expect(recordAt(log, pos), what).toBe(i);
        await expectCorruptionAt(
          flipped(log.bytes, pos, rng.int(1, 255)),
          log.offsets[i]!,
          log.payloads.slice(0, i),
          what,
        );
      }
    }
  });

  test('FlippedByteInALastRecordSpanningBlocksIsTheEndOfTheLog', async () => {
    const rng = seededRng();
    const payloads = [rng.bytes(500), rng.bytes(3 * B)];
    const vfs = new MemVfs();
    const w = new LogWriter(await vfs.openWritable('l'));
    const offsets = payloads.map((p) => w.addRecord(p));
    await w.close();
    const bytes = await vfs.readFile('l');
    const log: BuiltLog = { bytes, payloads, offsets, ends: [offsets[1]!, bytes.length] };
    const positions = new Set<number>();
    for (const h of headerOffsets(log, 1)) for (let k = 0; k < H; k++) positions.add(h + k);
    for (let k = 0; k < 30; k++) positions.add(rng.int(offsets[1]!, bytes.length - 1));
    for (const pos of positions) {
      await expectEndAt(flipped(bytes, pos, rng.int(1, 255)), offsets[1]!, payloads.slice(0, 1), `byte ${pos} flipped`);
    }
  });

  test('NonZeroBlockTrailerFollowedByARecordIsCorruption', async () => {
    const rng = seededRng();
    const log = await layoutLog(rng);
    const padded = log.ends.findIndex((e, i) => log.offsets[i + 1] !== undefined && log.offsets[i + 1] !== e);
    const pad = log.ends[padded]!;
    expect(log.offsets[padded + 1]! - pad).toBe(3);
    for (let k = 0; k < 3; k++) {
      await expectCorruptionAt(
        flipped(log.bytes, pad + k, 0x40),
        pad,
        log.payloads.slice(0, padded + 1),
        `trailer byte ${k}`,
      );
    }
  });

  test('NonZeroBlockTrailerAtTheEndIsTheEndOfTheLog', async () => {
    const a = fill(B - H - 3, 9);
    await expectEndAt(concatBytes([fragment(FragmentType.FULL, a), Uint8Array.of(0, 1, 0)]), B - 3, [a], 'trailer');
  });

  test('ZeroFilledTailIsTheEndOfTheLog', async () => {
    const rng = seededRng();
    const payloads = Array.from({ length: 5 }, () => rng.bytes(rng.int(0, 300)));
    const { bytes } = await buildWith(payloads);
    for (const zeros of [1, 6, 7, 8, 100, B - bytes.length, B - bytes.length + 1, 3 * B]) {
      const damaged = concatBytes([bytes, new Uint8Array(zeros)]);
      const { end } = await readBytes(damaged);
      await expectEndAt(damaged, bytes.length, payloads, `${zeros} zeros`);
      expect(end.tail?.reason).toMatch(zeros < H ? /cut by end of file/ : /zero-filled/);
    }
  });

  test('GarbageTailIsTheEndOfTheLog', async () => {
    const rng = seededRng();
    const payloads = Array.from({ length: 5 }, () => rng.bytes(rng.int(0, 300)));
    const { bytes } = await buildWith(payloads);
    for (let k = 0; k < 30; k++) {
      const damaged = concatBytes([bytes, rng.bytes(rng.int(1, 3 * B))]);
      await expectEndAt(damaged, bytes.length, payloads, `garbage tail ${k}`);
    }
  });

  test('ZeroHoleFollowedByAValidRecordIsCorruption', async () => {
    const rng = seededRng();
    const payloads = Array.from({ length: 5 }, () => rng.bytes(rng.int(20, 300)));
    const { bytes, offsets } = await buildWith(payloads);
    const damaged = bytes.slice();
    damaged.fill(0, offsets[2]!, offsets[3]!);
    await expectCorruptionAt(damaged, offsets[2]!, payloads.slice(0, 2), 'zeroed record 2');
    const { error } = await readUntilError(damaged);
    expect(error!.message).toMatch(/zero-filled space/);
  });

  test('FragmentedRecordWithoutItsLastFragmentFollowedByARecordIsCorruption', async () => {
    const first = fragment(FragmentType.FIRST, fill(B - H, 1));
    const a = utf8('a');
    await expectCorruptionAt(concatBytes([first, fragment(FragmentType.FULL, a)]), 0, [], 'FIRST then FULL');
    const first2 = fragment(FragmentType.FIRST, fill(B - H, 3));
    await expectCorruptionAt(concatBytes([first, first2, fragment(FragmentType.LAST, a)]), 0, [], 'FIRST then FIRST');
    const middle = fragment(FragmentType.MIDDLE, fill(B - H, 2));
    await expectCorruptionAt(concatBytes([first, middle, fragment(FragmentType.FULL, a)]), 0, [], 'FIRST MIDDLE FULL');
  });

  test('FragmentedRecordCutByEndOfFileIsTheEndOfTheLog', async () => {
    const first = fragment(FragmentType.FIRST, fill(B - H, 1));
    const { end } = await readBytes(first);
    expect(end).toMatchObject({
      validEnd: 0,
      clean: false,
      tail: { offset: B, reason: 'end of file inside a fragmented record' },
    });
  });

  test('OrphanMiddleOrLastFragmentIsCorruptionIfARecordFollowsElseTheEnd', async () => {
    const a = utf8('a');
    const full = fragment(FragmentType.FULL, a);
    for (const type of [FragmentType.MIDDLE, FragmentType.LAST]) {
      const orphan = fragment(type, utf8('orphan'));
      await expectCorruptionAt(concatBytes([full, orphan, full]), full.length, [a], `orphan ${type} mid-log`);
      await expectEndAt(concatBytes([full, orphan]), full.length, [a], `orphan ${type} at tail`);
    }
  });

  test('ImpossibleHeadersFollowedByARecordAreCorruption', async () => {
    const a = utf8('a');
    const full = fragment(FragmentType.FULL, a);
    const badType = fragment(FragmentType.FULL, utf8('x'));
    badType[6] = 9;
    await expectCorruptionAt(concatBytes([full, badType, full]), full.length, [a], 'unknown type');
    const tooLong = fragment(FragmentType.FULL, utf8('x'));
    tooLong[4] = 0xff;
    tooLong[5] = 0xff;
    const padTo = (b: Uint8Array, n: number) => concatBytes([b, new Uint8Array(n - b.length)]);
    await expectCorruptionAt(
      concatBytes([padTo(concatBytes([full, tooLong]), B), full]),
      full.length,
      [a],
      'length crosses block',
    );
  });

  test('CorruptionNamesTheFileAndOffsetAndNoBadPayloadIsReturned', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    const f = await vfs.openWritable('db/000005.log');
    const w = new LogWriter(f);
    const offsets = ['one', 'two', 'three'].map((s) => w.addRecord(utf8(s)));
    await w.close();
    const bytes = await vfs.readFile('db/000005.log');
    bytes[offsets[1]! + H]! ^= 0x20; // 'two' -> 'Two'
    const g = await vfs.openWritable('db/000005.log');
    await g.append(bytes);
    await g.close();
    const e = await readLog(vfs, 'db/000005.log').catch((x: unknown) => x as Eau2Error);
    expect(isEau2Error(e, 'CORRUPTION')).toBe(true);
    expect((e as Eau2Error).details).toEqual({ file: 'db/000005.log', offset: offsets[1] });
    expect((e as Eau2Error).message).toContain(`db/000005.log at offset ${offsets[1]}`);
  });

  test('EndIsUnavailableUntilTheRecordsAreRead', () => {
    expect(() => new LogReader(bytesFile(new Uint8Array(0))).end).toThrow(TypeError);
  });
});

async function buildWith(payloads: Uint8Array[]): Promise<{ bytes: Uint8Array; offsets: number[] }> {
  const vfs = new MemVfs();
  const w = new LogWriter(await vfs.openWritable('l'));
  const offsets = payloads.map((p) => w.addRecord(p));
  await w.close();
  return { bytes: await vfs.readFile('l'), offsets };
}

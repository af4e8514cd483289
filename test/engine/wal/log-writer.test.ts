// LogWriter: the byte layout it produces, group commit, ordering of concurrent flushes, sticky errors.

import { describe, expect, test } from 'vitest';
import { concatBytes, utf8 } from '../../../kv/index.js';
import { isEau2Error } from '../../../kv/index.js';
import { ErrorVfs, failOn } from '../../../engine/vfs/error-vfs.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import type { WritableFile } from '../../../engine/vfs/vfs.js';
import { BLOCK_SIZE, FragmentType, HEADER_SIZE } from '../../../engine/wal/log-format.js';
import { readLog } from '../../../engine/wal/log-reader.js';
import { LogWriter } from '../../../engine/wal/log-writer.js';
import { seededRng } from '../vfs/seeded-random.js';
import { buildLog, expectBytes, expectSameBytes, fill, fragment, hex, readBytes } from './log-helpers.js';

const B = BLOCK_SIZE;
const H = HEADER_SIZE;

describe('LogWriter layout', () => {
  test('WorkedExampleMatchesDocsFormatSection3', async () => {
    // The annotated hex in docs/format.md §3 is this log.
    const log = await buildLog([utf8('eau2'), new Uint8Array(0)]);
    // CRCs cross-checked with an independent bitwise CRC-32C (0xe3069283 for "123456789").
    expect(hex(log.bytes)).toBe('7419510b' + '0400' + '01' + '65617532' + '052b2843' + '0000' + '01');
    expect(log.offsets).toEqual([0, 11]);
  });

  test('SmallRecordIsOneFullFragment', async () => {
    const payload = utf8('hello');
    const log = await buildLog([payload]);
    expect(log.bytes).toEqual(fragment(FragmentType.FULL, payload));
  });

  test('RecordFillingABlockExactlyIsOneFullFragmentAndTheNextStartsTheNextBlock', async () => {
    const a = fill(B - H, 0xaa);
    const log = await buildLog([a, utf8('b')]);
    expectBytes(log.bytes.subarray(0, B), fragment(FragmentType.FULL, a));
    expect(log.offsets).toEqual([0, B]);
    expect(log.bytes.subarray(B)).toEqual(fragment(FragmentType.FULL, utf8('b')));
  });

  test('BlockTailShorterThanAHeaderIsZeroPadded', async () => {
    for (let tail = 1; tail < H; tail++) {
      const a = fill(B - H - tail, 1);
      const log = await buildLog([a, utf8('next')]);
      expect(log.offsets[1], `tail ${tail}`).toBe(B);
      expect(log.bytes.subarray(B - tail, B)).toEqual(new Uint8Array(tail));
      expect(log.bytes.subarray(B)).toEqual(fragment(FragmentType.FULL, utf8('next')));
    }
  });

  test('BlockTailOfExactlyAHeaderGetsAnEmptyFirstFragment', async () => {
    const a = fill(B - 2 * H, 1);
    const b = utf8('spill');
    const log = await buildLog([a, b]);
    expect(log.offsets[1]).toBe(B - H);
    expect(log.bytes.subarray(B - H, B)).toEqual(fragment(FragmentType.FIRST, new Uint8Array(0)));
    expect(log.bytes.subarray(B)).toEqual(fragment(FragmentType.LAST, b));
  });

  test('LargeRecordIsFirstMiddlesLast', async () => {
    const rng = seededRng();
    const p = rng.bytes(3 * B);
    const log = await buildLog([p]);
    const cap = B - H;
    expectBytes(
      log.bytes,
      concatBytes([
        fragment(FragmentType.FIRST, p.subarray(0, cap)),
        fragment(FragmentType.MIDDLE, p.subarray(cap, 2 * cap)),
        fragment(FragmentType.MIDDLE, p.subarray(2 * cap, 3 * cap)),
        fragment(FragmentType.LAST, p.subarray(3 * cap)),
      ]),
    );
  });

  test('OffsetTracksTheFileLengthAndPendingBytesTheUnflushedPart', async () => {
    const vfs = new MemVfs();
    const w = new LogWriter(await vfs.openWritable('l'));
    expect(w.addRecord(utf8('abc'))).toBe(0);
    expect(w.pendingBytes()).toBe(10);
    expect(w.addRecord(utf8('de'))).toBe(10);
    expect(w.offset()).toBe(19);
    await w.flush();
    expect(w.pendingBytes()).toBe(0);
    expect(await vfs.fileSize('l')).toBe(19);
  });
});

describe('LogWriter round trips', () => {
  test('RecordsOfAllSizesRoundTrip', async () => {
    const rng = seededRng();
    const sizes = [0, 1, 7, 100, B - H - 1, B - H, B - H + 1, B - 1, B, B + 1, 2 * (B - H), 2 * B, 3 * B + 17, 100_000];
    for (let i = 0; i < 60; i++) sizes.push(rng.int(0, rng.pick([10, 1000, B, 3 * B])));
    for (let i = sizes.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [sizes[i], sizes[j]] = [sizes[j]!, sizes[i]!];
    }
    const payloads = sizes.map((n) => rng.bytes(n));
    const vfs = new MemVfs();
    const w = new LogWriter(await vfs.openWritable('000001.log'));
    const offsets: number[] = [];
    for (const p of payloads) {
      offsets.push(w.addRecord(p));
      if (rng.next() < 0.3) await w.flush();
    }
    await w.close();
    const { records, end } = await readLog(vfs, '000001.log');
    expectSameBytes(
      records.map((r) => r.payload),
      payloads,
    );
    expect(records.map((r) => r.offset)).toEqual(offsets);
    expect(end).toEqual({ validEnd: w.offset(), fileSize: w.offset(), clean: true });
  });

  test('RecordGivenAsARangeOfABufferHoldsExactlyThatRange', async () => {
    // The engine passes a batch's place in the memtable arena, not a view of it.
    const rng = seededRng();
    const arena = rng.bytes(3 * B);
    const ranges: Array<[number, number]> = [
      [5, 5],
      [3, 120],
      [100, 100 + 256],
      [7, 7 + 257],
      [B - 40, B + 900],
      [11, 11 + 2 * B + 3],
    ];
    const vfs = new MemVfs();
    const w = new LogWriter(await vfs.openWritable('000001.log'));
    for (const [from, to] of ranges) w.addRecord(arena, from, to);
    await w.close();
    const { records } = await readLog(vfs, '000001.log');
    expectSameBytes(
      records.map((r) => r.payload),
      ranges.map(([from, to]) => arena.subarray(from, to)),
    );
  });

  test('ContinuingALogAtItsEndKeepsBlockAlignment', async () => {
    const rng = seededRng();
    for (const firstSize of [10, B - H - 3, B - 2 * H, B - H, 2 * B]) {
      const vfs = new MemVfs();
      const a = rng.bytes(firstSize);
      const w1 = new LogWriter(await vfs.openWritable('l'));
      w1.addRecord(a);
      await w1.close();
      const w2 = new LogWriter(await vfs.openWritable('l', { append: true }));
      const b = rng.bytes(rng.int(0, 2 * B));
      w2.addRecord(b);
      w2.addRecord(utf8('c'));
      await w2.close();
      const { records, end } = await readLog(vfs, 'l');
      expectSameBytes(
        records.map((r) => r.payload),
        [a, b, utf8('c')],
        `first record of ${firstSize}`,
      );
      expect(end.clean).toBe(true);
    }
  });
});

describe('LogWriter I/O', () => {
  test('GroupCommitIsOneAppendAndOneSync', async () => {
    const vfs = new ErrorVfs(new MemVfs());
    const w = new LogWriter(await vfs.openWritable('000003.log'));
    vfs.resetCounts();
    for (let i = 0; i < 10; i++) w.addRecord(utf8(`batch ${i}`));
    const flushed = w.flush();
    const synced = w.sync();
    await Promise.all([flushed, synced]);
    expect(vfs.count('append')).toBe(1);
    expect(vfs.count('sync')).toBe(1);
  });

  test('EmptyFlushDoesNoIo', async () => {
    const vfs = new ErrorVfs(new MemVfs());
    const w = new LogWriter(await vfs.openWritable('l'));
    await w.flush();
    expect(vfs.count('append')).toBe(0);
  });

  test('ConcurrentFlushesNeverOverlapAndKeepCallOrder', async () => {
    const rng = seededRng();
    const chunks: Uint8Array[] = [];
    let active = 0;
    let maxActive = 0;
    const events: string[] = [];
    const file: WritableFile = {
      path: 'slow.log',
      size: () => 0,
      append: async (data) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, rng.int(0, 3)));
        chunks.push(data.slice());
        events.push('append');
        active--;
      },
      appendSync: () => {
        throw new Error('not used');
      },
      sync: async () => {
        events.push('sync');
      },
      close: async () => undefined,
    };
    const w = new LogWriter(file);
    const payloads: Uint8Array[] = [];
    const done: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      const n = rng.int(1, 3);
      for (let j = 0; j < n; j++) {
        const p = rng.bytes(rng.int(0, 5000));
        payloads.push(p);
        w.addRecord(p);
      }
      done.push(w.flush());
      if (i === 20) {
        // A sync issued now must wait for the 21 appends before it.
        done.push(w.sync().then(() => void events.push(`synced after ${chunks.length}`)));
      }
    }
    await Promise.all(done);
    expect(maxActive).toBe(1);
    expect(events).toContain('synced after 21');
    expect(events.indexOf('sync')).toBe(21);
    const { records } = await readBytes(concatBytes(chunks));
    expectSameBytes(
      records.map((r) => r.payload),
      payloads,
    );
  });

  test('FlushSyncWritesAtOnceWithOneAppend', async () => {
    const mem = new MemVfs();
    const vfs = new ErrorVfs(mem);
    const w = new LogWriter(await vfs.openWritable('l'));
    w.addRecord(utf8('a'));
    w.addRecord(utf8('b'));
    w.flushSync();
    expect(vfs.count('append')).toBe(1);
    expect(await mem.fileSize('l')).toBe(16);
    await w.sync();
    expect((await readLog(mem, 'l')).records.length).toBe(2);
  });

  test('FlushSyncWhileAnAsyncFlushIsInFlightIsRefused', async () => {
    const w = new LogWriter(await new MemVfs().openWritable('l'));
    w.addRecord(utf8('a'));
    const p = w.flush();
    w.addRecord(utf8('b'));
    expect(() => w.flushSync()).toThrow(TypeError);
    await p;
    w.flushSync();
  });

  test('AFailedAppendIsStickyAndNothingIsWrittenAfterIt', async () => {
    const mem = new MemVfs();
    const vfs = new ErrorVfs(mem);
    const w = new LogWriter(await vfs.openWritable('l'));
    w.addRecord(utf8('first'));
    await w.flush();
    vfs.rule = failOn('append', undefined, { times: 1 });
    w.addRecord(utf8('lost'));
    const failed = w.flush();
    w.addRecord(utf8('queued behind the failure'));
    const queued = w.flush();
    const e1 = await failed.catch((e: unknown) => e);
    const e2 = await queued.catch((e: unknown) => e);
    expect(isEau2Error(e1, 'IO')).toBe(true);
    expect(e2).toBe(e1);
    expect(() => w.addRecord(utf8('x'))).toThrow(e1 as Error);
    await expect(w.sync()).rejects.toBe(e1);
    await expect(w.flush()).rejects.toBe(e1);
    expect((await readLog(mem, 'l')).records.map((r) => r.payload)).toEqual([utf8('first')]);
    await w.close();
  });

  test('AFailedSyncIsSticky', async () => {
    const vfs = new ErrorVfs(new MemVfs(), failOn('sync', undefined, { times: 1 }));
    const w = new LogWriter(await vfs.openWritable('l'));
    w.addRecord(utf8('a'));
    await w.flush();
    const e = await w.sync().catch((x: unknown) => x);
    expect(isEau2Error(e, 'IO')).toBe(true);
    await expect(w.sync()).rejects.toBe(e);
    await expect(w.flush()).rejects.toBe(e);
  });

  test('CloseFlushesWhatIsPendingAndClosesTheFile', async () => {
    const mem = new MemVfs();
    const vfs = new ErrorVfs(mem);
    const w = new LogWriter(await vfs.openWritable('l'));
    w.addRecord(utf8('a'));
    await w.close();
    expect(vfs.count('close')).toBe(1);
    expect((await readLog(mem, 'l')).records.length).toBe(1);
    expect(() => w.addRecord(utf8('b'))).toThrow(/closed/);
  });
});

describe('LogWriter spillBytes', () => {
  test('GroupOfLargeRecordsNeverBuffersMoreThanSpillBytesAndReadsBackTheSameAsOneAppend', async () => {
    const rng = seededRng();
    const spill = 64 * 1024;
    const payloads = Array.from({ length: 40 }, () =>
      rng.bytes(rng.next() < 0.3 ? rng.int(1, 50) : rng.int(10_000, 300_000)),
    );
    const vfs = new MemVfs();
    const w = new LogWriter(await vfs.openWritable('s.log'), 0, undefined, spill);
    const plain = new LogWriter(await vfs.openWritable('p.log'));
    const offsets: number[] = [];
    // One group commit: every record added, then one flushSync.
    for (const p of payloads) {
      offsets.push(w.addRecord(p));
      expect(w.pendingBytes()).toBeLessThanOrEqual(spill);
      expect(plain.addRecord(p)).toBe(offsets[offsets.length - 1]);
    }
    expect(plain.pendingBytes()).toBeGreaterThan(spill);
    w.flushSync();
    plain.flushSync();
    await w.close();
    await plain.close();
    const spilled = await vfs.readFile('s.log');
    expectBytes(spilled, await vfs.readFile('p.log'), 'spilled log vs one append');
    const { records } = await readBytes(spilled);
    expect(records.map((r) => r.offset)).toEqual(offsets);
    expectSameBytes(
      records.map((r) => r.payload),
      payloads,
    );
  });

  test('FailedSpillIsStickyLikeAFailedFlush', async () => {
    const mem = new MemVfs();
    const vfs = new ErrorVfs(mem);
    const w = new LogWriter(await vfs.openWritable('l'), 0, undefined, 1024);
    w.addRecord(fill(500, 1));
    vfs.rule = failOn('append', undefined, { times: 1 });
    expect(() => w.addRecord(fill(2000, 2))).toThrow();
    expect(() => w.addRecord(utf8('x'))).toThrow();
    expect(() => w.flushSync()).toThrow();
  });
});

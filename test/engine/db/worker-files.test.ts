// On node's filesystem the background worker reads compaction inputs and writes flushed and
// compacted tables itself (engine/compaction/table-files.ts). These tests check that the tables it
// writes are the ones the in-memory path would build, that outputs beyond the reserved file
// numbers come back as bytes, and that an engine working this way keeps every write across reopens.

import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../engine/index.js';
import { nodeVfs } from '../../../engine/vfs/node-vfs.js';
import { TableBuilder } from '../../../engine/table/table-builder.js';
import { Kind } from '../../../engine/format/internal-key.js';
import { runCompactionJob, type CompactionJob } from '../../../engine/compaction/compaction-job.js';
import { runCompaction, runFlush } from '../../../engine/compaction/table-files.js';
import {
  buildFlushTable,
  EntryBufferWriter,
  ENTRY_BUFFER_OVERHEAD,
  type FlushJob,
} from '../../../engine/compaction/flush-job.js';
import { seededRng, BASE_SEED } from '../vfs/seeded-random.js';

const root = mkdtempSync(join(tmpdir(), 'eau2-wfiles-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const enc = new TextEncoder();
const dec = new TextDecoder();

function table(keys: string[], firstSeq: number): Uint8Array {
  const b = new TableBuilder({ blockSize: 256, bitsPerKey: 10 });
  keys.forEach((k, i) => b.add(enc.encode(k), firstSeq + i, Kind.VALUE, enc.encode(`v${k}`.repeat(4))));
  return b.finish();
}

describe('compaction with worker-side file I/O', () => {
  test('outputs written to reserved numbers equal the in-memory outputs; the rest come back as bytes', async () => {
    const dir = mkdtempSync(join(root, 'job-'));
    const a = Array.from({ length: 600 }, (_, i) => `a${String(i * 2).padStart(5, '0')}`);
    const b = Array.from({ length: 600 }, (_, i) => `a${String(i * 2 + 1).padStart(5, '0')}`);
    writeFileSync(join(dir, '000001.sst'), table(a, 1));
    writeFileSync(join(dir, '000002.sst'), table(b, 1000));
    const base = { smallestSnapshot: 5000, bottommost: true, targetFileSize: 4096, blockSize: 256, bitsPerKey: 10 };
    const inputs = [1, 2].map((n) => ({ number: n, path: join(dir, `00000${n}.sst`) }));
    const inMemory = runCompactionJob({
      ...base,
      inputs: inputs.map((i) => ({ ...i, bytes: readFileSync(i.path) })),
    });
    expect(inMemory.outputs.length).toBeGreaterThan(2);
    const job: CompactionJob = { ...base, inputs, files: { dir, outputNumbers: [7, 8] } };
    const r = await runCompaction(job, nodeVfs);
    expect(r.outputs.length).toBe(inMemory.outputs.length);
    expect(r.entriesIn).toBe(1200);
    r.outputs.forEach((out, i) => {
      const want = inMemory.outputs[i]!;
      expect(out.size).toBe(want.bytes!.length);
      expect(out.smallest).toEqual(want.smallest);
      expect(out.largest).toEqual(want.largest);
      if (i < 2) {
        expect(out.number).toBe(7 + i);
        expect(out.bytes).toBeUndefined();
        expect(new Uint8Array(readFileSync(join(dir, `00000${7 + i}.sst`)))).toEqual(want.bytes);
      } else {
        expect(out.number).toBeUndefined();
        expect(out.bytes).toEqual(want.bytes);
      }
    });
  });

  test('an engine whose worker writes its tables keeps every write across compactions and reopens', async () => {
    const seed = BASE_SEED + 300;
    const rng = seededRng(seed);
    const dir = join(root, 'db');
    const opts = { memtableBytes: 16 * 1024, targetFileSize: 8 * 1024, level1Bytes: 32 * 1024, blockSize: 512 };
    const model = new Map<string, string>();
    let db = await Engine.open(dir, opts);
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 3000; i++) {
          const k = `k${String(rng.int(0, 1999)).padStart(5, '0')}`;
          if (rng.next() < 0.1) {
            await db.del(k);
            model.delete(k);
          } else {
            const v = `${round}-${i}-${'x'.repeat(rng.int(0, 60))}`;
            await db.put(k, v);
            model.set(k, v);
          }
        }
        if (round === 1) await db.compactRange();
        await db.close();
        db = await Engine.open(dir, opts);
        const got = new Map<string, string>();
        for await (const [k, v] of db.iterator({})) got.set(dec.decode(k), dec.decode(v));
        expect(got, `seed ${seed}, round ${round}`).toEqual(model);
      }
      expect(db.stats().levels.reduce((n, l) => n + l.files, 0)).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  test('a flush written as it is built is byte for byte the in-memory table, and a failed write is IO', async () => {
    const rng = seededRng(BASE_SEED + 301);
    const dir = mkdtempSync(join(root, 'flush-'));
    const entries = Array.from({ length: 500 }, (_, i) => ({
      key: enc.encode(`f${String(i).padStart(5, '0')}`),
      // Small values, and some of a block each beyond the sink's 1 MiB buffer.
      value: rng.bytes(i % 97 === 0 ? rng.int(1 << 20, 1.5 * (1 << 20)) : rng.int(0, 3000)),
    }));
    const w = new EntryBufferWriter(
      entries.reduce((n, e) => n + e.key.length + e.value.length + ENTRY_BUFFER_OVERHEAD, 0),
    );
    entries.forEach((e, i) => w.addAt(i + 1, Kind.VALUE, e.key, 0, e.key.length, e.value, 0, e.value.length));
    const job: FlushJob = { entries: w.finish(), count: w.count, blockSize: 4096, bitsPerKey: 10 };
    const want = buildFlushTable(job);
    const path = join(dir, '000009.sst');
    const r = await runFlush({ ...job, path }, nodeVfs);
    expect(r.bytes).toBeUndefined();
    expect(r.size).toBe(want.bytes.length);
    expect(r.smallest).toEqual(want.smallest);
    expect(r.largest).toEqual(want.largest);
    expect(Buffer.from(readFileSync(path)).equals(want.bytes)).toBe(true);
    // /dev/full refuses every write with ENOSPC.
    await expect(runFlush({ ...job, path: '/dev/full' }, nodeVfs)).rejects.toMatchObject({ code: 'IO' });
    await expect(runFlush({ ...job, path: join(dir, 'missing', 'x.sst') }, nodeVfs)).rejects.toMatchObject({
      code: 'IO',
    });
  });

  test('inputs read through readahead windows merge exactly as whole inputs do, and a damaged one is CORRUPTION', async () => {
    const rng = seededRng(BASE_SEED + 302);
    const dir = mkdtempSync(join(root, 'readahead-'));
    const build = (first: number, n: number, seq: number): Uint8Array => {
      const b = new TableBuilder({ blockSize: 4096, bitsPerKey: 10 });
      for (let i = 0; i < n; i++) {
        // Small values, and some blocks larger than the 1 MiB window.
        const v = rng.bytes(i % 40 === 0 ? rng.int(1 << 20, 1.4 * (1 << 20)) : rng.int(0, 5000));
        b.add(enc.encode(`r${String(first + 2 * i).padStart(6, '0')}`), seq + i, Kind.VALUE, v);
      }
      return b.finish();
    };
    writeFileSync(join(dir, '000001.sst'), build(0, 300, 1));
    writeFileSync(join(dir, '000002.sst'), build(1, 300, 1000));
    const base = { smallestSnapshot: 5000, bottommost: true, targetFileSize: 2 << 20, blockSize: 4096, bitsPerKey: 10 };
    const inputs = [1, 2].map((n) => ({ number: n, path: join(dir, `00000${n}.sst`) }));
    const inMemory = runCompactionJob({ ...base, inputs: inputs.map((i) => ({ ...i, bytes: readFileSync(i.path) })) });
    const r = await runCompaction({ ...base, inputs, files: { dir, outputNumbers: [] } }, nodeVfs);
    expect(r.bytesRead).toBe(inMemory.bytesRead);
    expect(r.outputs.length).toBe(inMemory.outputs.length);
    r.outputs.forEach((out, i) =>
      expect(Buffer.from(out.bytes!).equals(inMemory.outputs[i]!.bytes!), `output ${i}`).toBe(true),
    );
    // A flipped byte in a data block of an input: the merge fails, it never writes bad data.
    const damaged = readFileSync(inputs[1]!.path);
    damaged[20_000]! ^= 0x04;
    writeFileSync(inputs[1]!.path, damaged);
    await expect(runCompaction({ ...base, inputs, files: { dir, outputNumbers: [9] } }, nodeVfs)).rejects.toMatchObject(
      {
        code: 'CORRUPTION',
      },
    );
  });
});

describe('the worker starts before the first flush', () => {
  test('not for writes far below a memtable; once the memtable is half full, before any flush', async () => {
    const dir = mkdtempSync(join(root, 'warm-'));
    const memtableBytes = 256 * 1024;
    const db = await Engine.open(dir, { memtableBytes });
    try {
      await db.put('small', 'x');
      expect(db.db.bg.workerStarted).toBe(false);
      // Just under half: still no thread.
      await db.put('a', new Uint8Array(memtableBytes / 2 - 4096));
      expect(db.db.bg.workerStarted).toBe(false);
      await db.put('b', new Uint8Array(8192));
      expect(db.db.bg.workerStarted).toBe(true);
      expect(db.stats().flushes).toBe(0);
      // The warmed worker takes the flush, and the data reads back across a reopen.
      await db.put('c', new Uint8Array(memtableBytes));
      await db.put('d', 'after');
      await db.compactRange();
      expect(db.stats().flushes).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
    const again = await Engine.open(dir, { memtableBytes });
    try {
      expect((await again.get('c'))?.length).toBe(memtableBytes);
      expect(dec.decode(await again.get('d'))).toBe('after');
    } finally {
      await again.close();
    }
  });
});

describe('flush entry buffers come back from the worker', () => {
  test('later flushes copy into them, over the bytes of larger earlier flushes, and every value reads back', async () => {
    const rng = seededRng(BASE_SEED + 16);
    const dir = mkdtempSync(join(root, 'reuse-'));
    const memtableBytes = 128 * 1024;
    const want = new Map<string, Uint8Array>();
    const db = await Engine.open(dir, { memtableBytes });
    try {
      // Memtables of shrinking values: each flush's entries end before the previous one's did.
      for (let round = 0; round < 6; round++) {
        const size = 9000 - round * 1200;
        for (let i = 0; i < 20; i++) {
          const k = `r${round}-${String(i).padStart(3, '0')}`;
          const v = rng.bytes(size);
          want.set(k, v);
          await db.put(k, v);
        }
        await db.compactRange(); // a flush per round (and whatever compaction follows)
      }
      expect(db.db.bg.entryBuffersReused).toBeGreaterThan(0);
      for (const [k, v] of want) expect(Buffer.from((await db.get(k))!).equals(Buffer.from(v)), k).toBe(true);
    } finally {
      await db.close();
    }
    const again = await Engine.open(dir, { memtableBytes });
    try {
      for (const [k, v] of want) expect(Buffer.from((await again.get(k))!).equals(Buffer.from(v)), k).toBe(true);
    } finally {
      await again.close();
    }
  });
});

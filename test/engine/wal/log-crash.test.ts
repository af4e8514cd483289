// The WAL under simulated power cuts: whatever a crash leaves, recovery reads a prefix of what was
// written that holds every record synced before the crash, and never raises an error.

import { describe, expect, test } from 'vitest';
import { isEau2Error } from '../../../kv/index.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import { BLOCK_SIZE } from '../../../engine/wal/log-format.js';
import { readLog } from '../../../engine/wal/log-reader.js';
import { LogWriter } from '../../../engine/wal/log-writer.js';
import { seededRng, type Rng } from '../vfs/seeded-random.js';
import { expectBytes, expectSameBytes } from './log-helpers.js';

const LOG = 'db/000001.log';

/** Group commits of random records; returns what was written and how many records were synced. */
async function workload(vfs: MemVfs, rng: Rng) {
  await vfs.mkdirp('db');
  const w = new LogWriter(await vfs.openWritable(LOG));
  await vfs.syncDir('db');
  const written: Uint8Array[] = [];
  let synced = 0;
  const groups = rng.int(1, 12);
  for (let g = 0; g < groups; g++) {
    for (let k = rng.int(1, 5); k > 0; k--) {
      const p = rng.bytes(rng.pick([0, rng.int(1, 100), rng.int(100, 5000), rng.int(BLOCK_SIZE, 2 * BLOCK_SIZE)]));
      written.push(p);
      w.addRecord(p);
    }
    await w.flush();
    if (rng.next() < 0.4) {
      await w.sync();
      synced = written.length;
    }
  }
  return { w, written, synced };
}

describe('WAL crash recovery', () => {
  test('TornCrashLeavesAPrefixHoldingEverySyncedRecord', async () => {
    const rng = seededRng();
    let partial = 0;
    for (let i = 0; i < 60; i++) {
      const vfs = new MemVfs({ tornWrites: true, seed: rng.int(1, 2 ** 31) });
      const { written, synced } = await workload(vfs, rng);
      vfs.crash();
      const { records, end } = await readLog(vfs, LOG);
      const what = `iteration ${i}: ${records.length} of ${written.length} read, ${synced} synced`;
      expect(records.length, what).toBeGreaterThanOrEqual(synced);
      expectSameBytes(
        records.map((r) => r.payload),
        written.slice(0, records.length),
        what,
      );
      if (records.length > synced && records.length < written.length) partial++;
      expect(end.validEnd, what).toBeLessThanOrEqual(end.fileSize);
    }
    expect(partial, 'some crashes kept part of the unsynced tail').toBeGreaterThan(0);
  });

  test('ZeroFilledSpaceAfterACrashIsTheEndOfTheLog', async () => {
    // Some filesystems persist a file's new size before its data: the tail reads back as zeros.
    const rng = seededRng();
    for (let i = 0; i < 20; i++) {
      const vfs = new MemVfs({ tornWrites: true, seed: rng.int(1, 2 ** 31) });
      const { written, synced } = await workload(vfs, rng);
      vfs.crash();
      const f = await vfs.openWritable(LOG, { append: true });
      await f.append(new Uint8Array(rng.int(1, 2 * BLOCK_SIZE)));
      await f.close();
      const { records } = await readLog(vfs, LOG);
      expect(records.length).toBeGreaterThanOrEqual(synced);
      expectSameBytes(
        records.map((r) => r.payload),
        written.slice(0, records.length),
      );
    }
  });

  test('AWriterFromBeforeACrashCannotWriteIntoTheRecoveredLog', async () => {
    const rng = seededRng();
    const vfs = new MemVfs();
    const { w } = await workload(vfs, rng);
    await w.sync();
    vfs.crash();
    const before = await vfs.readFile(LOG);
    w.addRecord(new Uint8Array(10));
    const e = await w.flush().catch((x: unknown) => x);
    expect(isEau2Error(e, 'IO')).toBe(true);
    expectBytes(await vfs.readFile(LOG), before);
  });

  test('ACleanLogCanBeContinuedAfterRecovery', async () => {
    const rng = seededRng();
    const vfs = new MemVfs();
    const { w, written } = await workload(vfs, rng);
    await w.sync();
    vfs.crash();
    const { end } = await readLog(vfs, LOG);
    expect(end.clean).toBe(true);
    const w2 = new LogWriter(await vfs.openWritable(LOG, { append: true }));
    const more = rng.bytes(40_000);
    w2.addRecord(more);
    await w2.flush();
    await w2.sync();
    vfs.crash();
    const { records } = await readLog(vfs, LOG);
    expectSameBytes(
      records.map((r) => r.payload),
      [...written, more],
    );
  });
});

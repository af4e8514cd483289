// When the memtable switches, the retired log's unsynced tail is fdatasynced in the background
// while writers go on in the new log (db-impl.ts switchMemtable). A power cut in that window can
// keep records of the new log and lose the end of the old one. These tests hold every sync except
// the newest log's, cut the power there, and check that recovery stops at the gap (the database is
// a prefix of the writes) and that a synced write is not acknowledged before the old log is synced.

import { describe, expect, test } from 'vitest';
import { Engine } from '../../../engine/index.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import type { FileLock, RandomAccessFile, Vfs, WritableFile } from '../../../engine/vfs/vfs.js';
import { BASE_SEED } from '../vfs/seeded-random.js';

const dec = new TextDecoder();

/** A MemVfs whose file syncs wait, while held, unless they are of the newest log file. */
class HeldSyncVfs implements Vfs {
  private newestLog = '';
  /** Every file sync takes at least this long (a slow disk). */
  syncDelayMs = 0;
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;
  constructor(readonly inner: MemVfs) {}
  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.open?.();
    this.gate = null;
  }
  private wait(path: string): Promise<void> {
    return path !== this.newestLog && this.gate ? this.gate : Promise.resolve();
  }
  mkdirp(dir: string): Promise<void> {
    return this.inner.mkdirp(dir);
  }
  readdir(dir: string): Promise<string[]> {
    return this.inner.readdir(dir);
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  fileSize(path: string): Promise<number> {
    return this.inner.fileSize(path);
  }
  openRandom(path: string): Promise<RandomAccessFile> {
    return this.inner.openRandom(path);
  }
  async openWritable(path: string, opts?: { append?: boolean }): Promise<WritableFile> {
    const f = await this.inner.openWritable(path, opts);
    if (path.endsWith('.log')) this.newestLog = path;
    const wait = async (): Promise<void> => {
      if (this.syncDelayMs > 0) await new Promise((r) => setTimeout(r, this.syncDelayMs));
      await this.wait(path);
    };
    return {
      path: f.path,
      size: () => f.size(),
      append: (d) => f.append(d),
      appendSync: (d) => f.appendSync(d),
      sync: async () => {
        await wait();
        await f.sync();
      },
      close: () => f.close(),
    };
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.inner.readFile(path);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  // Directory syncs go through: the new log must exist after the cut for its records to survive.
  syncDir(dir: string): Promise<void> {
    return this.inner.syncDir(dir);
  }
  lock(path: string): Promise<FileLock> {
    return this.inner.lock(path);
  }
}

const options = { memtableBytes: 2048, blockSize: 256, compactionWorker: false };
const key = (i: number) => `k${String(i).padStart(6, '0')}`;
const value = (i: number) => `value-${i}-${'x'.repeat(30)}`;

describe('retired logs synced in the background', () => {
  test('a power cut before the old log is synced leaves a prefix; a synced write waits for the old log', async () => {
    let gaps = 0;
    for (let t = 0; t < 24; t++) {
      const seed = BASE_SEED * 1000 + 700 + t;
      const mem = new MemVfs();
      const vfs = new HeldSyncVfs(mem);
      const db = await Engine.open('/db', { ...options, vfs });
      vfs.hold();
      // ~19 entries per memtable: two switches, and the third memtable part full (a third switch
      // would stop writers until a flush, which the held syncs do not let finish).
      const n = 45;
      for (let i = 0; i < n; i++) await db.put(key(i), value(i));
      let syncedAcked = false;
      const synced = db.put(key(n), value(n), { sync: true }).then(() => void (syncedAcked = true));
      for (let w = 0; w < 5; w++) await new Promise((r) => setImmediate(r));
      expect(syncedAcked, `a synced write was acknowledged before the earlier logs were synced (seed ${seed})`).toBe(
        false,
      );
      const image = mem.crashImage({ torn: true, seed });
      vfs.release();
      await synced;
      await db.close();

      const re = await Engine.open('/db', { ...options, vfs: image });
      const present: number[] = [];
      for await (const [k, v] of re.iterator()) {
        const i = Number(dec.decode(k).slice(1));
        expect(dec.decode(v)).toBe(value(i));
        present.push(i);
      }
      await re.close();
      present.forEach((i, idx) => expect(i, `write ${idx} missing: a hole in the history (seed ${seed})`).toBe(idx));
      if (present.length < n) gaps++;
    }
    // The cuts must have lost unsynced writes at least sometimes, or the test proves nothing.
    expect(gaps).toBeGreaterThan(3);
  });

  test('a retired log that lost every record is a gap too; the logs after it are never replayed again', async () => {
    for (let t = 0; t < 4; t++) {
      const mem = new MemVfs();
      const vfs = new HeldSyncVfs(mem);
      const db = await Engine.open('/db', { ...options, vfs });
      vfs.hold();
      // Two switches: the first two logs hold only unsynced records, the newest one a synced write.
      const n = 40 + t;
      for (let i = 0; i < n; i++) await db.put(key(i), value(i));
      const synced = db.put(key(n), value(n), { sync: true });
      for (let w = 0; w < 5; w++) await new Promise((r) => setImmediate(r));
      // Not torn: every unsynced byte is lost, so the log the manifest names replays nothing while
      // the newest log's records survive. Keeping those would be a hole.
      const image = mem.crashImage({ torn: false });
      vfs.release();
      await synced;
      await db.close();

      const logsBefore = (await image.readdir('/db')).filter((f) => f.endsWith('.log')).length;
      expect(logsBefore, `trial ${t}: the cut must leave several logs`).toBeGreaterThanOrEqual(3);
      const re = await Engine.open('/db', { ...options, vfs: image });
      let count = 0;
      for await (const _ of re.iterator()) count++;
      expect(count, `trial ${t}: keys after a lost log (a hole in the history)`).toBe(0);
      expect(re.stats().walGapsRecovered, `trial ${t}`).toBe(1);
      // The dropped logs are obsolete: the new log's number is above every file on disk, so none of
      // them is reused (truncated) or left where a later recovery would replay it.
      const logsAfter = (await image.readdir('/db')).filter((f) => f.endsWith('.log'));
      expect(logsAfter, `trial ${t}: only the new log is left`).toHaveLength(1);
      // The history goes on from the gap: new writes, a clean close, and a reopen that must not
      // replay the dropped log's records (nor trip over their sequence numbers).
      for (let i = 0; i < 30; i++) await re.put(key(1000 + i), value(1000 + i));
      await re.close();
      const again = await Engine.open('/db', { ...options, vfs: image });
      const seen: number[] = [];
      for await (const [k] of again.iterator()) seen.push(Number(dec.decode(k).slice(1)));
      await again.close();
      expect(seen, `trial ${t}`).toEqual(Array.from({ length: 30 }, (_, i) => 1000 + i));
    }
  });

  test('compactRange switching while a synced write awaits its sync keeps that write', async () => {
    for (let t = 0; t < 5; t++) {
      const mem = new MemVfs();
      const vfs = new HeldSyncVfs(mem);
      vfs.syncDelayMs = 5;
      const db = await Engine.open('/db', { ...options, vfs });
      for (let i = 0; i < 5 + t; i++) await db.put(key(i), value(i));
      const n = 5 + t;
      // The switch must not move the synced write's entries into the next memtable while its
      // record sits in the log that the flush of the current one makes obsolete.
      const synced = db.put(key(n), value(n), { sync: true });
      const compacted = db.compactRange();
      await Promise.all([synced, compacted]);
      const image = mem.crashImage({ torn: false });
      await db.close();
      const re = await Engine.open('/db', { ...options, vfs: image });
      const got = re.getSync(key(n));
      await re.close();
      expect(got === undefined ? undefined : dec.decode(got), `synced write ${n} lost (trial ${t})`).toBe(value(n));
    }
  });
});

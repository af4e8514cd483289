// A full disk: writes are refused cleanly while it lasts (a refused write is never visible, not even
// after a crash), the engine says it is degraded, and writes resume by themselves once there is room
// (RocksDB's auto-recovery), whether the WAL, a flush or the manifest ran out of space.

import { describe, expect, test } from 'vitest';
import { Engine } from '../../../engine/index.js';
import { ErrorVfs, type FaultRule } from '../../../engine/vfs/error-vfs.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import { BASE_SEED, seededRng } from '../vfs/seeded-random.js';

const dec = new TextDecoder();

function enospc(written = 0): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', written });
}

/** Fails `op` on files matching `re` with ENOSPC (after `written` bytes for appends) while `full()`. */
function fullDisk(full: () => boolean, ops: string[], re: RegExp, written = 0): FaultRule {
  return (op, path) => (full() && ops.includes(op) && re.test(path) ? enospc(written) : undefined);
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function contents(db: Engine): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for await (const [k, v] of db.iterator()) m.set(dec.decode(k), dec.decode(v));
  return m;
}

const opts = { compactionWorker: false, memtableBytes: 64 * 1024 };

describe('full disk', () => {
  test('a WAL append cut short is refused, taken back, and writes resume when space returns', async () => {
    const rng = seededRng(BASE_SEED + 1401);
    const mem = new MemVfs();
    const vfs = new ErrorVfs(mem);
    const db = await Engine.open('/db', { ...opts, vfs });
    await db.put('a', '1', { sync: true });
    let full = true;
    vfs.freeSpace = 0; // what statfs says on a full disk: the retries wait for room
    // The write(2) stops part way into the record: a torn record would sit before later ones.
    vfs.setRule(fullDisk(() => full, ['append'], /\.log$/, rng.int(1, 20)));
    const refused = await db.put('b', 'refused', { sync: rng.next() < 0.5 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'UNAVAILABLE' });
    expect(db.health()).toMatchObject({ state: 'degraded', cause: 'no-space' });
    // While full: refused at once, reads served.
    await expect(db.put('c', 'refused too')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(dec.decode((await db.get('a'))!)).toBe('1');
    await new Promise((r) => setTimeout(r, 500)); // retries meet a disk still full
    expect(db.health().state).toBe('degraded');
    expect(db.health().retries).toBeGreaterThan(0);
    full = false;
    vfs.freeSpace = 1 << 30;
    await until('writes to resume', () => db.health().state === 'ok');
    await db.put('d', '4', { sync: true });
    expect(db.stats().autoRecoveries).toBe(1);
    // A power cut now: what was acknowledged is there, what was refused is not, and the log reads
    // back without corruption (the torn record was cut off before 'd' followed it).
    const after = await Engine.open('/db', { ...opts, vfs: mem.crashImage() });
    expect(Object.fromEntries(await contents(after))).toEqual({ a: '1', d: '4' });
    await after.close();
    await db.close();
    const reopened = await Engine.open('/db', { ...opts, vfs: mem });
    expect(Object.fromEntries(await contents(reopened))).toEqual({ a: '1', d: '4' });
    await reopened.close();
  });

  test('a sync that fails takes the whole refused group back out of the log', async () => {
    const mem = new MemVfs();
    const vfs = new ErrorVfs(mem);
    const db = await Engine.open('/db', { ...opts, vfs });
    await db.put('a', '1', { sync: true });
    let full = true;
    vfs.setRule(fullDisk(() => full, ['sync'], /\.log$/));
    // Its record is complete in the file; only the fdatasync failed. It must not come back.
    await expect(db.put('b', 'refused', { sync: true })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    full = false;
    await until('writes to resume', () => db.health().state === 'ok');
    await db.put('c', '3');
    await db.close();
    const reopened = await Engine.open('/db', { ...opts, vfs: mem });
    expect(Object.fromEntries(await contents(reopened))).toEqual({ a: '1', c: '3' });
    await reopened.close();
  });

  test.each([
    ['a flush', /\.sst$/],
    ['a manifest write', /MANIFEST/],
  ])('%s that runs out of space is retried; nothing is lost', async (_what, files) => {
    const rng = seededRng(BASE_SEED + 1402);
    const mem = new MemVfs();
    const vfs = new ErrorVfs(mem);
    const db = await Engine.open('/db', { ...opts, vfs });
    let full = false;
    vfs.setRule(fullDisk(() => full, ['append', 'sync'], files, rng.int(0, 3000)));
    const acked = new Map<string, string>();
    let refused = 0;
    let i = 0;
    // Write until a flush hits the full disk and writes are refused.
    full = true;
    while (db.health().state === 'ok' && i < 20_000) {
      const k = `k${String(i).padStart(6, '0')}`;
      const v = `v${i}-${'x'.repeat(rng.int(10, 300))}`;
      i++;
      try {
        await db.put(k, v);
        acked.set(k, v);
      } catch (e) {
        expect(e).toMatchObject({ code: 'UNAVAILABLE' });
        refused++;
      }
    }
    expect(db.health()).toMatchObject({ state: 'degraded', cause: 'no-space' });
    await expect(db.put('late', 'refused')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    full = false;
    await until('writes to resume', () => db.health().state === 'ok');
    for (let j = 0; j < 2000; j++) {
      const k = `z${j}`;
      await db.put(k, 'after');
      acked.set(k, 'after');
    }
    await db.compactRange();
    expect(db.stats().flushes).toBeGreaterThan(0);
    await db.close();
    const reopened = await Engine.open('/db', { ...opts, vfs: mem });
    const got = await contents(reopened);
    for (const [k, v] of acked) expect(got.get(k), `${k} (seed ${rng.seed}, ${refused} refused)`).toBe(v);
    expect(got.has('late')).toBe(false);
    // No partial table was left behind: every .sst is one the database uses.
    const tables = (await mem.readdir('/db')).filter((n) => n.endsWith('.sst')).length;
    const live = reopened.stats().levels.reduce((n, l) => n + l.files, 0);
    expect(tables).toBe(live);
    await reopened.close();
  });

  test('another I/O error is final: the engine reports failed and does not retry', async () => {
    const vfs = new ErrorVfs(new MemVfs());
    const db = await Engine.open('/db', { ...opts, vfs });
    vfs.setRule((op, path) =>
      op === 'append' && path.endsWith('.log')
        ? Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })
        : undefined,
    );
    await expect(db.put('a', '1')).rejects.toMatchObject({ code: 'IO' });
    vfs.setRule(undefined);
    await new Promise((r) => setTimeout(r, 400));
    expect(db.health()).toMatchObject({ state: 'failed', cause: 'io' });
    await expect(db.put('b', '2')).rejects.toMatchObject({ code: 'IO' });
    await db.close();
  });
});

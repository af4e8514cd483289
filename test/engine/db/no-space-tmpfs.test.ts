// A real full filesystem: the engine on a small tmpfs (mounted by the test: needs root, as the CI
// container has) with the compaction worker writing its own files. Writes are refused while it is
// full, resume by themselves once a filler file is deleted, and every acknowledged write survives
// a reopen.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../engine/index.js';
import { BASE_SEED, seededRng } from '../vfs/seeded-random.js';
import { mountSmallDisk, type SmallDisk } from '../../chaos/nemeses-disk.js';

const mnt = mkdtempSync(join(tmpdir(), 'eau2-full-'));
let disk: SmallDisk | undefined;

beforeAll(() => {
  // Fails the test (not skips it) where tmpfs cannot be mounted: the fault must really be injected.
  disk = mountSmallDisk(mnt, 8 * 1024 * 1024);
});
afterAll(() => {
  disk?.unmount();
  rmSync(mnt, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('full tmpfs', () => {
  test('writes are refused while full and resume by themselves when space returns', async () => {
    const rng = seededRng(BASE_SEED + 1403);
    const dir = join(mnt, 'db');
    const db = await Engine.open(dir, { memtableBytes: 256 * 1024, targetFileSize: 256 * 1024 });
    try {
      // Leave ~1.5 MiB: the engine runs out within a few memtables.
      disk!.fill(1.5 * 1024 * 1024);
      const acked = new Map<string, string>();
      let i = 0;
      while (db.health().state === 'ok' && i < 200_000) {
        const k = `k${String(i).padStart(7, '0')}`;
        const v = `${i}:${'v'.repeat(rng.int(50, 500))}`;
        i++;
        try {
          await db.put(k, v, { sync: rng.next() < 0.1 });
          acked.set(k, v);
        } catch (e) {
          expect(e).toMatchObject({ code: 'UNAVAILABLE' });
        }
      }
      expect(db.health()).toMatchObject({ state: 'degraded', cause: 'no-space' });
      await expect(db.put('while-full', 'x')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      disk!.free();
      await until('writes to resume', () => db.health().state === 'ok');
      for (let j = 0; j < 500; j++) {
        await db.put(`after${j}`, 'ok');
        acked.set(`after${j}`, 'ok');
      }
      await db.close();
      const reopened = await Engine.open(dir);
      for (const [k, v] of acked) {
        const got = await reopened.get(k);
        expect(got && new TextDecoder().decode(got), `${k} (seed ${rng.seed})`).toBe(v);
      }
      expect(await reopened.get('while-full')).toBeUndefined();
      await reopened.close();
    } finally {
      await db.close().catch(() => undefined);
    }
  }, 60_000);
});

// A compaction's file I/O goes through the engine's Vfs wherever the job runs: in the engine's
// thread for a Vfs without a worker spec (ErrorVfs here), and on the worker for one that names a
// module the worker loads (test/support/faulty-node-vfs.ts). An injected write error in a
// compaction's output then fails the compaction, becomes the engine's background error (writes are
// refused), and loses nothing: the database reopens with every acknowledged write.

import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../engine/index.js';
import { ErrorVfs } from '../../../engine/vfs/error-vfs.js';
import { nodeVfs } from '../../../engine/vfs/node-vfs.js';
import type { Vfs } from '../../../engine/vfs/vfs.js';
import { createFaultyNodeVfs } from '../../support/faulty-node-vfs.js';

const root = mkdtempSync(join(tmpdir(), 'eau2-cfault-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const KEYS = 400;
const key = (i: number): string => `k${String(i).padStart(5, '0')}`;

/**
 * Two overlapping level-0 tables and an empty memtable: each round's writes reach a table when the
 * database reopens (recovery flushes the log), so the compactRange that follows only compacts.
 */
async function twoLevel0Tables(dir: string, vfs: Vfs): Promise<void> {
  for (const round of [1, 2]) {
    const db = await Engine.open(dir, { vfs, compactionWorker: true });
    const ops = [];
    for (let i = 0; i < KEYS; i++)
      ops.push({ type: 'put' as const, key: key(i), value: `r${round}-${'x'.repeat(200)}` });
    await db.batch(ops);
    await db.close();
  }
}

/** Appends to table files this thread made through `vfs` since its trace was set. */
function tableAppends(vfs: ErrorVfs): number {
  return vfs.trace!.filter((t) => t.op === 'append' && t.path.endsWith('.sst')).length;
}

async function expectAllKeys(dir: string): Promise<void> {
  const db = await Engine.open(dir);
  try {
    for (let i = 0; i < KEYS; i++) expect(await db.get(key(i)), key(i)).toBeDefined();
    const v = await db.get(key(7));
    expect(new TextDecoder().decode(v!)).toMatch(/^r2-/);
  } finally {
    await db.close();
  }
}

describe('compaction I/O through the engine Vfs', () => {
  test('in-thread: an injected write error in a compaction is the background error, and nothing is lost', async () => {
    const dir = join(root, 'inthread');
    let armed = false;
    const vfs = new ErrorVfs(nodeVfs, (op, path) =>
      armed && op === 'append' && path.endsWith('.sst') ? new Error(`injected write error on ${path}`) : undefined,
    );
    await twoLevel0Tables(dir, vfs);
    const db = await Engine.open(dir, { vfs, compactionWorker: true });
    expect(db.stats().levels[0]!.files).toBe(2);
    armed = true;
    await expect(db.compactRange()).rejects.toMatchObject({ code: 'IO', message: expect.stringMatching(/injected/) });
    expect(vfs.injected).toBeGreaterThan(0);
    // The engine refuses writes from now on, with the compaction's error.
    await expect(db.put('after', 'x')).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringMatching(/injected/),
    });
    armed = false;
    await db.close();
    await expectAllKeys(dir);
  });

  test('on the worker: the worker builds the Vfs from its spec, and the injected error surfaces the same way', async () => {
    const dir = join(root, 'worker');
    const marker = join(root, 'worker-fail');
    const vfs = createFaultyNodeVfs({ marker });
    await twoLevel0Tables(dir, vfs);
    const db = await Engine.open(dir, { vfs, compactionWorker: true });
    expect(db.stats().levels[0]!.files).toBe(2);
    vfs.trace = [];
    writeFileSync(marker, '');
    try {
      await expect(db.compactRange()).rejects.toMatchObject({
        code: 'IO',
        message: expect.stringMatching(/injected/),
      });
      await expect(db.put('after', 'x')).rejects.toMatchObject({ code: 'IO' });
      // The failing appends happened on the worker, through its own copy of the Vfs.
      expect(tableAppends(vfs)).toBe(0);
    } finally {
      rmSync(marker, { force: true });
    }
    await db.close();
    await expectAllKeys(dir);
  });

  test('on the worker without a fault: compaction output is written there and reads back', async () => {
    const dir = join(root, 'worker-ok');
    const vfs = createFaultyNodeVfs({ marker: join(root, 'never') });
    await twoLevel0Tables(dir, vfs);
    const db = await Engine.open(dir, { vfs, compactionWorker: true });
    vfs.trace = [];
    await db.compactRange();
    expect(db.stats().levels[0]!.files).toBe(0);
    expect(db.stats().levels[1]!.files).toBeGreaterThan(0);
    expect(tableAppends(vfs)).toBe(0);
    await db.close();
    await expectAllKeys(dir);
  });
});

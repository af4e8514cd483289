// Background work against a real filesystem: flushes, compactions and the obsolete-file sweep
// overlap constantly with tiny memtables, and must never delete a file that is still in use; an
// idle compaction worker must not keep the process alive.

import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Engine } from '../../../engine/index.js';

const root = mkdtempSync(join(tmpdir(), 'eau2-bg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dec = new TextDecoder();

describe('overlapping flushes, compactions and sweeps', () => {
  test('never delete a table that is being written or still listed', async () => {
    for (let run = 0; run < 10; run++) {
      const db = await Engine.open(join(root, `db${run}`), { memtableBytes: 256 });
      for (let i = 0; i < 200; i++) await db.put(`k${i}`, 'v'.repeat(20));
      await db.compactRange();
      for (let i = 0; i < 200; i++) expect(dec.decode(db.getSync(`k${i}`)!)).toBe('v'.repeat(20));
      await db.close();
    }
  });
});

describe('process lifetime', () => {
  test('a database left open after compacting does not keep the process alive', () => {
    const dir = join(root, 'left-open');
    const script = `const { Engine } = await import(${JSON.stringify(join(process.cwd(), 'engine/index.ts'))});
const db = await Engine.open(${JSON.stringify(dir)}, { memtableBytes: 256 });
for (let i = 0; i < 200; i++) await db.put('k' + i, 'v'.repeat(20));
await db.compactRange();
console.log('done');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout.trim()).toBe('done');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  });
});

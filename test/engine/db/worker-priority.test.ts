// The compaction worker lowers its own thread's CPU priority (Linux nice is per thread), never the
// process's: the event-loop thread keeps its nice value, and only the worker's changes.

import { afterAll, expect, test } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../engine/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Nice value of every thread of this process, by thread id (Linux /proc). */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after "(comm)" start at field 3 (state); nice is field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

test('the worker thread runs at a lower priority and the event-loop thread keeps its own', async () => {
  const linux = process.platform === 'linux';
  const before = linux ? threadNices() : new Map<number, number>();
  const dir = mkdtempSync(join(tmpdir(), 'eau2-prio-'));
  dirs.push(dir);
  const db = await Engine.open(dir, { memtableBytes: 16 * 1024 });
  const value = new Uint8Array(100);
  for (let i = 0; i < 2000; i++) await db.put(`key${String(i).padStart(8, '0')}`, value);
  // A flush runs on the worker: once one is done, the worker thread exists and has set its priority.
  while (db.stats().flushes === 0) await new Promise((r) => setTimeout(r, 10));
  if (linux) {
    const after = threadNices();
    expect(after.get(process.pid)).toBe(before.get(process.pid));
    const lowered = [...after].filter(([tid, nice]) => !before.has(tid) && nice > before.get(process.pid)!);
    expect(lowered.length).toBeGreaterThanOrEqual(1);
  }
  await db.close();
});

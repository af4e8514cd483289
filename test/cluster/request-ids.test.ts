// The leader's memory of request ids (cluster/node/request-ids.ts): a repeated id joins the write in
// progress or is answered as done without running again; a failed write is forgotten (its retry
// runs); ids expire after ttlMs and at most maxEntries are kept, the oldest dropped first.

import { describe, expect, it } from 'vitest';
import { RequestIds } from '../../cluster/node/request-ids.js';

function counter() {
  let runs = 0;
  return {
    write: async () => void runs++,
    get runs() {
      return runs;
    },
  };
}

describe('RequestIds', () => {
  it('runs a write once per id while it runs and after it succeeded', async () => {
    let clock = 0;
    const ids = new RequestIds(1000, 10, () => clock);
    let release!: () => void;
    let runs = 0;
    const slow = () => {
      runs++;
      return new Promise<void>((r) => (release = r));
    };
    const a = ids.run(0, 'r1', slow);
    const b = ids.run(0, 'r1', slow);
    release();
    await Promise.all([a, b]);
    clock = 999;
    await ids.run(0, 'r1', slow);
    expect(runs).toBe(1);
    expect(ids.replayed).toBe(2);
    // Another partition, or no id: runs.
    const c = counter();
    await ids.run(1, 'r1', c.write);
    await ids.run(0, undefined, c.write);
    await ids.run(0, undefined, c.write);
    expect(c.runs).toBe(3);
  });

  it('forgets a write that failed, so its retry runs', async () => {
    const ids = new RequestIds(1000, 10, () => 0);
    await expect(ids.run(0, 'r', async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    const c = counter();
    await ids.run(0, 'r', c.write);
    expect(c.runs).toBe(1);
  });

  it('forgets ids after ttlMs and keeps at most maxEntries', async () => {
    let clock = 0;
    const ids = new RequestIds(1000, 3, () => clock);
    const c = counter();
    await ids.run(0, 'a', c.write);
    clock = 1000;
    await ids.run(0, 'a', c.write); // expired: runs again
    expect(c.runs).toBe(2);
    for (let i = 0; i < 100; i++) await ids.run(0, `x${i}`, c.write);
    expect(ids.size).toBe(3);
    await ids.run(0, 'x0', c.write); // dropped as the oldest: runs again
    await ids.run(0, 'x99', c.write); // still remembered
    expect(c.runs).toBe(2 + 100 + 1);
  });

  it('stays bounded by maxEntries under failing writes, and keeps the ids that succeeded', async () => {
    const ids = new RequestIds(60_000, 10, () => 0);
    const c = counter();
    await ids.run(0, 'ok', c.write);
    for (let i = 0; i < 20_000; i++)
      await expect(ids.run(0, `f${i}`, async () => Promise.reject(new Error('refused')))).rejects.toThrow();
    expect(ids.size).toBe(1);
    expect((ids as unknown as { order: unknown[]; head: number }).order.length).toBeLessThan(2 * 10 + 1024 + 2);
    await ids.run(0, 'ok', c.write); // still remembered: not run again
    expect(c.runs).toBe(1);
    expect(ids.replayed).toBe(1);
  });

  it('with ttlMs 0 remembers nothing', async () => {
    const ids = new RequestIds(0, 10);
    const c = counter();
    await ids.run(0, 'r', c.write);
    await ids.run(0, 'r', c.write);
    expect(c.runs).toBe(2);
    expect(ids.size).toBe(0);
  });
});

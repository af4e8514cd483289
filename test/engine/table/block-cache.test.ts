// The block cache: bounded in bytes, least recently used out first, per-file eviction, counters.

import { describe, expect, it } from 'vitest';
import { Block } from '../../../engine/table/block.js';
import { BlockBuilder } from '../../../engine/table/block-builder.js';
import { BlockCache, ENTRY_OVERHEAD } from '../../../engine/table/block-cache.js';
import type { BlockSlots } from '../../../engine/table/block-cache.js';
import { Kind } from '../../../engine/format/internal-key.js';
import { utf8 } from '../../../kv/index.js';

/** A block of about `valueBytes` bytes. */
function blockOf(valueBytes: number): Block {
  const b = new BlockBuilder();
  b.add(utf8('k'), 1, Kind.VALUE, new Uint8Array(valueBytes));
  return Block.open(b.finish().slice(), 'x', 0);
}

describe('block cache', () => {
  it('evicts least recently used blocks once the charged bytes exceed the capacity', () => {
    const block = blockOf(1000);
    const per = block.charge + ENTRY_OVERHEAD;
    const cache = new BlockCache(per * 3);
    cache.set(1, 0, block);
    cache.set(1, 100, block);
    cache.set(1, 200, block);
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: per * 3, evictions: 0 });
    expect(cache.get(1, 0)).toBe(block); // now most recent: (1,100) is the oldest
    cache.set(1, 300, block);
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: per * 3, evictions: 1 });
    expect(cache.get(1, 100)).toBeUndefined();
    expect(cache.get(1, 0)).toBe(block);
    expect(cache.get(1, 200)).toBe(block);
    expect(cache.get(1, 300)).toBe(block);
  });

  it('charges blocks by their size, so one big block pushes out many small ones', () => {
    const small = blockOf(100);
    const big = blockOf(5000);
    const cache = new BlockCache(big.charge + ENTRY_OVERHEAD + 2 * (small.charge + ENTRY_OVERHEAD));
    for (let i = 0; i < 10; i++) cache.set(2, i * 10, small);
    expect(cache.stats().bytes).toBeLessThanOrEqual(cache.stats().capacity);
    cache.set(3, 0, big);
    expect(cache.get(3, 0)).toBe(big);
    expect(cache.stats().entries).toBe(3);
    expect(cache.stats().bytes).toBeLessThanOrEqual(cache.stats().capacity);
  });

  it('does not keep a block larger than the whole capacity, nor anything at capacity 0', () => {
    const cache = new BlockCache(500);
    cache.set(1, 0, blockOf(1000));
    expect(cache.stats().entries).toBe(0);
    const off = new BlockCache(0);
    off.set(1, 0, blockOf(1));
    expect(off.get(1, 0)).toBeUndefined();
    expect(off.stats()).toMatchObject({ entries: 0, bytes: 0, misses: 1, hits: 0 });
  });

  it('replaces an entry set twice without double-charging it', () => {
    const cache = new BlockCache(1 << 20);
    const a = blockOf(10);
    const b = blockOf(10);
    cache.set(5, 7, a);
    cache.set(5, 7, b);
    expect(cache.get(5, 7)).toBe(b);
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: b.charge + ENTRY_OVERHEAD });
  });

  it('drops every block of one file', () => {
    const cache = new BlockCache(1 << 20);
    const blk = blockOf(10);
    for (let i = 0; i < 5; i++) {
      cache.set(1, i, blk);
      cache.set(2, i, blk);
    }
    cache.evictFile(1);
    expect(cache.stats().entries).toBe(5);
    expect(cache.stats().bytes).toBe(5 * (blk.charge + ENTRY_OVERHEAD));
    for (let i = 0; i < 5; i++) {
      expect(cache.get(1, i)).toBeUndefined();
      expect(cache.get(2, i)).toBe(blk);
    }
  });

  it('keeps blocks of different files at the same offset apart, whatever the file numbers', () => {
    const cache = new BlockCache(1 << 20);
    const a = blockOf(1);
    const b = blockOf(2);
    cache.set(3, 64, a);
    cache.set(3 + 2 ** 32, 64, b);
    cache.set(3, 2 ** 33, b);
    expect(cache.get(3, 64)).toBe(a);
    expect(cache.get(3 + 2 ** 32, 64)).toBe(b);
    expect(cache.get(3, 2 ** 33)).toBe(b);
    cache.evictFile(3);
    expect(cache.stats().entries).toBe(1);
  });

  it('stays within its capacity and consistent under a random workload', () => {
    const blocks = [blockOf(10), blockOf(300), blockOf(2000)];
    const cache = new BlockCache(20000);
    const model = new Map<string, Block>();
    let s = 7;
    const next = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    for (let i = 0; i < 20000; i++) {
      const f = next(4);
      const o = next(30);
      const op = next(10);
      if (op < 5) {
        const blk = blocks[next(3)]!;
        cache.set(f, o, blk);
        model.set(`${f}:${o}`, blk);
      } else if (op < 9) {
        const got = cache.get(f, o);
        if (got !== undefined) expect(got).toBe(model.get(`${f}:${o}`));
      } else if (next(20) === 0) cache.evictFile(f);
      const st = cache.stats();
      if (st.bytes > st.capacity || st.bytes < 0) expect.fail(`bytes ${st.bytes} at step ${i}`);
    }
    cache.clear();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('counts hits and misses', () => {
    const cache = new BlockCache(1 << 20);
    cache.get(1, 0);
    cache.set(1, 0, blockOf(1));
    cache.get(1, 0);
    cache.get(1, 0);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, entries: 1 });
    expect(() => new BlockCache(-1)).toThrow(TypeError);
  });

  it('keeps an owner slot filled exactly while its entry is cached', () => {
    const blk = blockOf(10);
    const per = blk.charge + ENTRY_OVERHEAD;
    const cache = new BlockCache(per * 4);
    const slots: BlockSlots = [];
    for (let i = 0; i < 4; i++) cache.set(7, i * 100, blk, slots, i);
    expect(slots.map((e) => e?.offset)).toEqual([0, 100, 200, 300]);
    expect(cache.touch(slots[2]!)).toBe(blk);
    cache.set(8, 0, blk); // evicts the oldest: block 0 of file 7
    expect(slots[0]).toBeUndefined();
    expect(cache.get(7, 0)).toBeUndefined();
    const before = slots[1];
    cache.set(7, 100, blk, slots, 1); // replaced: the slot names the new entry
    expect(slots[1]).toBeDefined();
    expect(slots[1]).not.toBe(before);
    cache.evictFile(7);
    expect(slots.every((e) => e === undefined)).toBe(true);
    cache.set(7, 0, blk, slots, 0);
    cache.clear();
    expect(slots[0]).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: 1, entries: 0 });
  });

  it('gives a block hit since it was linked one more pass (second chance), and only one', () => {
    const blk = blockOf(10);
    const per = blk.charge + ENTRY_OVERHEAD;
    const cache = new BlockCache(per * 8);
    for (let i = 0; i < 8; i++) cache.set(1, i, blk);
    // Hits on the newest (7) and the oldest (0): an insert now passes over 0 and evicts 1.
    cache.get(1, 7);
    cache.get(1, 0);
    cache.set(1, 8, blk);
    expect(cache.stats().evictions).toBe(1);
    expect(cache.get(1, 1)).toBeUndefined();
    // 0 was relinked at the newest end with its flag cleared; 7 keeps its flag. Seven more inserts
    // evict 2..6 and 8, sparing 7 once more, then 0 (not hit again) goes. (No get() in between: a
    // hit would set the flags again.)
    for (let i = 9; i < 16; i++) cache.set(1, i, blk);
    expect(cache.stats().entries).toBe(8);
    expect(cache.stats().evictions).toBe(8);
    expect(cache.get(1, 0)).toBeUndefined();
    expect(cache.get(1, 8)).toBeUndefined();
    expect(cache.get(1, 7)).toBe(blk);
    for (let i = 9; i < 16; i++) expect(cache.get(1, i)).toBe(blk);
  });

  it('never evicts the block it is inserting, even when every other block was hit', () => {
    const blk = blockOf(10);
    const per = blk.charge + ENTRY_OVERHEAD;
    const cache = new BlockCache(per * 4);
    for (let i = 0; i < 4; i++) cache.set(1, i, blk);
    for (let i = 0; i < 4; i++) cache.get(1, i);
    const fresh = blockOf(10);
    cache.set(2, 0, fresh);
    expect(cache.get(2, 0)).toBe(fresh);
    expect(cache.stats()).toMatchObject({ entries: 4, evictions: 1 });
  });
});

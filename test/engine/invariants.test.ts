// The engine's runtime invariant checks (engine/util/invariants.ts), on in every test through
// EAU2_INVARIANTS=1 (vitest.config.ts): each one throws when its invariant is broken.

import { describe, expect, it } from 'vitest';
import { INVARIANTS, ScratchGuard } from '../../engine/util/invariants.js';
import { Block, BlockCursor, blockScratch, foundScratch, releaseFound } from '../../engine/table/block.js';
import { BlockBuilder } from '../../engine/table/block-builder.js';
import { Kind } from '../../engine/format/internal-key.js';
import { MergingIterator } from '../../engine/iter/merging-iterator.js';
import { Memtable } from '../../engine/memtable/memtable.js';
import { utf8 } from '../../kv/index.js';

const violated = { code: 'INVALID', message: expect.stringMatching(/invariant violated/) };

function block(keys: string[]): Block {
  const b = new BlockBuilder(64, 4);
  keys.forEach((k, i) => b.add(utf8(k), 100 - i, Kind.VALUE, utf8(`v${k}`)));
  return Block.open(b.finish().slice(), 'test', 0);
}

describe('invariant checks', () => {
  it('are on in the tests', () => {
    expect(INVARIANTS).toBe(true);
  });

  it('a scratch guard refuses a second user until the first leaves', () => {
    const g = new ScratchGuard('scratch');
    g.enter('first');
    expect(() => g.enter('second')).toThrow(expect.objectContaining(violated));
    g.leave();
    g.enter('second');
    expect(g.heldBy()).toBe('second');
    g.leave();
  });

  it('Block.find throws when the block parse state is in use by an interrupted operation', () => {
    const b = block(['a', 'b', 'c']);
    blockScratch.enter('an operation suspended at an await');
    try {
      expect(() => b.find(utf8('b'), 100)).toThrow(expect.objectContaining(violated));
      expect(() => b.restartKey(0)).toThrow(expect.objectContaining(violated));
    } finally {
      blockScratch.leave();
    }
    expect(b.find(utf8('b'), 100)).toBeGreaterThanOrEqual(0);
    releaseFound();
  });

  it('a second Block.find before the first result is read throws', () => {
    const b = block(['a', 'b', 'c']);
    expect(b.find(utf8('a'), 100)).toBeGreaterThanOrEqual(0);
    // An await here, with another get running meanwhile, would have overwritten `found`.
    expect(() => b.find(utf8('c'), 100)).toThrow(expect.objectContaining(violated));
    expect(foundScratch.heldBy()).toBe('Block.find');
    releaseFound();
    expect(b.find(utf8('c'), 100)).toBeGreaterThanOrEqual(0);
    releaseFound();
  });

  it('a block builder refuses entries out of internal-key order', () => {
    const b = new BlockBuilder();
    b.add(utf8('b'), 5, Kind.VALUE, utf8('x'));
    expect(() => b.add(utf8('a'), 9, Kind.VALUE, utf8('x'))).toThrow(expect.objectContaining(violated));
    // Same user key: sequences must descend.
    expect(() => b.add(utf8('b'), 5, Kind.VALUE, utf8('x'))).toThrow(expect.objectContaining(violated));
    expect(() => b.add(utf8('b'), 6, Kind.VALUE, utf8('x'))).toThrow(expect.objectContaining(violated));
    b.add(utf8('b'), 4, Kind.VALUE, utf8('x'));
    b.add(utf8('c'), 9, Kind.VALUE, utf8('x'));
  });

  it('iterators refuse key() before they are positioned on an entry', () => {
    const c = new BlockCursor();
    c.reset(block(['a']));
    c.seekToFirst();
    expect([...c.key()]).toEqual([...utf8('a')]);
    c.next();
    expect(c.valid()).toBe(false);
    expect(() => c.key()).toThrow(expect.objectContaining(violated));
    expect(() => c.value()).toThrow(expect.objectContaining(violated));

    const mem = new Memtable(1, 1 << 20);
    mem.add(1, Kind.VALUE, utf8('k'), utf8('v'));
    const mi = mem.iterator();
    expect(() => mi.key()).toThrow(expect.objectContaining(violated));
    const merged = new MergingIterator([mem.iterator()]);
    expect(() => merged.key()).toThrow(expect.objectContaining(violated));
    merged.seekToFirst();
    expect([...merged.key()]).toEqual([...utf8('k')]);
    merged.close();
    mi.close();
  });
});

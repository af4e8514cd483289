// The optional store capabilities (kv/capabilities.ts): the guards accept exactly the stores that
// offer a capability, and partitionLeadersOf never returns an inconsistent partitioning.

import { describe, expect, it } from 'vitest';
import { isTaskRunner, partitionLeadersOf, type KvStore } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';

function withProps(props: object): KvStore {
  return Object.assign(new MemoryStore(), props);
}

describe('TaskRunner', () => {
  it('is offered by a store with a runTask method only', () => {
    expect(isTaskRunner(new MemoryStore())).toBe(false);
    expect(isTaskRunner(withProps({ runTask: 'no' }))).toBe(false);
    expect(isTaskRunner(withProps({ runTask: async () => [] }))).toBe(true);
  });
});

describe('Partitioned', () => {
  const good = { partitions: 2, placement: [{ leader: 'n1' }, { leader: 'n2' }] };

  it('gives the partitioning of a store that shows a consistent one', () => {
    expect(partitionLeadersOf(withProps({ topology: good }))).toEqual(good);
    const getter = new MemoryStore();
    Object.defineProperty(getter, 'topology', { get: () => good });
    expect(partitionLeadersOf(getter)).toEqual(good);
  });

  it('is undefined for a store without one, or with an inconsistent one', () => {
    expect(partitionLeadersOf(new MemoryStore())).toBeUndefined();
    for (const topology of [
      undefined,
      null,
      'x',
      { partitions: 0, placement: [] },
      { partitions: 1.5, placement: [{ leader: 'n1' }] },
      { partitions: 3, placement: good.placement },
      { partitions: 2, placement: [{ leader: 'n1' }, { leader: 7 }] },
      { partitions: 2, placement: [{ leader: 'n1' }, null] },
    ]) {
      expect(partitionLeadersOf(withProps({ topology })), JSON.stringify(topology)).toBeUndefined();
    }
    const throwing = new MemoryStore();
    Object.defineProperty(throwing, 'topology', {
      get: () => {
        throw new Error('closed');
      },
    });
    expect(partitionLeadersOf(throwing)).toBeUndefined();
  });
});

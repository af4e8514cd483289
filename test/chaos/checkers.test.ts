// The chaos checkers on hand-made histories: a lost w=all write, a counter gone back past its w=all
// acknowledgement or holding a value nobody wrote, a lost w=1 write counted apart, two leaders in one
// (partition, epoch), and the longest time a partition took no write during a fault.

import { describe, expect, it } from 'vitest';
import { availability, checkDurability, checkOneLeaderPerEpoch, percentile, type ClusterSample } from './checkers.js';
import type { Op } from './workload.js';

function op(o: Partial<Op> & Pick<Op, 'key' | 'value'>): Op {
  return {
    client: 0,
    kind: 'append',
    seq: 0,
    w: 'all',
    p: 0,
    node: 'n1',
    start: 0,
    end: 0,
    ok: true,
    status: 204,
    ...o,
  };
}

describe('checkDurability', () => {
  it('finds lost w=all writes and counts lost w=1 writes apart; failed writes are not owed', () => {
    const ops = [
      op({ key: 'a', value: '1' }),
      op({ key: 'b', value: '2' }),
      op({ key: 'c', value: '3', w: '1' }),
      op({ key: 'd', value: '4', ok: false, status: 504 }),
    ];
    const r = checkDurability(ops, { values: new Map([['a', '1']]) });
    expect(r.wAllAcked).toBe(2);
    expect(r.w1Acked).toBe(1);
    expect(r.wAllLost.map((o) => o.key)).toEqual(['b']);
    expect(r.w1Lost.map((o) => o.key)).toEqual(['c']);
  });

  it('a counter may end above its last w=all acknowledgement, never below it, and only at a value tried', () => {
    const ctr = (seq: number, w: 'all' | '1', ok = true): Op =>
      op({ key: 'k', value: String(seq), seq, w, ok, kind: 'counter' });
    const ops = [ctr(1, 'all'), ctr(2, '1'), ctr(3, 'all'), ctr(4, '1', false)];
    expect(checkDurability(ops, { values: new Map([['k', '4']]) }).counterViolations).toEqual([]);
    expect(checkDurability(ops, { values: new Map([['k', '3']]) }).counterViolations).toEqual([]);
    expect(checkDurability(ops, { values: new Map([['k', '2']]) }).counterViolations).toHaveLength(1);
    expect(checkDurability(ops, { values: new Map([['k', '9']]) }).counterViolations).toHaveLength(1);
    expect(checkDurability(ops, { values: new Map() }).counterViolations).toHaveLength(1);
    // A w=1 acknowledgement the counter went back past is a lost w=1 write.
    const more = [...ops, ctr(5, '1')];
    expect(checkDurability(more, { values: new Map([['k', '4']]) }).w1Lost.map((o) => o.seq)).toEqual([5]);
  });
});

describe('checkOneLeaderPerEpoch', () => {
  const sample = (from: string, epoch: number, leader: string, pEpoch?: number): ClusterSample => ({
    t: 0,
    from,
    epoch,
    partitions: [{ partition: 0, leader, epoch: pEpoch }],
  });

  it('accepts a leadership that moves with a new epoch', () => {
    expect(
      checkOneLeaderPerEpoch([sample('n1', 1, 'n1', 1), sample('n2', 2, 'n2', 2), sample('n1', 2, 'n2', 2)]),
    ).toEqual([]);
  });

  it('reports two nodes leading one partition in one epoch, by claim or by view', () => {
    expect(checkOneLeaderPerEpoch([sample('n1', 3, 'n1', 2), sample('n2', 3, 'n2', 2)])).toEqual([
      { partition: 0, epoch: 2, leaders: ['n1', 'n2'] },
    ]);
    expect(checkOneLeaderPerEpoch([sample('n3', 1, 'n1'), sample('n3', 1, 'n2')])).toEqual([
      { partition: 0, epoch: 1, leaders: ['n1', 'n2'] },
    ]);
  });
});

describe('availability', () => {
  it('is the longest gap between accepted w=all writes of any partition during the fault', () => {
    const acks = (p: number, times: number[]): Op[] =>
      times.map((t) => op({ key: `${p}${t}`, value: '', p, start: t - 5, end: t }));
    const ops = [
      ...acks(0, [50, 100, 150, 200, 250, 300]),
      ...acks(1, [50, 110, 260, 300]),
      op({ key: 'w1', value: '', p: 0, w: '1', start: 150, end: 160 }),
    ];
    const [a] = availability(
      ops,
      [{ kind: 'kill', target: 'n2', start: 100, healStart: 200, healed: 220, led: [1] }],
      2,
      300,
    );
    expect(a!.maxUnavailableMs).toBe(150);
    expect(a!.worstPartition).toBe(1);
    expect(a!.maxUnavailableAnyMs).toBe(150);
    expect(a!.recoveryMs).toEqual([{ partition: 1, failoverMs: null, ms: 10, beforeHeal: true }]);
    // With samples: the first one from another node naming another leader is the failover.
    const samples: ClusterSample[] = [
      { t: 120, from: 'n2', epoch: 1, partitions: [{ partition: 1, leader: 'n3', epoch: 2 }] },
      { t: 130, from: 'n1', epoch: 1, partitions: [{ partition: 1, leader: 'n2', epoch: 1 }] },
      { t: 140, from: 'n1', epoch: 2, partitions: [{ partition: 1, leader: 'n3', epoch: 2 }] },
    ];
    const f = { kind: 'kill', target: 'n2', start: 100, healStart: 200, healed: 220, led: [1] };
    expect(availability(ops, [f], 2, 300, samples)[0]!.recoveryMs[0]!.failoverMs).toBe(40);
  });

  it('percentile', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5, 1, 3], 0.5)).toBe(3);
    expect(percentile([5, 1, 3], 0.99)).toBe(5);
  });
});

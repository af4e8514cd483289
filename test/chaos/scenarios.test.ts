// The leader-fault scenarios handed to the failover tests (scenarios.ts) are well formed: each names
// one fault on a node that exists, lasts long enough that the run can only pass by failing over
// before the heal (past failoverTimeoutMs + 5 s), and together they cover killing the first-listed
// node, pausing, cutting both ways and cutting either way.

import { describe, expect, it } from 'vitest';
import type { ChaosResult } from './run.js';
import type { SettleRecord } from './settle.js';
import { expectFailover, FAILOVER_SCENARIOS } from './scenarios.js';

describe('failover scenarios', () => {
  it('each fault outlasts the failover timeout plus 5 s, on a real node, and together they cover every kind', () => {
    const names = new Set<string>();
    for (const s of FAILOVER_SCENARIOS) {
      expect(names.has(s.name)).toBe(false);
      names.add(s.name);
      const timeout = s.options.cluster!.failoverTimeoutMs!;
      expect(s.options.faults!.length).toBeGreaterThan(0);
      for (const f of s.options.faults!) {
        expect(['n1', 'n2', 'n3']).toContain(f.target);
        expect(f.durationMs!).toBeGreaterThan(timeout + 5000);
      }
    }
    const faults = FAILOVER_SCENARIOS.flatMap((s) => s.options.faults!);
    expect(faults.some((f) => f.kind === 'kill' && f.target === 'n1')).toBe(true);
    for (const kind of ['kill', 'pause', 'partition', 'oneway-out', 'oneway-in'])
      expect(faults.some((f) => f.kind === kind)).toBe(true);
  });
});

describe('expectFailover', () => {
  const settled: SettleRecord = {
    fault: 1,
    ms: 1200,
    settled: true,
    why: null,
    firstWhy: 'n2: partition 0 in-sync set [n1]',
  };
  const run = (
    recovery: { failoverMs: number | null; ms: number | null; beforeHeal: boolean },
    settle = settled,
  ): ChaosResult => ({
    seed: 1,
    failoverTimeoutMs: 2000,
    ops: [
      {
        client: 0,
        kind: 'append',
        key: 'k',
        value: 'v',
        seq: 1,
        w: 'all',
        p: 0,
        node: 'n2',
        start: 150,
        end: 160,
        ok: true,
        status: 204,
      },
    ],
    faults: [{ kind: 'kill', target: 'n1', start: 100, healStart: 9100, healed: 9200, led: [0] }],
    samples: [],
    durability: { wAllAcked: 1, wAllLost: [], w1Acked: 0, w1Lost: [], counterViolations: [] },
    verify: { identical: true, fanout: 64, partitions: [] },
    convergedAfterMs: 0,
    overlap: false,
    settles: [settle],
    tableRepairs: {},
    splitBrain: [],
    availability: [
      {
        kind: 'kill',
        target: 'n1',
        durationMs: 9100,
        maxUnavailableMs: recovery.ms ?? 9100,
        worstPartition: 0,
        maxUnavailableAnyMs: recovery.ms ?? 9100,
        recoveryMs: [{ partition: 0, ...recovery }],
      },
    ],
    errors: {},
  });

  it('passes a run whose led partition failed over and took w=all writes within the bound', () => {
    expect(() => expectFailover(run({ failoverMs: 2500, ms: 3000, beforeHeal: true }))).not.toThrow();
  });

  it('fails a run whose cluster did not settle after a heal (the next fault would overlap)', () => {
    const stuck: SettleRecord = {
      fault: 1,
      ms: 60_000,
      settled: false,
      why: 'n2: partition 0 in-sync set [n1]',
      firstWhy: 'n2: partition 0 in-sync set [n1]',
    };
    expect(() => expectFailover(run({ failoverMs: 2500, ms: 3000, beforeHeal: true }, stuck))).toThrow(/settle/);
  });

  it('fails a run without a failover before the heal, or one slower than failoverTimeoutMs + 5 s', () => {
    expect(() => expectFailover(run({ failoverMs: null, ms: 9150, beforeHeal: false }))).toThrow(/new leader/);
    expect(() => expectFailover(run({ failoverMs: 2500, ms: 7500, beforeHeal: true }))).toThrow(/within 7000 ms/);
  });
});

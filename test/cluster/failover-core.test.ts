// The failover building blocks on their own: the leader-epoch history and the truncation decision it
// drives, the persisted failover state (a vote survives a restart, so a voter never votes twice in
// one epoch), the voter's rules, the candidate's rank and delay, the failure detector, and the ISR
// policy. The cluster-level behaviour is in failover.test.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import {
  castVote,
  decideVote,
  electionDelayMs,
  rankOf,
  Tally,
  type VoteRequest,
  type VoterView,
} from '../../cluster/node/election.js';
import { EpochHistory, followerPlan, MAX_EPOCH_ENTRIES } from '../../cluster/node/epoch-history.js';
import { FailureDetector, majority, NEVER_HEARD_GRACE } from '../../cluster/node/failure-detector.js';
import { caughtUpFollowers, laggingFollowers } from '../../cluster/node/isr-policy.js';
import { openEngine } from '../../cluster/node/open-engine.js';
import {
  compareConfig,
  decodePartitionRecord,
  encodePartitionRecord,
  FailoverState,
  initialRecord,
  partitionStateKey,
} from '../../cluster/node/partition-state.js';
import { placeAll } from '../../cluster/placement.js';
import { BASE_SEED, seededRng } from '../engine/vfs/seeded-random.js';

const nodes = ['n1', 'n2', 'n3'].map((id, i) => ({
  id,
  host: '127.0.0.1',
  port: 1 + i,
  peerPort: 11 + i,
  dataDir: '',
}));
const placement = placeAll({ partitions: 4, replicationFactor: 2, nodes });

describe('epoch history', () => {
  it('answers the epoch of an LSN and the end offset of an epoch', () => {
    const h = new EpochHistory([
      [1, 1],
      [3, 11],
      [4, 30],
    ]);
    expect(h.epochAt(0)).toBe(0);
    expect(h.epochAt(10)).toBe(1);
    expect(h.epochAt(11)).toBe(3);
    expect(h.epochAt(99)).toBe(4);
    expect(h.endOffsetFor(1, 50)).toBe(10);
    expect(h.endOffsetFor(2, 50)).toBe(10); // epoch 2 wrote nothing here: its end is epoch 1's
    expect(h.endOffsetFor(3, 50)).toBe(29);
    expect(h.endOffsetFor(4, 50)).toBe(50);
    expect(h.endOffsetFor(0, 50)).toBeUndefined();
  });

  it('replaces epochs that start past a new epoch and refuses an epoch going back', () => {
    const h = new EpochHistory([
      [1, 1],
      [2, 20],
    ]);
    h.begin(5, 15); // this log was truncated to 14 before epoch 5 began
    expect(h.entries).toEqual([
      [1, 1],
      [5, 15],
    ]);
    expect(() => h.begin(5, 40)).toThrow(TypeError);
    expect(
      () =>
        new EpochHistory([
          [2, 5],
          [1, 9],
        ]),
    ).toThrow(TypeError);
  });

  it('keeps a bounded number of epochs', () => {
    const h = new EpochHistory();
    for (let e = 1; e <= MAX_EPOCH_ENTRIES + 10; e++) h.begin(e, e * 10);
    expect(h.entries.length).toBe(MAX_EPOCH_ENTRIES);
    expect(h.endOffsetFor(1, 10_000)).toBeUndefined(); // forgotten: the asker resyncs in full
  });

  it('lets a follower holding a prefix of the leader stream on', () => {
    const leader = new EpochHistory([
      [1, 1],
      [2, 50],
    ]);
    expect(followerPlan(leader, 80, new EpochHistory([[1, 1]]), 49)).toBe('stream');
    expect(followerPlan(leader, 80, new EpochHistory([[1, 1]]), 30)).toBe('stream');
    expect(
      followerPlan(
        leader,
        80,
        new EpochHistory([
          [1, 1],
          [2, 50],
        ]),
        80,
      ),
    ).toBe('stream');
    expect(followerPlan(leader, 80, new EpochHistory([[1, 1]]), 0)).toBe('stream');
  });

  it('makes a deposed leader that wrote past the new epoch start drop its tail', () => {
    // Old leader wrote 1..60 in epoch 1; the new leader had 1..49 when it took epoch 2 at 50.
    const leader = new EpochHistory([
      [1, 1],
      [2, 50],
    ]);
    expect(followerPlan(leader, 70, new EpochHistory([[1, 1]]), 60)).toBe('truncate');
  });

  it('makes a follower whose last epoch the leader never had drop its tail', () => {
    // The follower took epoch 3 at 40 and wrote to 45; the leader went from epoch 2 to 4 at 42.
    const leader = new EpochHistory([
      [1, 1],
      [2, 20],
      [4, 42],
    ]);
    const f = new EpochHistory([
      [1, 1],
      [2, 20],
      [3, 40],
    ]);
    expect(followerPlan(leader, 90, f, 45)).toBe('truncate');
    // The same follower with nothing written in epoch 3 holds a prefix.
    expect(followerPlan(leader, 90, f, 39)).toBe('stream');
    expect(followerPlan(leader, 90, f, -1)).toBe('truncate');
  });
});

describe('persisted failover state', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function tmp(): string {
    const d = mkdtempSync(join(tmpdir(), 'eau2-failover-'));
    dirs.push(d);
    return d;
  }

  it('starts from the placement with every replica in sync and round-trips records', () => {
    const r = initialRecord(placement[1]!);
    expect(r).toMatchObject({ epoch: 1, leader: 'n2', isr: ['n2', 'n3'], isrVersion: 0 });
    const back = decodePartitionRecord(encodePartitionRecord(r));
    expect(back.history.entries).toEqual([[1, 1]]);
    expect({ ...back, history: null }).toEqual({ ...r, history: null });
  });

  it('refuses a record of another format version as corruption', () => {
    const bad = encodePartitionRecord(initialRecord(placement[0]!));
    bad[bad.indexOf(0x01, 2)] = 0x09; // the first 1 after the map header is the version's value
    expect(() => decodePartitionRecord(bad)).toThrow(/version|fields/);
  });

  it('takes a configuration only when it supersedes the one held', async () => {
    const engine = await openEngine(tmp());
    try {
      const st = await FailoverState.load(engine, placement);
      const c = st.config(0);
      expect(st.adopt(0, { ...c, isrVersion: c.isrVersion })).toBe(false);
      expect(st.adopt(0, { ...c, isr: ['n1'], isrVersion: 1 })).toBe(true);
      expect(st.adopt(0, { ...c, isr: ['n1', 'n2'], isrVersion: 0 })).toBe(false);
      expect(st.adopt(0, { epoch: 7, leader: 'n2', isr: ['n2'], isrVersion: 0 })).toBe(true);
      expect(st.node.currentEpoch).toBe(7);
      expect(compareConfig(st.config(0), { epoch: 7, leader: 'n2', isr: ['n2'], isrVersion: 3 })).toBeLessThan(0);
      expect(st.valid(0, { epoch: 8, leader: 'n3', isr: ['n3'], isrVersion: 0 })).toBe(false); // n3 holds no replica of 0
      expect(st.valid(0, { epoch: 8, leader: 'n2', isr: ['n1'], isrVersion: 0 })).toBe(false);
    } finally {
      await engine.close();
    }
  });

  it('never votes twice in one epoch, across a restart', async () => {
    const dir = tmp();
    const seed = BASE_SEED + 11;
    onTestFailed(() => console.log(`seed ${seed} (EAU2_SEED=${seed})`));
    const rng = seededRng(seed);
    // Partition 0: led by n1, n2 in sync. n3 votes; n1 is silent.
    const ctx = (now: number) => ({
      suspects: (n: string) => n === 'n1',
      lastVoteAt: undefined,
      now,
      failoverTimeoutMs: 1000,
    });
    const req = (epoch: number, candidate = 'n2'): VoteRequest => ({ p: 0, epoch, candidate, partEpoch: 1, lsn: 5 });
    let engine = await openEngine(dir);
    let st = await FailoverState.load(engine, placement);
    const first = await castVote(st, req(2), ctx(0));
    expect(first.grant).toBe(true);
    // A competing request for the same epoch, from the same candidate or another, is refused.
    expect((await castVote(st, req(2), ctx(0))).grant).toBe(false);
    await engine.close();
    // Reopened: the vote is remembered, in whichever order requests for old and new epochs come.
    engine = await openEngine(dir);
    try {
      st = await FailoverState.load(engine, placement);
      expect(st.node.lastVoteEpoch).toBe(2);
      expect(st.node.currentEpoch).toBe(2);
      expect(st.parts[0]).toMatchObject({ votedEpoch: 2, votedFor: 'n2' });
      for (let i = 0; i < 20; i++) {
        const e = 1 + Math.floor(rng.next() * 2); // epochs 1 and 2 only
        expect((await castVote(st, req(e), ctx(10_000))).grant).toBe(false);
      }
      expect((await castVote(st, req(3), ctx(10_000))).grant).toBe(true);
      expect(await engine.get(partitionStateKey(0))).toBeDefined();
    } finally {
      await engine.close();
    }
  });

  it('grants two concurrent requests of one (partition, epoch) at most once; other partitions vote on their own', async () => {
    const engine = await openEngine(tmp());
    try {
      const st = await FailoverState.load(engine, placement);
      const ctx = { suspects: () => true, lastVoteAt: undefined, now: 0, failoverTimeoutMs: 1000 };
      // Partition 0 is led by n1 with follower n2; partition 2 by n3 with follower n1.
      const a = castVote(st, { p: 0, epoch: 4, candidate: 'n2', partEpoch: 1, lsn: 0 }, ctx);
      const b = castVote(st, { p: 0, epoch: 4, candidate: 'n2', partEpoch: 1, lsn: 0 }, ctx);
      const c = castVote(st, { p: 2, epoch: 4, candidate: 'n1', partEpoch: 1, lsn: 0 }, ctx);
      const [da, db, dc] = await Promise.all([a, b, c]);
      expect([da, db].filter((d) => d.grant).length).toBe(1);
      // The failovers of two partitions a dead node led do not take each other's votes.
      expect(dc.grant).toBe(true);
      expect(st.parts[2]).toMatchObject({ votedEpoch: 4, votedFor: 'n1' });
    } finally {
      await engine.close();
    }
  });
});

describe('voting rules', () => {
  const base: VoterView = {
    votedEpoch: 2,
    config: { epoch: 3, leader: 'n1', isr: ['n1', 'n2'], isrVersion: 2 },
    suspects: (n: string) => n === 'n1',
    lastVoteAt: undefined,
    now: 100_000,
    failoverTimeoutMs: 1000,
  };
  const req: VoteRequest = { p: 0, epoch: 4, candidate: 'n2', partEpoch: 3, lsn: 9 };

  it('grants a vote to an in-sync follower of a failed leader', () => {
    expect(decideVote(req, base)).toEqual({ grant: true });
  });

  it('refuses each condition that fails', () => {
    const no = (r: VoteRequest, v: VoterView) => decideVote(r, v).grant;
    expect(no({ ...req, epoch: 3 }, base)).toBe(false); // not above the partition's epoch
    expect(no(req, { ...base, votedEpoch: 4 })).toBe(false); // voted for p in this epoch
    expect(no({ ...req, epoch: 5 }, { ...base, votedEpoch: 4 })).toBe(true);
    expect(no({ ...req, partEpoch: 2 }, base)).toBe(false); // candidate's view is older
    expect(no({ ...req, candidate: 'n3' }, base)).toBe(false); // not in the ISR
    expect(no(req, { ...base, suspects: () => false })).toBe(false); // leader reachable
    expect(no(req, { ...base, lastVoteAt: 99_000 })).toBe(false); // voted for p within 2 timeouts
    expect(no(req, { ...base, lastVoteAt: 97_000 })).toBe(true);
    expect(no({ ...req, candidate: 'n1' }, { ...base, suspects: () => true })).toBe(false); // already leads
  });
});

describe('candidates', () => {
  it('ranks the in-sync follower with the highest LSN first, ties by id', () => {
    const lsn = new Map([
      ['a', 10],
      ['b', 12],
      ['c', 12],
    ]);
    const isr = ['L', 'a', 'b', 'c'];
    const rank = (id: string) => rankOf(id, lsn.get(id)!, isr, 'L', (x) => lsn.get(x));
    expect([rank('b'), rank('c'), rank('a')]).toEqual([0, 1, 2]);
  });

  it('waits in proportion to the timeout, longer for a higher rank', () => {
    const rng = seededRng(BASE_SEED + 3);
    const r = () => rng.next();
    for (let i = 0; i < 50; i++) {
      const d0 = electionDelayMs(5000, 0, r);
      expect(d0).toBeGreaterThanOrEqual(500);
      expect(d0).toBeLessThanOrEqual(1000);
      const d1 = electionDelayMs(5000, 1, r);
      expect(d1).toBeGreaterThanOrEqual(1500);
      expect(d1).toBeLessThanOrEqual(2000);
    }
    expect(electionDelayMs(1500, 0, () => 0)).toBe(150);
  });

  it('wins with a majority of all configured nodes', () => {
    expect([1, 2, 3, 4, 5].map(majority)).toEqual([1, 2, 2, 3, 3]);
    const t = new Tally(5, majority(3));
    expect(t.grant('n2')).toBe(false);
    expect(t.grant('n2')).toBe(false); // the same voter twice is one vote
    expect(t.grant('n3')).toBe(true);
  });
});

describe('failure detector', () => {
  it('suspects a node silent for the timeout, one never heard from only after a longer grace', () => {
    let now = 0;
    const fd = new FailureDetector('n1', ['n1', 'n2', 'n3'], 1000, () => now);
    expect(fd.status('n2')).toBe('unknown');
    expect(fd.reachesMajority()).toBe(false);
    fd.heard('n2');
    expect(fd.reachesMajority()).toBe(true);
    now = NEVER_HEARD_GRACE * 1000 - 1;
    expect(fd.suspected('n3')).toBe(false);
    now = NEVER_HEARD_GRACE * 1000;
    expect(fd.suspected('n3')).toBe(true);
    expect(fd.suspected('n1')).toBe(false);
    fd.heard('n2');
    now += 999;
    expect(fd.status('n2')).toBe('up');
    now += 1;
    expect(fd.status('n2')).toBe('down');
    expect(fd.reachesMajority()).toBe(false);
    fd.heard('n3');
    expect(fd.reachesMajority()).toBe(true);
    fd.heard('stranger');
    expect(fd.silentMs('stranger')).toBe(Number.POSITIVE_INFINITY);
  });

  it('tells whether a majority answered since a follower fell behind (an ISR shrink needs it)', () => {
    let now = 0;
    const fd = new FailureDetector('n1', ['n1', 'n2', 'n3'], 1000, () => now);
    expect(fd.heardMajoritySince(Number.NEGATIVE_INFINITY)).toBe(false);
    fd.heard('n3');
    now = 500;
    // n2 fell behind at 400: n3's last answer (at 0) is older, so this node's inbound may be the fault.
    expect(fd.heardMajoritySince(400)).toBe(false);
    expect(fd.heardMajoritySince(Number.NEGATIVE_INFINITY)).toBe(true);
    fd.heard('n3');
    expect(fd.heardMajoritySince(400)).toBe(true);
  });
});

describe('ISR policy', () => {
  const f = (id: string, o: Partial<Parameters<typeof laggingFollowers>[2][number]> = {}) => ({
    id,
    live: true,
    notLiveSince: undefined,
    acked: 10,
    oldestUnackedAt: undefined,
    ...o,
  });

  it('drops a follower down or behind for longer than the lag limit, not sooner', () => {
    const isr = ['L', 'a', 'b', 'c', 'd'];
    const out = laggingFollowers(
      isr,
      'L',
      [
        f('a'),
        f('b', { live: false, notLiveSince: 0 }),
        f('c', { oldestUnackedAt: 500 }),
        f('d', { oldestUnackedAt: 2000 }),
      ],
      2500,
      1000,
    );
    expect(out).toEqual(['b', 'c']);
  });

  it('takes back a follower once it has acknowledged everything', () => {
    expect(caughtUpFollowers(['L'], [f('a', { acked: 9 }), f('b'), f('c', { live: false })], 10)).toEqual(['b']);
  });
});

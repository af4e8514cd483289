// An ISR shrink takes effect once a majority of the nodes has persisted it (docs/failover.md "In-sync
// replicas"), not once every node has answered: the follower being removed is often a node that
// cannot send (a one-way cut), and waiting for its answer held every w=all write of the partition
// for another failover timeout. Here the leader's Failover runs against a fake peer pool in which
// the third node persists the shrink at once and the lagging follower never answers at all; the
// shrink must still be applied, and never without the third node's answer.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../cluster/log.js';
import type { EngineLike } from '../../cluster/node/engine-api.js';
import { Failover } from '../../cluster/node/failover.js';
import type { LeaderPartition } from '../../cluster/node/leader-partition.js';
import { openEngine } from '../../cluster/node/open-engine.js';
import { FailoverState } from '../../cluster/node/partition-state.js';
import { placeAll } from '../../cluster/placement.js';
import { MsgType } from '../../cluster/protocol/messages.js';
import type { PeerPool } from '../../cluster/protocol/peer-pool.js';
import { BASE_SEED, seededRng } from '../engine/vfs/seeded-random.js';

const nodes = ['n1', 'n2', 'n3'].map((id, i) => ({
  id,
  host: '127.0.0.1',
  port: 1 + i,
  peerPort: 11 + i,
  dataDir: '',
}));
const placement = placeAll({ partitions: 3, replicationFactor: 2, nodes });
const P = 0;
const leader = placement[P]!.leader;
const follower = placement[P]!.followers[0]!;
const third = nodes.map((n) => n.id).find((id) => id !== leader && id !== follower)!;

const quiet = { info() {}, warn() {}, debug() {}, error() {} } as unknown as Logger;
const never = new Promise<never>(() => {});

describe('ISR shrink', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  /** The leader of P with `follower` down for 10 s; `thirdAnswers` decides the third node's answer. */
  async function leaderWithLaggingFollower(thirdAnswers: () => Promise<unknown>) {
    const dir = mkdtempSync(join(tmpdir(), 'eau2-shrink-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const engine = await openEngine(dir);
    cleanup.push(() => engine.close());
    const state = await FailoverState.load(engine as EngineLike, placement);
    const rng = seededRng(BASE_SEED);
    const isrSet: string[][] = [];
    const lp = {
      epoch: state.config(P).epoch,
      isr: [leader, follower],
      joining: new Map<string, number>(),
      progress: () => [
        { id: follower, live: false, notLiveSince: performance.now() - 10_000, acked: 0, oldestUnackedAt: undefined },
      ],
      setIsr(isr: string[]) {
        this.isr = isr.slice();
        isrSet.push(isr.slice());
      },
      failWaiting() {},
    };
    const asked: string[] = [];
    const pool = {
      request(id: string, type: number) {
        if (type !== MsgType.ISR_UPDATE) return never; // heartbeats: the detector is fed by hand below
        asked.push(id);
        return id === third ? thirdAnswers() : never; // the follower cannot send: no answer, ever
      },
    } as unknown as PeerPool;
    const failover = new Failover(
      {
        selfId: leader,
        nodeIds: nodes.map((n) => n.id),
        pool,
        log: quiet,
        localLsn: () => 0,
        leaderOf: (p) => (p === P ? (lp as unknown as LeaderPartition) : undefined),
        detachFollower: async () => 0,
        applyRole: async () => {},
      },
      state,
      // A timeout far beyond the test's: a shrink that waited for every answer would never apply.
      { failoverTimeoutMs: 600_000, replicaLagMaxMs: 100, random: () => rng.next() },
    );
    cleanup.push(() => failover.stop());
    // The third node answered after the follower fell behind: a majority is heard from.
    failover.detector.heard(third);
    return { failover, state, lp, isrSet, asked };
  }

  it('applies once a majority persisted it, without the answer of the follower it removes', async () => {
    const { failover, state, isrSet, asked } = await leaderWithLaggingFollower(async () => null);
    failover.start();
    const deadline = Date.now() + 20_000;
    while (isrSet.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(asked).toContain(follower); // it was asked, and never answered
    expect(isrSet[0]).toEqual([leader]);
    expect(state.config(P).isr).toEqual([leader]);
  });

  it('does not apply it while only the leader has persisted it', async () => {
    let answer: (v: unknown) => void = () => {};
    const { failover, state, lp, isrSet, asked } = await leaderWithLaggingFollower(
      () => new Promise((r) => (answer = r)),
    );
    failover.start();
    const deadline = Date.now() + 20_000;
    while (!asked.includes(third) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(asked).toContain(third);
    await new Promise((r) => setTimeout(r, 300));
    expect(isrSet).toEqual([]); // w=all still waits for the follower
    expect(lp.isr).toEqual([leader, follower]);
    answer(null);
    while (isrSet.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(isrSet[0]).toEqual([leader]);
    expect(state.config(P).isr).toEqual([leader]);
  });
});

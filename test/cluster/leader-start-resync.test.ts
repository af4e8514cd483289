// A leader streams each entry before its own engine applies it. If it restarts (or its engine
// fails) in between, a follower can hold an entry at an LSN the leader, starting again in the same
// epoch, gives to a different write. The follower's first subscription to the new leader then claims
// more than the leader started with: it must be resynced in full, whatever the leader wrote
// meanwhile, or the two copies differ in that entry (docs/failover.md "Failure windows and limits").

import { describe, expect, it } from 'vitest';
import type { EngineLike } from '../../cluster/node/engine-api.js';
import { EpochHistory } from '../../cluster/node/epoch-history.js';
import { LeaderPartition } from '../../cluster/node/leader-partition.js';
import type { PartitionWriter } from '../../cluster/node/partition-writer.js';
import type { PeerConnection } from '../../cluster/protocol/peer-connection.js';

const enc = (s: string) => new TextEncoder().encode(s);

function stubConn(): PeerConnection & { destroyed: boolean } {
  const c = {
    destroyed: false,
    queuedBytes: 0,
    send() {},
    sendEntries() {},
    destroy() {
      c.destroyed = true;
    },
  };
  return c as unknown as PeerConnection & { destroyed: boolean };
}

function leader(startLsn: number, followers: string[]): LeaderPartition {
  const engine = { health: () => ({ state: 'ok' }) } as unknown as EngineLike;
  const writer = { apply: () => Promise.resolve() } as unknown as PartitionWriter;
  return new LeaderPartition(
    2,
    engine,
    writer,
    startLsn,
    followers,
    { entries: 100, bytes: 1 << 20 },
    {},
    { self: 'n1', epoch: 3, history: new EpochHistory([[3, 1]]), isr: ['n1', ...followers], minInSync: 1 },
  );
}

describe('a leader that starts again in the same epoch', () => {
  it('resyncs a follower whose first subscription claims more than it started with', async () => {
    const lp = leader(7, ['n2', 'n3']);
    // The restarted leader takes a write at LSN 8 before n2 comes back; n2 holds another entry 8.
    expect(await lp.write([[enc('k'), enc('new')]], 0, 1000)).toBe(8);
    const history = { epoch: 3, history: new EpochHistory([[3, 1]]) };
    expect(lp.subscribe('n2', stubConn(), 8, history)).toBe('resync');
    // n3 had only what the leader started with: streamed from there, entry 8 included.
    expect(lp.subscribe('n3', stubConn(), 7, history)).toBe('stream');
  });

  it('shows a follower being resynced as catching up, not down', async () => {
    const lp = leader(7, ['n2', 'n3']);
    await lp.write([[enc('k'), enc('new')]], 0, 1000);
    const history = { epoch: 3, history: new EpochHistory([[3, 1]]) };
    lp.setIsr(['n1']); // both followers out of the in-sync set
    expect(lp.subscribe('n2', stubConn(), 8, history)).toBe('resync');
    const state = (id: string) => lp.followerState(lp.progress().find((f) => f.id === id)!);
    const n2 = lp.progress().find((f) => f.id === 'n2')!;
    expect(n2.live).toBe(false);
    expect(n2.subscribed).toBe(true);
    // n3 has not subscribed at all.
    expect(lp.progress().find((f) => f.id === 'n3')!.subscribed).toBe(false);
    expect(state('n2')).toBe('catching-up');
    expect(state('n3')).toBe('down');
  });

  it('streams later subscriptions from what they claim', async () => {
    const lp = leader(7, ['n2']);
    const history = { epoch: 3, history: new EpochHistory([[3, 1]]) };
    expect(lp.subscribe('n2', stubConn(), 7, history)).toBe('stream');
    expect(await lp.write([[enc('k'), enc('v')]], 0, 1000)).toBe(8);
    // n2 received and applied entry 8 from this leader, then reconnected.
    expect(lp.subscribe('n2', stubConn(), 8, history)).toBe('stream');
  });
});

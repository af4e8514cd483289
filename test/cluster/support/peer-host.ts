// A node as dispatchPeerMessage sees it, for tests and benchmarks that drive the real peer handlers
// over a real connection without a whole node: every check passes (an authenticated node, in-flight
// budget, no start-up in progress), the partitions it leads are `leaderOf`'s, and nothing is logged.

import { FollowerLink } from '../../../cluster/node/follower-link.js';
import type { FollowerPartition } from '../../../cluster/node/follower-partition.js';
import type { EngineLike } from '../../../cluster/node/engine-api.js';
import type { LeaderPartition } from '../../../cluster/node/leader-partition.js';
import type { PeerHost } from '../../../cluster/node/peer-handlers.js';
import type { PeerConnection } from '../../../cluster/protocol/peer-connection.js';

export function fakePeerHost(leaderOf: (p: number) => LeaderPartition | undefined, selfId = 'L'): PeerHost {
  return {
    selfId,
    metrics: { countPeerMessage() {} },
    security: {
      takeInflight: (c: PeerConnection) => {
        c.inflight++;
        return true;
      },
      isNode: () => true,
      auditPeer() {},
    },
    topology: () => ({ partitions: 16, placement: [] }),
    state: { node: { currentEpoch: 1 } },
    failover: { heartbeatSoon() {} },
    leaderOf,
    opening: () => false,
    log: { warn() {}, info() {}, debug() {} },
    writeTimeoutMs: 5000,
  } as unknown as PeerHost;
}

/**
 * Node 'f' following node 'L' (listening on 127.0.0.1:`port`) for `partitions`, in epoch 1 with an
 * empty history, as fakePeerHost's leaders expect; nothing is logged. Not started.
 */
export function followerLinkTo(port: number, partitions: FollowerPartition[]): FollowerLink {
  return new FollowerLink(
    {
      selfId: 'f',
      leaderId: 'L',
      address: () => ({ host: '127.0.0.1', port }),
      epoch: () => 1,
      subscription: () => ({ pe: 1, h: [[1, 1]] }),
      maxFrameBytes: 1 << 26,
      log: () => {},
    },
    partitions,
  );
}

/**
 * An engine that stores nothing: every batch succeeds at once, every key is missing, unless
 * `overrides` says otherwise (e.g. a `get` that answers a fixed value). For the replication path's
 * benchmarks and tests, which measure or check everything but the engine.
 */
export function stubEngine(overrides: Record<string, unknown> = {}): EngineLike {
  return {
    batch: () => Promise.resolve(),
    health: () => ({ state: 'ok' }),
    get: async () => undefined,
    iterator: () => {
      throw new Error('unused');
    },
    snapshot: () => ({ release() {} }),
    stats: () => ({}),
    close: async () => {},
    ...overrides,
  } as unknown as EngineLike;
}

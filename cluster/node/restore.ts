// Bringing the partitions a node leads up to date before it leads them. A leader whose data lost
// something (a wiped or replaced disk; the unsynced tail of its log after a power cut) must not go
// on numbering from where its own copy stops: its followers, being ahead, would be resynced to its
// state and the lost writes would be gone everywhere. So at start-up a node asks each follower of
// each partition it leads for its LSN and, when one is ahead, pulls a full copy of the partition
// from the most advanced one (the snapshot stream a follower gets, in the other direction); only
// then does it lead. Followers have a prefix of the leader's log, so the most advanced one holds
// everything any replica has. Usually every follower answers with the leader's own LSN and nothing
// moves.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { PeerConnection } from '../protocol/peer-connection.js';
import { MsgType } from '../protocol/messages.js';
import { nodeAddress } from '../topology.js';
import { parsePush } from './follower-link.js';
import { FollowerPartition } from './follower-partition.js';
import type { ClusterConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { PeerPool } from '../protocol/peer-pool.js';
import type { Topology } from '../topology.js';
import type { EngineLike } from './engine-api.js';
import type { PartitionWriter } from './partition-writer.js';

/** What restoring needs of the node. */
import type { NodeSecurity } from '../security/node-security.js';

export interface RestoreHost {
  readonly config: Pick<ClusterConfig, 'maxFrameBytes'>;
  readonly pool: PeerPool;
  readonly engine: EngineLike;
  readonly writer: PartitionWriter;
  readonly log: Logger;
  /** TLS and the node handshake for the connection to the follower (cluster/security). */
  readonly security: Pick<NodeSecurity, 'outboundPeerOptions'>;
  topology(): Topology;
}

/** How long to wait for a follower that does not answer before leading without its copy. */
export const RESTORE_WAIT_MS = 5000;

interface StatusReply {
  followers?: { p: number; lsn: number }[];
}

/** The LSN each follower of p reports (followers that never answered are missing). */
async function followerLsns(node: RestoreHost, p: number, deadline: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const followers = node.topology().placement[p]!.followers;
  while (out.size < followers.length && Date.now() < deadline) {
    await Promise.all(
      followers
        .filter((f) => !out.has(f))
        .map(async (f) => {
          try {
            const r = (await node.pool.request(f, MsgType.STATUS, null, 1000)) as StatusReply;
            const mine = r.followers?.find((x) => x.p === p);
            if (mine) out.set(f, mine.lsn);
          } catch {
            // not up yet
          }
        }),
    );
    if (out.size < followers.length) await new Promise((r) => setTimeout(r, 200));
  }
  return out;
}

/** Pulls partition p from node `from`; resolves with the LSN restored. */
async function pull(node: RestoreHost, p: number, from: string): Promise<number> {
  const addr = nodeAddress(node.topology(), from)!;
  let failure: Error | undefined;
  const fp = new FollowerPartition(p, from, node.engine, node.writer, 0, (_p, e) => (failure = e));
  const conn = await PeerConnection.connect(addr.host, addr.peerPort, {
    maxFrameBytes: node.config.maxFrameBytes,
    epoch: () => node.topology().epoch,
    ...node.security.outboundPeerOptions(from),
    onMessage: (msg, c) => {
      try {
        const w = parsePush(msg, c);
        if (w.body.p === p) fp.push(w);
      } catch (e) {
        failure = e as Error;
        c.destroy();
      }
    },
  });
  try {
    await conn.request(MsgType.PULL, { p }, 0);
    await fp.idle();
  } finally {
    conn.destroy();
  }
  if (failure) throw failure;
  if (fp.lsn < 0) throw new Eau2Error(ErrorCode.UNAVAILABLE, `restore of partition ${p} from ${from} did not complete`);
  return fp.lsn;
}

/** Restores every partition in `parts` from its most advanced follower, where one is ahead of `ownLsn`. */
export async function restoreFromFollowers(
  node: RestoreHost,
  parts: number[],
  ownLsn: (p: number) => number,
): Promise<void> {
  const deadline = Date.now() + RESTORE_WAIT_MS;
  await Promise.all(
    parts.map(async (p) => {
      const lsns = await followerLsns(node, p, deadline);
      let best: string | undefined;
      let bestLsn = ownLsn(p);
      for (const [f, lsn] of lsns) if (lsn > bestLsn) [best, bestLsn] = [f, lsn];
      if (lsns.size < node.topology().placement[p]!.followers.length) {
        node.log.warn({ p, answered: [...lsns.keys()] }, 'not every follower answered; leading with the copies known');
      }
      if (!best) return;
      node.log.warn(
        { p, from: best, lsn: bestLsn, own: ownLsn(p) },
        'a follower is ahead: restoring the led partition from it',
      );
      for (let attempt = 1; ; attempt++) {
        try {
          await pull(node, p, best);
          return;
        } catch (e) {
          if (attempt >= 3) throw e;
          node.log.warn({ p, from: best, err: (e as Error).message }, 'restore attempt failed; retrying');
        }
      }
    }),
  );
}

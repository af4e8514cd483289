// The node's place in the cluster. The coordinator (the config's first node) keeps the epoch, in its
// engine so it survives restarts, and sees who is alive from the nodes' registrations, which every
// other node repeats each second as a heartbeat; each answer carries the topology, so nodes learn
// the epoch and the liveness that read routing uses. A node that cannot reach the coordinator keeps
// serving with the topology it has.

import { encodeLsn, EPOCH_KEY } from './stored-format.js';
import { MsgType } from '../protocol/messages.js';
import { parseTopology, type Topology } from '../topology.js';
import type { Logger } from '../log.js';
import type { PeerPool } from '../protocol/peer-pool.js';
import type { EngineLike } from './engine-api.js';

/** What coordination needs of the node: its identity, engine, peers and the topology it routes by. */
export interface CoordinationHost {
  readonly selfId: string;
  readonly engine: EngineLike;
  readonly pool: PeerPool;
  readonly log: Logger;
  topology(): Topology;
  setTopology(t: Topology): void;
}

const HEARTBEAT_MS = 1000;
/** A node not heard from for this long is reported down. */
const DOWN_AFTER_MS = 3000;

export class Coordination {
  private timer: NodeJS.Timeout | undefined;
  private readonly lastSeen = new Map<string, number>();
  /** A node never heard from is 'unknown' only this early in the coordinator's life (from start()), then 'down'. */
  private startedAt = Date.now();
  private stopped = false;

  constructor(private readonly node: CoordinationHost) {}

  get isCoordinator(): boolean {
    return this.node.topology().coordinator === this.node.selfId;
  }

  start(): void {
    this.startedAt = Date.now();
    if (this.isCoordinator) {
      void this.node.engine
        .get(EPOCH_KEY)
        .then((v) => {
          if (!v)
            return this.node.engine.batch([
              { type: 'put', key: EPOCH_KEY, value: encodeLsn(this.node.topology().epoch) },
            ]);
        })
        .catch((e: Error) => this.node.log.error({ err: e.message }, 'cannot persist the epoch'));
    }
    this.tick();
  }

  private tick(): void {
    if (this.stopped) return;
    const done = (): void => {
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), HEARTBEAT_MS);
    };
    if (this.isCoordinator) {
      this.refreshStatuses();
      done();
    } else {
      this.register().finally(done);
    }
  }

  /** Coordinator: a node registered (or heartbeat); answers with the topology. */
  onRegister(nodeId: string): Topology {
    if (this.node.topology().nodes.some((n) => n.id === nodeId)) this.lastSeen.set(nodeId, Date.now());
    this.refreshStatuses();
    return this.node.topology();
  }

  private refreshStatuses(): void {
    const now = Date.now();
    for (const n of this.node.topology().nodes) {
      if (n.id === this.node.selfId) n.status = 'up';
      else {
        const seen = this.lastSeen.get(n.id);
        const since = seen ?? this.startedAt;
        n.status = now - since < DOWN_AFTER_MS ? (seen === undefined ? 'unknown' : 'up') : 'down';
      }
    }
  }

  private async register(): Promise<void> {
    const mine = this.node.topology();
    try {
      const t = parseTopology(
        await this.node.pool.request(mine.coordinator, MsgType.REGISTER, { node: this.node.selfId }, HEARTBEAT_MS),
      );
      if (t.epoch > mine.epoch) {
        // A newer epoch (a later failover) replaces ours, and is persisted so we never go back.
        await this.node.engine.batch([{ type: 'put', key: EPOCH_KEY, value: encodeLsn(t.epoch) }]);
        this.node.log.info({ from: mine.epoch, to: t.epoch }, 'adopted a newer epoch');
        this.node.setTopology(t);
      } else if (t.epoch === mine.epoch) {
        for (const n of mine.nodes) n.status = t.nodes.find((x) => x.id === n.id)?.status ?? 'unknown';
        const me = mine.nodes.find((n) => n.id === this.node.selfId);
        if (me) me.status = 'up';
      } else {
        this.node.log.warn({ mine: mine.epoch, coordinator: t.epoch }, 'coordinator has an older epoch');
      }
    } catch (e) {
      const c = mine.nodes.find((n) => n.id === mine.coordinator);
      if (c) c.status = 'down';
      this.node.log.debug({ err: (e as Error).message }, 'coordinator unreachable');
    }
  }

  /** Called when a message shows a newer epoch than ours: ask the coordinator now. */
  refreshSoon(): void {
    if (!this.isCoordinator) void this.register();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

// A partition this node follows: applies what its leader streams, strictly in LSN order, each group
// of entries in one engine batch together with the new LSN record (a batch shared with the node's
// other replicated writes of that event-loop turn: partition-writer.ts), and acknowledges the highest LSN
// it applied, once per group.
// Work is queued per partition and applied by one loop, so consecutive ENTRIES frames merge into one
// batch and a resync's steps never interleave with entries. Anything out of order is a protocol
// breach: the connection is dropped and the follower resubscribes from what it has persisted.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { PeerConnection } from '../protocol/peer-connection.js';
import type { MsgType, Bodies, WireOp } from '../protocol/messages.js';
import type { DecodedGroup } from '../protocol/entries-frame.js';
import type { EngineLike, EngineOp } from './engine-api.js';
import type { PartitionWriter } from './partition-writer.js';
import { encodeLsn, lsnKey, partitionRange, storedKey, LSN_RESYNCING } from './stored-format.js';

export type PushWork =
  | { kind: 'entries'; conn: PeerConnection; body: Bodies[typeof MsgType.ENTRIES] }
  /** A partition's group of an ENTRIES_BATCH read straight into engine operations (entries-frame.ts). */
  | { kind: 'ops'; conn: PeerConnection; g: DecodedGroup }
  | { kind: 'begin'; conn: PeerConnection; body: Bodies[typeof MsgType.RESYNC_BEGIN] }
  | { kind: 'chunk'; conn: PeerConnection; body: Bodies[typeof MsgType.RESYNC_CHUNK] }
  | { kind: 'end'; conn: PeerConnection; body: Bodies[typeof MsgType.RESYNC_END] }
  | { kind: 'epochs'; conn: PeerConnection; body: Bodies[typeof MsgType.EPOCHS] };

/** A push as validateBody reads it (every kind but a decoded group). */
export type ParsedPush = Exclude<PushWork, { kind: 'ops' }>;

const DELETE_CHUNK = 1000;

export class FollowerPartition {
  private queue: PushWork[] = [];
  private running: Promise<void> | undefined;
  /** Resyncs completed (for tests and logs). */
  resyncs = 0;
  /** Set by detach(): the partition no longer follows this leader; queued and later work is dropped. */
  private detached = false;

  constructor(
    readonly p: number,
    readonly leader: string,
    private readonly engine: EngineLike,
    private readonly writer: PartitionWriter,
    /** Persisted LSN, or LSN_RESYNCING while a resync is incomplete. */
    public lsn: number,
    private readonly onError: (p: number, err: Error) => void,
    /** Records the leader's epoch history (EPOCHS), in order with the entries it describes. */
    private readonly onEpochs: (p: number, h: [number, number][]) => Promise<void> = async () => {},
  ) {}

  /**
   * Stops following: nothing more is applied (queued work is dropped). Resolves with the LSN the
   * engine holds once what was being applied is done.
   */
  async detach(): Promise<number> {
    this.detached = true;
    this.queue = [];
    await this.idle();
    return this.lsn;
  }

  /**
   * Marks this copy incomplete (a damaged table of it is being dropped): from now on entries are
   * refused, so only a full resync, begun after this, makes it whole again. Waits for the work being
   * applied first, and sets the LSN with no wait after it: an entry applied later would otherwise
   * set it back, and the link would resubscribe from there, never fetching what the table held.
   */
  async markResyncing(): Promise<void> {
    await this.idle();
    this.lsn = LSN_RESYNCING;
    await this.engine.batch([{ type: 'put', key: lsnKey(this.p), value: encodeLsn(LSN_RESYNCING) }]);
  }

  get isDetached(): boolean {
    return this.detached;
  }

  push(w: PushWork): void {
    if (this.detached) return;
    this.queue.push(w);
    this.kick();
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  /** Resolves when everything queued so far has been applied or dropped. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const w = this.queue.shift()!;
      if (w.conn.closed || this.detached) continue; // the stream it belonged to is gone; we resubscribe from this.lsn
      try {
        if (w.kind === 'epochs') await this.onEpochs(this.p, w.body.h);
        else if (w.kind === 'entries') await this.applyEntries(w.conn, this.mergeEntries(w));
        else if (w.kind === 'ops') await this.applyGroups(w.conn, this.mergeGroups(w));
        else if (w.kind === 'begin') await this.beginResync();
        else if (w.kind === 'chunk') await this.applyChunk(w.body.e);
        else await this.endResync(w.conn, w.body.lsn);
      } catch (e) {
        this.onError(this.p, e as Error);
        w.conn.destroy();
      }
    }
  }

  /** Takes every ENTRIES item queued right behind `w` on the same connection: one batch for all. */
  private mergeEntries(w: PushWork & { kind: 'entries' }): [number, WireOp[]][] {
    const out = w.body.e.slice();
    while (this.queue.length > 0) {
      const n = this.queue[0]!;
      if (n.kind !== 'entries' || n.conn !== w.conn) break;
      this.queue.shift();
      for (const e of n.body.e) out.push(e);
    }
    return out;
  }

  private async applyEntries(conn: PeerConnection, entries: [number, WireOp[]][]): Promise<void> {
    if (this.lsn === LSN_RESYNCING)
      throw new Eau2Error(ErrorCode.PROTOCOL, `entries for partition ${this.p} during an unfinished resync`);
    const fresh = entries.filter(([lsn]) => lsn > this.lsn); // duplicates after a resubscribe are normal
    if (fresh.length === 0) return;
    const ops: EngineOp[] = [];
    let expect = this.lsn + 1;
    for (const [lsn, list] of fresh) {
      if (lsn !== expect)
        throw new Eau2Error(ErrorCode.PROTOCOL, `partition ${this.p}: expected LSN ${expect}, got ${lsn}`);
      expect++;
      for (const [k, v] of list) {
        const key = storedKey(this.p, k);
        ops.push(v === null ? { type: 'del', key } : { type: 'put', key, value: v });
      }
    }
    const last = expect - 1;
    // Out of the writer's read overlay: only a leader's read-modify-writes read it.
    await this.writer.apply(this.p, ops, last, false);
    this.lsn = last;
    conn.sendAck(this.p, last);
  }

  /** Takes every decoded group queued right behind `w` on the same connection: one batch for all. */
  private mergeGroups(w: PushWork & { kind: 'ops' }): DecodedGroup[] {
    const out = [w.g];
    while (this.queue.length > 0) {
      const n = this.queue[0]!;
      if (n.kind !== 'ops' || n.conn !== w.conn) break;
      this.queue.shift();
      out.push(n.g);
    }
    return out;
  }

  /** applyEntries for groups whose operations are engine operations already (stored keys). */
  private async applyGroups(conn: PeerConnection, groups: DecodedGroup[]): Promise<void> {
    if (this.lsn === LSN_RESYNCING)
      throw new Eau2Error(ErrorCode.PROTOCOL, `entries for partition ${this.p} during an unfinished resync`);
    const base = this.lsn;
    let ops: EngineOp[] | undefined;
    let expect = base + 1;
    for (const g of groups) {
      let allFresh = true;
      for (const lsn of g.lsns) {
        if (lsn <= base) {
          allFresh = false; // duplicates after a resubscribe are normal
          continue;
        }
        if (lsn !== expect)
          throw new Eau2Error(ErrorCode.PROTOCOL, `partition ${this.p}: expected LSN ${expect}, got ${lsn}`);
        expect++;
      }
      // The common case, one group of fresh entries, is handed over as it is.
      if (allFresh && ops === undefined && groups.length === 1) ops = g.ops;
      else {
        ops ??= [];
        let start = 0;
        for (let i = 0; i < g.lsns.length; i++) {
          const end = g.ends[i]!;
          if (g.lsns[i]! > base) for (let j = start; j < end; j++) ops.push(g.ops[j]!);
          start = end;
        }
      }
    }
    const last = expect - 1;
    if (last === this.lsn) return;
    // Out of the writer's read overlay: only a leader's read-modify-writes read it.
    await this.writer.apply(this.p, ops!, last, false);
    this.lsn = last;
    conn.sendAck(this.p, last);
  }

  private async beginResync(): Promise<void> {
    // Mark first: a crash from here until the end leaves a partition that must be resynced again.
    await this.engine.batch([{ type: 'put', key: lsnKey(this.p), value: encodeLsn(LSN_RESYNCING) }]);
    this.lsn = LSN_RESYNCING;
    const range = partitionRange(this.p);
    for (;;) {
      const it = this.engine.iterator({ ...range, limit: DELETE_CHUNK });
      const dels: EngineOp[] = [];
      try {
        for (let e = await it.next(); e !== undefined; e = await it.next()) dels.push({ type: 'del', key: e[0] });
      } finally {
        await it.close();
      }
      if (dels.length === 0) break;
      await this.engine.batch(dels);
    }
  }

  private async applyChunk(entries: [Uint8Array, Uint8Array][]): Promise<void> {
    if (this.lsn !== LSN_RESYNCING)
      throw new Eau2Error(ErrorCode.PROTOCOL, `resync chunk for partition ${this.p} outside a resync`);
    if (entries.length === 0) return;
    await this.engine.batch(entries.map(([k, v]) => ({ type: 'put' as const, key: storedKey(this.p, k), value: v })));
  }

  private async endResync(conn: PeerConnection, lsn: number): Promise<void> {
    if (this.lsn !== LSN_RESYNCING)
      throw new Eau2Error(ErrorCode.PROTOCOL, `resync end for partition ${this.p} outside a resync`);
    await this.engine.batch([{ type: 'put', key: lsnKey(this.p), value: encodeLsn(lsn) }]);
    this.lsn = lsn;
    this.resyncs++;
    conn.sendAck(this.p, lsn);
  }
}

// The failover state a node keeps in its engine (docs/format.md 8.6, docs/failover.md):
// node-wide, Redis Cluster's currentEpoch (the highest epoch seen) and lastVoteEpoch (the epoch of
// its last vote); per partition, the configuration it believes (epoch = Redis's configEpoch, the
// leader, the in-sync replicas and their version), the leader-epoch history of its copy, and the
// last vote it gave for the partition. Everything here is written with a synced engine batch before
// the node acts on it or answers with it: a vote or an ISR change forgotten in a crash could let two
// leaders share an epoch.

import { Packr } from 'msgpackr';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { PartitionPlacement } from '../placement.js';
import type { EngineLike, EngineOp } from './engine-api.js';
import { EpochHistory, type EpochEntry } from './epoch-history.js';

/** What gossip carries and the higher epoch (then isrVersion) wins everywhere. */
export interface PartitionConfig {
  epoch: number;
  leader: string;
  /** In-sync replicas, the leader included. */
  isr: string[];
  isrVersion: number;
}

export interface PartitionRecord extends PartitionConfig {
  history: EpochHistory;
  /** Highest epoch this node voted in for this partition, and the candidate it voted for. */
  votedEpoch: number;
  votedFor: string;
}

export interface NodeRecord {
  currentEpoch: number;
  lastVoteEpoch: number;
}

/** The epoch of the configuration every partition starts with (placement from the config). */
const FIRST_EPOCH = 1;
/** Version of the records below (docs/format.md 8.6). */
const STATE_FORMAT = 1;

const NODE_KEY = Uint8Array.of(0xff, 0xff, 0x03);
export function partitionStateKey(p: number): Uint8Array {
  return Uint8Array.of(0xff, 0xff, 0x04, p >>> 8, p & 0xff);
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** >0 when `a` supersedes `b`: a higher epoch, or the same epoch and a higher ISR version. */
export function compareConfig(a: PartitionConfig, b: PartitionConfig): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.isrVersion - b.isrVersion;
}

function corrupt(what: string): Eau2Error {
  return new Eau2Error(ErrorCode.CORRUPTION, `failover state: ${what}`);
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function encodeNodeRecord(r: NodeRecord): Uint8Array {
  return packr.pack({ v: STATE_FORMAT, ce: r.currentEpoch, lve: r.lastVoteEpoch });
}

function decodeNodeRecord(b: Uint8Array): NodeRecord {
  const o = packr.unpack(b) as Record<string, unknown>;
  if (o?.v !== STATE_FORMAT) throw corrupt(`node record version ${String(o?.v)}`);
  if (!isUint(o.ce) || !isUint(o.lve)) throw corrupt('node record fields');
  return { currentEpoch: o.ce, lastVoteEpoch: o.lve };
}

export function encodePartitionRecord(r: PartitionRecord): Uint8Array {
  return packr.pack({
    v: STATE_FORMAT,
    e: r.epoch,
    l: r.leader,
    isr: r.isr,
    iv: r.isrVersion,
    h: r.history.entries,
    ve: r.votedEpoch,
    vf: r.votedFor,
  });
}

export function decodePartitionRecord(b: Uint8Array): PartitionRecord {
  const o = packr.unpack(b) as Record<string, unknown>;
  if (o?.v !== STATE_FORMAT) throw corrupt(`partition record version ${String(o?.v)}`);
  if (!isUint(o.e) || typeof o.l !== 'string' || !isUint(o.iv) || !isUint(o.ve) || typeof o.vf !== 'string')
    throw corrupt('partition record fields');
  if (!Array.isArray(o.isr) || !o.isr.every((x) => typeof x === 'string')) throw corrupt('partition record isr');
  if (!Array.isArray(o.h) || !o.h.every((x) => Array.isArray(x) && x.length === 2 && isUint(x[0]) && isUint(x[1])))
    throw corrupt('partition record history');
  let history: EpochHistory;
  try {
    history = new EpochHistory(o.h as EpochEntry[]);
  } catch (e) {
    throw corrupt((e as Error).message);
  }
  return {
    epoch: o.e,
    leader: o.l,
    isr: o.isr as string[],
    isrVersion: o.iv,
    history,
    votedEpoch: o.ve,
    votedFor: o.vf,
  };
}

/** The configuration a partition starts with: the config's placement, every replica in sync. */
export function initialRecord(pl: PartitionPlacement): PartitionRecord {
  return {
    epoch: FIRST_EPOCH,
    leader: pl.leader,
    isr: [pl.leader, ...pl.followers],
    isrVersion: 0,
    // Data written before failover state existed was all written under the first epoch.
    history: new EpochHistory([[FIRST_EPOCH, 1]]),
    votedEpoch: 0,
    votedFor: '',
  };
}

/** A node's failover state, in memory and in its engine. */
export class FailoverState {
  private constructor(
    private readonly engine: EngineLike,
    readonly node: NodeRecord,
    readonly parts: PartitionRecord[],
    /** Each partition's replicas (leader and followers of the placement): fixed by the config. */
    readonly replicas: readonly (readonly string[])[],
  ) {}

  /** Reads the state, or starts it from the placement where none is stored (a new or older node). */
  static async load(engine: EngineLike, placement: readonly PartitionPlacement[]): Promise<FailoverState> {
    const nb = await engine.get(NODE_KEY);
    const node = nb ? decodeNodeRecord(nb) : { currentEpoch: FIRST_EPOCH, lastVoteEpoch: 0 };
    const parts: PartitionRecord[] = [];
    for (const pl of placement) {
      const b = await engine.get(partitionStateKey(pl.partition));
      parts.push(b ? decodePartitionRecord(b) : initialRecord(pl));
    }
    const st = new FailoverState(
      engine,
      node,
      parts,
      placement.map((pl) => [pl.leader, ...pl.followers]),
    );
    if (!nb) await st.save([...parts.keys()], true);
    return st;
  }

  config(p: number): PartitionConfig {
    const r = this.parts[p]!;
    return { epoch: r.epoch, leader: r.leader, isr: r.isr.slice(), isrVersion: r.isrVersion };
  }

  /** True when `c` names only replicas of p, its leader among its ISR. */
  valid(p: number, c: PartitionConfig): boolean {
    const reps = this.replicas[p];
    return (
      reps?.includes(c.leader) === true &&
      c.isr.includes(c.leader) &&
      c.isr.every((x) => reps.includes(x)) &&
      new Set(c.isr).size === c.isr.length
    );
  }

  /**
   * Takes `c` for partition p if it supersedes what this node has (in memory: the caller saves
   * before acting). Returns true if taken. Also raises currentEpoch to c.epoch.
   */
  adopt(p: number, c: PartitionConfig): boolean {
    const r = this.parts[p]!;
    if (c.epoch > this.node.currentEpoch) this.node.currentEpoch = c.epoch;
    if (compareConfig(c, r) <= 0) return false;
    r.epoch = c.epoch;
    r.leader = c.leader;
    r.isr = c.isr.slice();
    r.isrVersion = c.isrVersion;
    return true;
  }

  /**
   * Writes the node record and the named partitions' records in one batch, synced when `sync`
   * (votes, epochs and ISR changes: always; a follower's copied history needs only ordering).
   */
  async save(parts: readonly number[], sync: boolean): Promise<void> {
    const ops: EngineOp[] = [{ type: 'put', key: NODE_KEY, value: encodeNodeRecord(this.node) }];
    for (const p of parts)
      ops.push({ type: 'put', key: partitionStateKey(p), value: encodePartitionRecord(this.parts[p]!) });
    await this.engine.batch(ops, { sync });
  }
}

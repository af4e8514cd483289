// A follower applying ENTRIES_BATCH groups read straight into engine operations (entries-frame.ts
// decodeEntriesBatch -> FollowerPartition): the groups queued together become one engine batch with
// the partition's new LSN record; entries it already holds (a resubscription's repeats) are
// skipped wherever they sit in a group; a gap in the LSNs is a protocol breach that applies nothing
// and drops the connection; the acknowledgement carries the highest LSN applied.

import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { EngineLike, EngineOp } from '../../cluster/node/engine-api.js';
import { FollowerPartition } from '../../cluster/node/follower-partition.js';
import { PartitionWriter } from '../../cluster/node/partition-writer.js';
import { decodeLsn, lsnKey, storedKey } from '../../cluster/node/stored-format.js';
import { type DecodedGroup, decodeEntriesBatch } from '../../cluster/protocol/entries-frame.js';
import { MsgType, type WireOp } from '../../cluster/protocol/messages.js';
import type { PeerConnection } from '../../cluster/protocol/peer-connection.js';
import { stubEngine } from './support/peer-host.js';

const P = 3;
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

function recordingEngine(): EngineLike & { batches: EngineOp[][] } {
  const e = {
    ...stubEngine(),
    batches: [] as EngineOp[][],
    batch(ops: EngineOp[]): Promise<void> {
      e.batches.push(ops.slice());
      return Promise.resolve();
    },
  };
  return e;
}

function fakeConn(): PeerConnection & { acks: [number, number][] } {
  const c = {
    closed: false,
    acks: [] as [number, number][],
    sendAck(p: number, lsn: number) {
      c.acks.push([p, lsn]);
    },
    destroy() {
      c.closed = true;
    },
  };
  return c as unknown as PeerConnection & { acks: [number, number][] };
}

/** Partition P's group of a frame holding `entries`, as a follower's connection decodes it. */
function group(entries: [number, WireOp[]][]): DecodedGroup {
  const d = decodeEntriesBatch(packr.pack([MsgType.ENTRIES_BATCH, 0, 1, { g: [[P, entries]] }]));
  if (!d) throw new Error('not decoded');
  return d.body.groups[0]!;
}

const put = (k: string): WireOp => [Buffer.from(k), Uint8Array.of(0, 1)];

/** Each batch as its data keys (user keys) and its LSN record. */
function shape(batches: EngineOp[][]): { keys: string[]; lsn: number[] }[] {
  const lk = Buffer.from(lsnKey(P)).toString('hex');
  return batches.map((b) => ({
    keys: b
      .filter((op) => Buffer.from(op.key).toString('hex') !== lk)
      .map((op) => Buffer.from(op.key.subarray(2)).toString()),
    lsn: b
      .filter((op) => Buffer.from(op.key).toString('hex') === lk)
      .map((op) => decodeLsn((op as { value: Uint8Array }).value)),
  }));
}

describe('FollowerPartition with decoded ENTRIES_BATCH groups', () => {
  it('applies the groups queued together as one batch, skipping entries it holds, and acknowledges the last', async () => {
    const engine = recordingEngine();
    const fp = new FollowerPartition(P, 'L', engine, new PartitionWriter(engine), 2, () => {});
    const conn = fakeConn();
    // LSNs 1-2 are held already: a resubscription repeats them, once behind fresh ones. The first
    // group is applied at once; the two pushed while it is applied go as one batch.
    fp.push({
      kind: 'ops',
      conn,
      g: group([
        [1, [put('a')]],
        [2, [put('b')]],
        [3, [put('c'), put('d')]],
      ]),
    });
    fp.push({
      kind: 'ops',
      conn,
      g: group([
        [2, [put('b')]],
        [4, [[Buffer.from('e'), null]]],
      ]),
    });
    fp.push({ kind: 'ops', conn, g: group([[5, [put('f')]]]) });
    await fp.idle();
    expect(shape(engine.batches)).toEqual([
      { keys: ['c', 'd'], lsn: [3] },
      { keys: ['e', 'f'], lsn: [5] },
    ]);
    const del = engine.batches[1]!.find((op) => Buffer.from(op.key.subarray(2)).toString() === 'e')!;
    expect(del.type).toBe('del');
    expect(Buffer.from(del.key).equals(Buffer.from(storedKey(P, Buffer.from('e'))))).toBe(true);
    expect(conn.acks).toEqual([
      [P, 3],
      [P, 5],
    ]);
    expect(fp.lsn).toBe(5);
    // Nothing new: nothing written, nothing acknowledged.
    fp.push({ kind: 'ops', conn, g: group([[5, [put('f')]]]) });
    await fp.idle();
    expect(engine.batches).toHaveLength(2);
    expect(conn.acks).toHaveLength(2);
  });

  it('refuses a gap: nothing of the frame is applied and the connection is dropped', async () => {
    const engine = recordingEngine();
    const errors: Error[] = [];
    const fp = new FollowerPartition(P, 'L', engine, new PartitionWriter(engine), 0, (_p, e) => errors.push(e));
    const conn = fakeConn();
    fp.push({
      kind: 'ops',
      conn,
      g: group([
        [1, [put('a')]],
        [3, [put('c')]],
      ]),
    });
    await fp.idle();
    expect(engine.batches).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([`partition ${P}: expected LSN 2, got 3`]);
    expect(conn.closed).toBe(true);
    expect(fp.lsn).toBe(0);
  });
});

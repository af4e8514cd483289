// A followed partition marked incomplete before a damaged table of it is dropped (repair.ts,
// FollowerPartition.markResyncing): entries that arrive while the mark is being written are refused,
// never applied, so the LSN cannot go back to a number and the link cannot resubscribe from there
// (an incremental stream would never bring back what the dropped table held).

import { describe, expect, it } from 'vitest';
import type { EngineLike, EngineOp } from '../../cluster/node/engine-api.js';
import { FollowerPartition } from '../../cluster/node/follower-partition.js';
import { PartitionWriter } from '../../cluster/node/partition-writer.js';
import { decodeLsn, LSN_RESYNCING, lsnKey } from '../../cluster/node/stored-format.js';
import type { PeerConnection } from '../../cluster/protocol/peer-connection.js';
import { stubEngine } from './support/peer-host.js';

const P = 1;

/** An engine whose batches finish only when the test releases them, one at a time, in order. */
function gatedEngine(): EngineLike & { batches: EngineOp[][]; release(): void; pending(): number } {
  const waiting: (() => void)[] = [];
  const e = {
    ...stubEngine(),
    batches: [] as EngineOp[][],
    batch(ops: EngineOp[]): Promise<void> {
      e.batches.push(ops);
      return new Promise<void>((r) => waiting.push(r));
    },
    release: () => waiting.shift()?.(),
    pending: () => waiting.length,
  };
  return e;
}

function fakeConn(): PeerConnection & { sent: unknown[] } {
  const c = {
    closed: false,
    sent: [] as unknown[],
    send(_t: number, body: unknown) {
      c.sent.push(body);
    },
    sendAck(p: number, lsn: number) {
      c.sent.push({ p, lsn });
    },
    destroy() {
      c.closed = true;
    },
  };
  return c as unknown as PeerConnection & { sent: unknown[] };
}

/** The LSN records written, in order, as numbers. */
function lsnRecords(batches: EngineOp[][]): number[] {
  const key = Buffer.from(lsnKey(P)).toString('hex');
  return batches.flatMap((b) =>
    b
      .filter((op) => op.type === 'put' && Buffer.from(op.key).toString('hex') === key)
      .map((op) => decodeLsn((op as { value: Uint8Array }).value)),
  );
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
};

describe('FollowerPartition.markResyncing', () => {
  it('refuses entries that arrive while the mark is written; the LSN stays LSN_RESYNCING', async () => {
    const engine = gatedEngine();
    const errors: string[] = [];
    const fp = new FollowerPartition(P, 'n1', engine, new PartitionWriter(engine), 10, (_p, e) =>
      errors.push(e.message),
    );
    const conn = fakeConn();
    const entry = (lsn: number) => ({
      kind: 'entries' as const,
      conn,
      body: {
        p: P,
        e: [[lsn, [[Buffer.from(`k${lsn}`), Buffer.from('v')]]]] as [number, [Uint8Array, Uint8Array][]][],
      },
    });
    // Entry 11 is being applied when the repair marks the copy.
    fp.push(entry(11) as never);
    await until(() => engine.pending() === 1);
    const marked = fp.markResyncing();
    engine.release(); // entry 11 applied
    await until(() => engine.pending() === 1 && lsnRecords(engine.batches).at(-1) === LSN_RESYNCING);
    expect(fp.lsn).toBe(LSN_RESYNCING);
    // Entry 12 arrives while the mark is still being written.
    fp.push(entry(12) as never);
    await until(() => errors.length === 1);
    engine.release(); // the mark is written
    await marked;
    await fp.idle();
    expect(errors[0]).toMatch(/unfinished resync/);
    expect(conn.closed).toBe(true); // the link resubscribes, from LSN_RESYNCING: a full resync
    expect(fp.lsn).toBe(LSN_RESYNCING);
    expect(lsnRecords(engine.batches)).toEqual([11, LSN_RESYNCING]);
  });
});

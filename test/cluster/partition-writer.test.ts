// PartitionWriter: the replicated writes a node issues within one turn of the event loop reach the
// engine as one atomic batch, with one LSN record per partition holding that partition's highest LSN; a failed
// batch fails every write in it; writes of a later turn form a new batch, in order.

import { describe, expect, it } from 'vitest';
import type { EngineLike, EngineOp } from '../../cluster/node/engine-api.js';
import { PartitionWriter } from '../../cluster/node/partition-writer.js';
import { decodeLsn, lsnKey, storedKey } from '../../cluster/node/stored-format.js';
import { stubEngine } from './support/peer-host.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString();

/** Records the batches it is given; fails the next batch when `failNext` is set. */
function fakeEngine(): EngineLike & { batches: EngineOp[][]; failNext: boolean } {
  const e = {
    ...stubEngine(),
    batches: [] as EngineOp[][],
    failNext: false,
    async batch(ops: EngineOp[]): Promise<void> {
      e.batches.push(ops);
      if (e.failNext) {
        e.failNext = false;
        throw new Error('disk full');
      }
    },
  };
  return e;
}

const put = (p: number, k: string, v: string): EngineOp => ({
  type: 'put',
  key: storedKey(p, Buffer.from(k)),
  value: Buffer.from(v),
});

/** The batch as readable lines: "p/key=value", "p/key deleted", "lsn p=N". */
function describeBatch(ops: EngineOp[]): string[] {
  return ops.map((op) => {
    if (op.key[0] === 0xff && op.key[1] === 0xff)
      return `lsn ${(op.key[3]! << 8) | op.key[4]!}=${decodeLsn((op as { value: Uint8Array }).value)}`;
    const k = `${(op.key[0]! << 8) | op.key[1]!}/${text(op.key.subarray(2))}`;
    return op.type === 'put' ? `${k}=${text(op.value)}` : `${k} deleted`;
  });
}

describe('PartitionWriter', () => {
  it('applies the writes of one turn as one batch with one LSN record per partition, the highest', async () => {
    const e = fakeEngine();
    const w = new PartitionWriter(e);
    await Promise.all([
      w.apply(3, [put(3, 'a', '1')], 10),
      w.apply(5, [put(5, 'x', '1')], 7),
      w.apply(3, [put(3, 'a', '2'), { type: 'del', key: storedKey(3, Buffer.from('b')) }], 11),
      w.apply(3, [put(3, 'c', '1')], 12),
    ]);
    expect(e.batches.map(describeBatch)).toEqual([
      ['3/a=1', '5/x=1', '3/a=2', '3/b deleted', '3/c=1', 'lsn 3=12', 'lsn 5=7'],
    ]);
    expect(lsnKey(3)).toEqual(e.batches[0]![5]!.key);
    expect([w.batches, w.writes]).toEqual([1, 4]);
  });

  it('starts a new batch for writes issued after the first was handed over, in issue order', async () => {
    const e = fakeEngine();
    const w = new PartitionWriter(e);
    const first = w.apply(1, [put(1, 'k', 'old')], 1);
    await new Promise((r) => setImmediate(r)); // the group is handed to the engine as the turn ends
    expect(e.batches.length).toBe(1);
    const second = w.apply(1, [put(1, 'k', 'new')], 2);
    await Promise.all([first, second]);
    expect(e.batches.map(describeBatch)).toEqual([
      ['1/k=old', 'lsn 1=1'],
      ['1/k=new', 'lsn 1=2'],
    ]);
  });

  it('joins the writes of separate callbacks of one turn (sockets, timers) into one batch', async () => {
    const e = fakeEngine();
    const w = new PartitionWriter(e);
    // Two callbacks of one phase, as the 'data' callbacks of several ready sockets run in one poll
    // phase; microtasks run between them, and the batch waits for both. They are immediates, which
    // run in one check phase for certain: two setTimeout(0)s set one after the other each read the
    // loop's clock afresh, and under load can be due a millisecond apart, in two turns.
    const issued = await new Promise<Promise<void>[]>((resolve) => {
      const all: Promise<void>[] = [];
      setImmediate(() => all.push(w.apply(1, [put(1, 'a', '1')], 1)));
      setImmediate(() => {
        queueMicrotask(() => {
          all.push(w.apply(2, [put(2, 'b', '1')], 4));
          resolve(all);
        });
      });
    });
    expect(e.batches.length).toBe(0); // not handed over before the turn's callbacks have run
    await Promise.all(issued);
    expect(e.batches.map(describeBatch)).toEqual([['1/a=1', '2/b=1', 'lsn 1=1', 'lsn 2=4']]);
  });

  it('fails every write of a batch the engine refused, and the next batch goes on', async () => {
    const e = fakeEngine();
    const w = new PartitionWriter(e);
    e.failNext = true;
    const results = await Promise.allSettled([w.apply(1, [put(1, 'a', '1')], 1), w.apply(2, [put(2, 'b', '1')], 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await w.apply(1, [put(1, 'a', '2')], 2);
    expect(e.batches.map(describeBatch)[1]).toEqual(['1/a=2', 'lsn 1=2']);
  });

  it('hands a group over at once when it grows past its byte limit', async () => {
    const e = fakeEngine();
    const w = new PartitionWriter(e);
    const big = 'x'.repeat(1024 * 1024);
    const done = [1, 2, 3, 4, 5].map((lsn) => w.apply(0, [put(0, `k${lsn}`, big)], lsn));
    expect(e.batches.length).toBe(1); // 4 MiB reached on the fourth write, before the microtask ends
    await Promise.all(done);
    expect(e.batches.map((b) => describeBatch(b).filter((l) => l.startsWith('lsn')))).toEqual([
      ['lsn 0=4'],
      ['lsn 0=5'],
    ]);
  });

  it("keeps a leader's writes readable until they commit, and a follower's runs out of the overlay", async () => {
    const e = fakeEngine();
    const w = new PartitionWriter(e);
    const led = w.apply(1, [put(1, 'k', 'leader')], 1);
    const followed = w.apply(
      2,
      [put(2, 'k', 'follower'), { type: 'del', key: storedKey(2, Buffer.from('d')) }],
      9,
      false,
    );
    // Before the group commits: the leader's write is visible, the follower's are not.
    expect(text(w.latest(storedKey(1, Buffer.from('k')))!)).toBe('leader');
    expect(w.settled(storedKey(1, Buffer.from('k')))).toBeInstanceOf(Promise);
    expect(w.latest(storedKey(2, Buffer.from('k')))).toBeUndefined();
    expect(w.latest(storedKey(2, Buffer.from('d')))).toBeUndefined();
    expect(w.settled(storedKey(2, Buffer.from('k')))).toBeUndefined();
    await Promise.all([led, followed]);
    // Both went to the engine in the same batch, each with its partition's LSN record.
    expect(e.batches.map(describeBatch)).toEqual([['1/k=leader', '2/k=follower', '2/d deleted', 'lsn 1=1', 'lsn 2=9']]);
    expect(w.latest(storedKey(1, Buffer.from('k')))).toBeUndefined();
  });

  it('tells keys apart byte for byte in the overlay, whatever their bytes', async () => {
    const e = fakeEngine();
    const w = new PartitionWriter(e);
    const keys = [
      Uint8Array.of(0),
      Uint8Array.of(0, 0),
      Uint8Array.of(0xff),
      Uint8Array.of(0xc3, 0xa9),
      Uint8Array.of(0xe9),
    ];
    const done = keys.map((k, i) =>
      w.apply(4, [{ type: 'put', key: storedKey(4, k), value: Uint8Array.of(i) }], i + 1),
    );
    keys.forEach((k, i) => expect(w.latest(storedKey(4, k))).toEqual(Uint8Array.of(i)));
    // A view into a larger buffer is keyed by its own bytes only.
    const big = new Uint8Array([9, 9, 0, 4, 0xff, 9]);
    expect(w.latest(big.subarray(2, 5))).toEqual(Uint8Array.of(2));
    await Promise.all(done);
  });
});

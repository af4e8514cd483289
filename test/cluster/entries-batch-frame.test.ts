// The ENTRIES_BATCH frame (protocol version 4, docs/format.md 8.4) written by hand: byte for byte
// what msgpackr writes for the same message at every width of its group count, partitions and
// epochs and for random batches (seeded: EAU2_SEED replays one), decoded back through the frame
// decoder and the checks; the hand decoder straight into engine operations (the same groups, keys
// with their partition prefix; any other layout or a bad value left to msgpack, the frame
// untouched); the ACK_BATCH checks; and PeerConnection joining a turn's entries and
// acknowledgements into one frame each while keeping every frame's order.

import net from 'node:net';
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_SEED, seededRng, type Rng } from '../engine/vfs/seeded-random.js';
import {
  type DecodedEntriesBatch,
  decodeEntriesBatch,
  EntryArena,
  encodeEntriesBatchFrame,
} from '../../cluster/protocol/entries-frame.js';
import { storedKey } from '../../cluster/node/stored-format.js';
import { FRAME_HEADER_BYTES, FrameDecoder, writeU32 } from '../../cluster/protocol/frame-codec.js';
import { decodeMessage, type Message, MsgType, validateBody, type WireOp } from '../../cluster/protocol/messages.js';
import { PeerConnection } from '../../cluster/protocol/peer-connection.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
type Group = [number, [number, WireOp[]][]];

function msgpackrFrame(epoch: number, g: Group[]): Buffer {
  const out = packr.pack([MsgType.ENTRIES_BATCH, 0, epoch, { g }], RESERVE_START_SPACE | FRAME_HEADER_BYTES);
  writeU32(out, 0, out.length - FRAME_HEADER_BYTES);
  return Buffer.from(out);
}

function handFrame(epoch: number, g: Group[]): Buffer {
  const arena = new EntryArena();
  const parts = encodeEntriesBatchFrame(
    epoch,
    g.map(([p, e]) => [p, e.map(([lsn, ops]) => arena.encode(lsn, ops))] as const),
  );
  return Buffer.concat(parts);
}

function randomOps(r: Rng, n: number): WireOp[] {
  return Array.from(
    { length: n },
    (): WireOp => [r.bytes(r.int(0, 40)), r.next() < 0.2 ? null : r.bytes(r.int(0, 3000))],
  );
}

function randomGroups(r: Rng): Group[] {
  return Array.from({ length: r.int(0, 20) }, (): Group => {
    let lsn = r.int(0, 2 ** 40);
    return [r.int(0, 0xfffe), Array.from({ length: r.int(0, 20) }, () => [lsn++, randomOps(r, r.int(0, 6))])];
  });
}

const hex = (g: Group[]): unknown =>
  g.map(([p, e]) => [
    p,
    e.map(([lsn, ops]) => [
      lsn,
      ops.map(([k, v]) => [Buffer.from(k).toString('hex'), v && Buffer.from(v).toString('hex')]),
    ]),
  ]);

/** A decoded batch as `hex` shows groups, its keys as the stored keys they are. */
const decodedHex = (d: DecodedEntriesBatch): unknown =>
  d.groups.map((g) => [
    g.p,
    g.lsns.map((lsn, i) => [
      lsn,
      g.ops
        .slice(i === 0 ? 0 : g.ends[i - 1], g.ends[i])
        .map((op) => [
          Buffer.from(op.key).toString('hex'),
          op.type === 'put' ? Buffer.from(op.value).toString('hex') : null,
        ]),
    ]),
  ]);

/** `hex` of groups with each key as its stored key. */
const storedHex = (g: Group[]): unknown =>
  hex(g.map(([p, e]): Group => [p, e.map(([lsn, ops]) => [lsn, ops.map(([k, v]): WireOp => [storedKey(p, k), v])])]));

describe('ENTRIES_BATCH frames written by hand', () => {
  it('are the bytes msgpackr writes at every width of epoch, partition, group and entry counts', () => {
    const ops: WireOp[] = [[Uint8Array.of(0x6b), Uint8Array.of(0, 0x76)]];
    for (const epoch of [0, 0x7f, 0x80, 0x10000, 0x100000000])
      for (const p of [0, 0x7f, 0x80, 0xff, 0x100, 0xfffe]) {
        const g: Group[] = [[p, [[7, ops]]]];
        expect(handFrame(epoch, g).equals(msgpackrFrame(epoch, g)), `epoch ${epoch} p ${p}`).toBe(true);
      }
    for (const n of [0, 1, 15, 16, 0xffff, 0x10000]) {
      const groups: Group[] = Array.from({ length: n }, (_, i): Group => [i % 0xffff, []]);
      expect(handFrame(1, groups).equals(msgpackrFrame(1, groups)), `${n} groups`).toBe(true);
      if (n > 0x100) continue;
      const entries: Group[] = [[3, Array.from({ length: n }, (_, i): [number, WireOp[]] => [i + 1, ops])]];
      expect(handFrame(1, entries).equals(msgpackrFrame(1, entries)), `${n} entries`).toBe(true);
    }
  });

  it(`are the bytes msgpackr writes for random batches and decode back to them (seed ${BASE_SEED})`, () => {
    const r = seededRng();
    for (let round = 0; round < 200; round++) {
      const epoch = r.int(0, 1000);
      const g = randomGroups(r);
      const frame = handFrame(epoch, g);
      expect(frame.equals(msgpackrFrame(epoch, g)), `seed ${BASE_SEED} round ${round}`).toBe(true);
      // Fed to the decoder in random slices, as a socket would.
      const bodies: Uint8Array[] = [];
      const dec = new FrameDecoder(64 << 20);
      for (let at = 0; at < frame.length; ) {
        const n = r.int(1, 4096);
        dec.push(frame.subarray(at, at + n), (b) => bodies.push(Uint8Array.from(b)));
        at += n;
      }
      expect(bodies, `seed ${BASE_SEED} round ${round}`).toHaveLength(1);
      const msg = decodeMessage(bodies[0]!);
      expect([msg.type, msg.id, msg.epoch]).toEqual([MsgType.ENTRIES_BATCH, 0, epoch]);
      expect(hex(validateBody(MsgType.ENTRIES_BATCH, msg.body).g), `seed ${BASE_SEED} round ${round}`).toEqual(hex(g));
      // The hand decoder reads the same frame into the same groups, keys prefixed.
      const d = decodeEntriesBatch(Uint8Array.from(bodies[0]!));
      expect(d, `seed ${BASE_SEED} round ${round}`).toBeDefined();
      expect([d!.id, d!.epoch]).toEqual([0, epoch]);
      expect(decodedHex(d!.body), `seed ${BASE_SEED} round ${round}`).toEqual(storedHex(g));
    }
  });

  it(`leaves every other layout, a bad value and every truncation to msgpack, untouched (seed ${BASE_SEED})`, () => {
    const body = (epoch: number, g: Group[]) => handFrame(epoch, g).subarray(FRAME_HEADER_BYTES);
    const r = seededRng();
    const g = randomGroups(r).filter(([, e]) => e.length > 0);
    g.push([9, [[3, randomOps(r, 3)]]]);
    const whole = body(5, g);
    for (let n = 0; n < whole.length; n += Math.max(1, Math.floor(whole.length / 300))) {
      const cut = Uint8Array.from(whole.subarray(0, n));
      const copy = Uint8Array.from(cut);
      expect(decodeEntriesBatch(cut), `seed ${BASE_SEED} cut at ${n}`).toBeUndefined();
      expect(Buffer.from(cut).equals(copy)).toBe(true);
    }
    const longer = Uint8Array.from([...whole, 0xc0]);
    expect(decodeEntriesBatch(longer)).toBeUndefined();
    // msgpack the hand decoder does not take: the generic path decides (and refuses what is wrong).
    const other: unknown[] = [
      [MsgType.ENTRIES_BATCH, 0, 1, { g: [[0xffff, []]] }], // p beyond 0xfffe
      [MsgType.ENTRIES_BATCH, 0, 1, { g: [[1, [[-1, []]]]] }], // a negative LSN
      [MsgType.ENTRIES_BATCH, 0, 1, { g: [[1, [[1, [['k', null]]]]]] }], // a string key
      [MsgType.ENTRIES_BATCH, 0, 1, { g: [[1, [[1, [[Uint8Array.of(1), 5]]]]]] }], // a number value
      [MsgType.ENTRIES_BATCH, 0, 1, { g: [], x: 1 }], // another field
      [MsgType.ENTRIES_BATCH, 0, 1, { g: [[1, [[1.5, []]]]] }],
      [MsgType.ENTRIES, 0, 1, { g: [] }],
    ];
    for (const m of other) {
      const b = packr.pack(m);
      const copy = Uint8Array.from(b);
      expect(decodeEntriesBatch(b), JSON.stringify(m)).toBeUndefined();
      expect(Buffer.from(b).equals(copy)).toBe(true);
    }
    const pc = packr.pack([MsgType.ENTRIES_BATCH, 0, 1, { g: [[1, [[1, [[Uint8Array.of(7), null]]]]]] }]);
    const ok = decodeEntriesBatch(Uint8Array.from(pc));
    expect(ok?.body.groups.map((x) => [x.p, x.lsns, x.ends, x.ops])).toEqual([
      [1, [1], [1], [{ type: 'del', key: Uint8Array.of(0, 1, 7) }]],
    ]);
  });

  it('are refused when malformed, and ACK_BATCH is checked the same way', () => {
    const bad: unknown[] = [
      null,
      {},
      { g: 1 },
      { g: [[1]] },
      { g: [[-1, []]] },
      { g: [[0xffff, []]] },
      { g: [[1, [[1]]]] },
      { g: [[1, [['x', []]]]] },
      { g: [[1, [[1, [[1, 2]]]]]] },
    ];
    for (const b of bad) expect(() => validateBody(MsgType.ENTRIES_BATCH, b), JSON.stringify(b)).toThrow(/must/);
    for (const b of [null, { a: 1 }, { a: [[1]] }, { a: [[1, -1]] }, { a: [['p', 1]] }, { a: [[0xffff, 1]] }])
      expect(() => validateBody(MsgType.ACK_BATCH, b), JSON.stringify(b)).toThrow(/must/);
    expect(
      validateBody(MsgType.ACK_BATCH, {
        a: [
          [1, 5],
          [2, 2 ** 40],
        ],
      }),
    ).toEqual({
      a: [
        [1, 5],
        [2, 2 ** 40],
      ],
    });
  });
});

describe('PeerConnection batching', () => {
  const open: (PeerConnection | net.Server)[] = [];
  afterEach(() => {
    for (const o of open.splice(0)) o instanceof net.Server ? o.close() : o.destroy();
  });

  /** A connected pair over loopback; `got` collects what the server end receives. */
  async function pair(): Promise<{ client: PeerConnection; got: Message[] }> {
    const got: Message[] = [];
    const server = net.createServer((s) => {
      open.push(new PeerConnection(s, { maxFrameBytes: 1 << 26, epoch: () => 1, onMessage: (m) => got.push(m) }));
    });
    open.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const client = await PeerConnection.connect('127.0.0.1', port, { maxFrameBytes: 1 << 26, epoch: () => 9 });
    open.push(client);
    return { client, got };
  }

  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(cond()).toBe(true);
  };

  it('sends a turn’s entries of every partition as one ENTRIES_BATCH, split only around other frames', async () => {
    const { client, got } = await pair();
    client.batchEntries = true;
    const arena = new EntryArena();
    const e = (lsn: number) => arena.encode(lsn, [[Uint8Array.of(lsn), Uint8Array.of(0, lsn)]]);
    client.sendEntries(1, [e(10), e(11)]);
    client.sendEntries(2, [e(5)]);
    client.sendEntries(1, [e(12)]); // joins partition 1's group
    client.send(MsgType.EPOCHS, { p: 3, h: [[1, 1]] });
    client.sendEntries(3, [e(1)]);
    await until(() => got.length === 3);
    expect(got.map((m) => m.type)).toEqual([MsgType.ENTRIES_BATCH, MsgType.EPOCHS, MsgType.ENTRIES_BATCH]);
    // Read by the hand decoder on arrival (PeerConnection), as a follower gets it.
    const groups = (m: Message) => (m.body as DecodedEntriesBatch).groups.map((x) => [x.p, x.lsns]);
    expect(groups(got[0]!)).toEqual([
      [1, [10, 11, 12]],
      [2, [5]],
    ]);
    expect(groups(got[2]!)).toEqual([[3, [1]]]);
  });

  it('sends ENTRIES per partition to a peer that did not announce version 4', async () => {
    const { client, got } = await pair();
    const arena = new EntryArena();
    client.sendEntries(1, [arena.encode(1, [])]);
    client.sendEntries(2, [arena.encode(1, [])]);
    await until(() => got.length === 2);
    expect(got.map((m) => [m.type, validateBody(MsgType.ENTRIES, m.body).p])).toEqual([
      [MsgType.ENTRIES, 1],
      [MsgType.ENTRIES, 2],
    ]);
  });

  it('joins a turn’s acknowledgements into one ACK_BATCH (the highest LSN per partition), ACK without batching', async () => {
    const { client, got } = await pair();
    client.sendAck(4, 1); // not batching yet: an ACK
    await until(() => got.length === 1);
    client.batchAcks = true;
    client.sendAck(1, 7);
    client.sendAck(2, 3);
    client.sendAck(1, 9);
    client.sendAck(1, 8);
    await until(() => got.length === 2);
    expect(got.map((m) => m.type)).toEqual([MsgType.ACK, MsgType.ACK_BATCH]);
    expect(validateBody(MsgType.ACK, got[0]!.body)).toEqual({ p: 4, lsn: 1 });
    expect(validateBody(MsgType.ACK_BATCH, got[1]!.body).a).toEqual([
      [1, 9],
      [2, 3],
    ]);
  });
});

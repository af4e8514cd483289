// The fixed layout of GET/PUT/DEL and their replies (protocol version 5, docs/format.md 8.8): on
// seeded random requests and replies (EAU2_SEED replays one) it decodes to exactly what the msgpack
// form decodes and validates to; every truncation, a byte too many, and seeded random and mutated
// bytes are refused with PROTOCOL (or decode to a frame that encodes back to the same bytes), never
// modifying the frame; what the layout cannot carry falls back to msgpack. Over real connections: a
// node answers each request in the layout it came in, answers a malformed fixed frame with PROTOCOL
// and changes nothing; ClusterClient negotiates the layout with a node of version 5 and keeps msgpack
// with an older node (one that answers TOPOLOGY without `v` and reads only msgpack).

import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient, NodeServer, parseConfig, type ClusterConfig } from '../../cluster/index.js';
import { createLogger } from '../../cluster/log.js';
import { openEngine } from '../../cluster/node/open-engine.js';
import {
  decodeFixed,
  encodeFixedError,
  encodeFixedReply,
  encodeFixedRequest,
  FIXED_MARK,
} from '../../cluster/protocol/fixed-frame.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from '../../cluster/protocol/frame-codec.js';
import { BinParts, LARGE_PART_BYTES } from '../../cluster/protocol/frame-parts.js';
import {
  decodeMessage,
  encodeMessage,
  encodeMessageParts,
  type Message,
  MsgType,
  READ_MODES,
  validateBody,
  validateError,
} from '../../cluster/protocol/messages.js';
import { negotiateFixedLayout, PeerConnection } from '../../cluster/protocol/peer-connection.js';
import { wrapValue } from '../../cluster/protocol/stored-value.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { BASE_SEED, seededRng, type Rng } from '../engine/vfs/seeded-random.js';
import { freePorts } from './support/cluster-harness.js';

const joinFrame = (f: Uint8Array | Uint8Array[]): Buffer => Buffer.concat(Array.isArray(f) ? f : [f]);
const bodyOf = (f: Uint8Array | Uint8Array[]): Buffer => joinFrame(f).subarray(FRAME_HEADER_BYTES);

/** A body as comparable plain data: binaries as hex, undefined fields dropped. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v).toString('hex')}`;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
  return out;
}

const HOT = [MsgType.GET, MsgType.PUT, MsgType.DEL] as const;

function randomRid(r: Rng): string | undefined {
  switch (r.int(0, 3)) {
    case 0:
      return undefined;
    case 1:
      return crypto.randomUUID();
    case 2:
      return 'é'.repeat(r.int(1, 32)); // 2 bytes each: up to the 64-byte limit
    default:
      return Array.from({ length: r.int(1, 64) }, () => String.fromCharCode(r.int(0x20, 0x7e))).join('');
  }
}

function randomValue(r: Rng): Uint8Array | BinParts {
  const n = r.next() < 0.1 ? r.int(LARGE_PART_BYTES, LARGE_PART_BYTES * 3) : r.int(0, 3000);
  const v = wrapValue(r.bytes(n));
  if (r.next() < 0.2) return new BinParts([v.subarray(0, 1), v.subarray(1)]);
  return v;
}

function randomRequest(r: Rng): { type: number; body: Record<string, unknown> } {
  const type = r.pick(HOT);
  const k = r.bytes(r.next() < 0.05 ? r.int(256, 70_000) : r.int(0, 60));
  const w = r.pick([undefined, 'all', 0, 1, 2, r.int(0, 0xffff)] as const);
  if (type === MsgType.GET) {
    const mode = r.pick([undefined, ...READ_MODES]);
    return { type, body: mode === undefined ? { k } : { k, r: mode } };
  }
  if (type === MsgType.PUT) return { type, body: { k, v: randomValue(r), w, rid: randomRid(r) } };
  return { type, body: { k, w, rid: randomRid(r) } };
}

/** What the msgpack form of the same request decodes and validates to. */
function viaMsgpack(type: number, id: number, epoch: number, body: unknown): Message {
  const m = decodeMessage(bodyOf(encodeMessageParts(type, id, epoch, body)));
  return { ...m, body: validateBody(type as (typeof HOT)[number], m.body) };
}

function expectProtocol(fn: () => unknown, what: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, what).toBeInstanceOf(Eau2Error);
  expect((err as Eau2Error).code, what).toBe(ErrorCode.PROTOCOL);
}

/** Some valid frame bodies of every kind. */
function sampleBodies(r: Rng): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 30; i++) {
    const q = randomRequest(r);
    if (q.type === MsgType.PUT) q.body.v = wrapValue(r.bytes(r.int(0, 40))); // short: every truncation is tried
    if (q.body.k instanceof Uint8Array && q.body.k.length > 60) q.body.k = r.bytes(5);
    out.push(bodyOf(encodeFixedRequest(q.type, r.int(0, 0xffffffff), r.int(0, 0xffffffff), q.body)!));
  }
  out.push(bodyOf(encodeFixedReply(7, 3, null)!));
  out.push(bodyOf(encodeFixedReply(8, 3, r.bytes(30))!));
  out.push(bodyOf(encodeFixedReply(9, 3, new Uint8Array(0))!));
  out.push(bodyOf(encodeFixedError(10, 3, ErrorCode.NOT_LEADER, 'partition 3 is led by n2 ✓')!));
  return out;
}

/** Encodes a decoded message back in the fixed layout. */
function reencode(m: Message): Buffer {
  if (m.type === MsgType.REPLY) return bodyOf(encodeFixedReply(m.id, m.epoch, m.body as Uint8Array | null)!);
  if (m.type === MsgType.ERROR) {
    const e = m.body as { code: string; message: string };
    return bodyOf(encodeFixedError(m.id, m.epoch, e.code, e.message)!);
  }
  return bodyOf(encodeFixedRequest(m.type, m.id, m.epoch, m.body)!);
}

describe('fixed layout of GET/PUT/DEL', () => {
  it(`decodes random requests to what their msgpack form validates to (seed ${BASE_SEED})`, () => {
    const r = seededRng();
    for (let round = 0; round < 2000; round++) {
      const { type, body } = randomRequest(r);
      const id = r.int(0, 0xffffffff);
      const epoch = r.pick([0, 1, r.int(0, 0xffffffff), 0xffffffff]);
      const frame = encodeFixedRequest(type, id, epoch, body);
      expect(frame, `seed ${BASE_SEED} round ${round}`).toBeDefined();
      const bytes = bodyOf(frame!);
      expect(bytes[0]).toBe(FIXED_MARK);
      // The length prefix counts every part, a large value's uncopied buffers included.
      expect(joinFrame(frame!).readUInt32BE(0), `round ${round}`).toBe(bytes.length);
      const large = body.v !== undefined && (body.v as { byteLength: number }).byteLength >= LARGE_PART_BYTES;
      expect(Array.isArray(frame), `round ${round}: parts iff a large value`).toBe(large);
      const m = decodeFixed(bytes);
      const want = viaMsgpack(type, id, epoch, body);
      expect(m.fixed).toBe(true);
      expect([m.type, m.id, m.epoch], `seed ${BASE_SEED} round ${round}`).toEqual([want.type, want.id, want.epoch]);
      expect(plain(m.body), `seed ${BASE_SEED} round ${round}`).toEqual(plain(want.body));
      // Canonical: decoding and encoding again gives the same bytes.
      expect(reencode(m).equals(bytes), `round ${round}`).toBe(true);
    }
  });

  it(`decodes random replies and errors to what msgpack's do (seed ${BASE_SEED})`, () => {
    const r = seededRng();
    const codes = Object.values(ErrorCode);
    for (let round = 0; round < 500; round++) {
      const id = r.int(1, 0xffffffff);
      const epoch = r.int(0, 0xffffffff);
      const value = r.next() < 0.3 ? null : r.bytes(r.next() < 0.1 ? r.int(70_000, 100_000) : r.int(0, 2000));
      const reply = decodeFixed(bodyOf(encodeFixedReply(id, epoch, value)!));
      const want = decodeMessage(bodyOf(encodeMessage(MsgType.REPLY, id, epoch, value)));
      expect([reply.type, reply.id, reply.epoch], `round ${round}`).toEqual([want.type, want.id, want.epoch]);
      expect(plain(reply.body), `seed ${BASE_SEED} round ${round}`).toEqual(plain(want.body));
      const code = r.pick(codes);
      const message = `${r.pick(['', 'key too large', 'partition ', 'ünïcödé ✓ '])}${r.int(0, 1e6)}`;
      const err = decodeFixed(bodyOf(encodeFixedError(id, epoch, code, message)!));
      const wantErr = decodeMessage(bodyOf(encodeMessage(MsgType.ERROR, id, epoch, { code, message })));
      expect(err.type).toBe(MsgType.ERROR);
      expect(validateError(err.body), `round ${round}`).toEqual(validateError(wantErr.body));
    }
  });

  it('leaves to msgpack what the layout cannot carry, which then gets msgpack’s error', () => {
    const k = Uint8Array.of(1, 2);
    const v = wrapValue(Uint8Array.of(3));
    const refusedBoth: [number, Record<string, unknown>][] = [
      [MsgType.PUT, { k, v, w: -1 }],
      [MsgType.PUT, { k, v, w: 'most' }],
      [MsgType.PUT, { k, v, w: 0x10000 }],
      [MsgType.PUT, { k, v, rid: '' }],
      [MsgType.PUT, { k, v, rid: 'x'.repeat(65) }],
      [MsgType.DEL, { k, rid: 'é'.repeat(33) }],
      [MsgType.PUT, { k, v: 'not binary' }],
      [MsgType.GET, { k, r: 'nearest' }],
      [MsgType.GET, { k: 'text key' }],
    ];
    for (const [type, body] of refusedBoth) {
      expect(encodeFixedRequest(type, 1, 1, body), JSON.stringify(body)).toBeUndefined();
      expectProtocol(() => viaMsgpack(type, 1, 1, body), JSON.stringify(body));
    }
    // Fine in msgpack, not in 32 bits.
    expect(encodeFixedRequest(MsgType.GET, 1, 2 ** 32, { k })).toBeUndefined();
    expect(encodeFixedReply(1, 2 ** 32, v)).toBeUndefined();
    expect(encodeFixedError(1, 1, 'C'.repeat(256), '')).toBeUndefined();
    expect(encodeFixedRequest(MsgType.SCAN, 1, 1, { p: 0, lim: 1 })).toBeUndefined();
  });

  it(`refuses every truncation and a byte too many, modifying nothing (seed ${BASE_SEED})`, () => {
    const r = seededRng();
    for (const body of sampleBodies(r)) {
      const copy = Buffer.from(body);
      for (let n = 0; n < body.length; n++)
        expectProtocol(() => decodeFixed(body.subarray(0, n)), `${copy.toString('hex')} cut to ${n}`);
      expectProtocol(() => decodeFixed(Buffer.concat([body, Buffer.of(0)])), `${copy.toString('hex')} + 00`);
      expect(body.equals(copy)).toBe(true);
    }
  });

  it(`refuses random and mutated bytes with PROTOCOL, or reads a frame that encodes back the same (seed ${BASE_SEED})`, () => {
    const r = seededRng();
    const samples = sampleBodies(r);
    const types = [...HOT, MsgType.REPLY, MsgType.ERROR];
    let decoded = 0;
    for (let round = 0; round < 20_000; round++) {
      let body: Buffer;
      if (round % 2 === 0) {
        const n = r.int(0, 48);
        body = Buffer.from(r.bytes(n));
        if (n > 0) body[0] = FIXED_MARK;
        if (n > 1 && r.next() < 0.8) body[1] = r.pick(types);
      } else {
        body = Buffer.from(r.pick(samples));
        for (let i = r.int(1, 3); i > 0; i--) body[r.int(1, body.length - 1)] = r.int(0, 255);
      }
      const copy = Buffer.from(body);
      let m: Message | undefined;
      try {
        m = decodeFixed(body);
      } catch (e) {
        expect(e, `seed ${BASE_SEED} round ${round}: ${copy.toString('hex')}`).toBeInstanceOf(Eau2Error);
        expect((e as Eau2Error).code).toBe(ErrorCode.PROTOCOL);
      }
      expect(body.equals(copy), `round ${round}: the frame was modified`).toBe(true);
      if (m) {
        decoded++;
        expect(reencode(m).equals(body), `seed ${BASE_SEED} round ${round}: ${copy.toString('hex')}`).toBe(true);
      }
    }
    // Mutations of lengths and of fields other than lengths both occur: some frames still decode.
    expect(decoded).toBeGreaterThan(0);
  });
});

/** Frames in on a raw socket, each body as it came. */
function rawPeer(port: number): { sock: net.Socket; next: () => Promise<Buffer>; close: () => void } {
  const sock = net.connect(port, '127.0.0.1');
  const bodies: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  const dec = new FrameDecoder(1 << 26);
  sock.on('data', (c) =>
    dec.push(c, (b) => {
      const copy = Buffer.from(b);
      const w = waiters.shift();
      if (w) w(copy);
      else bodies.push(copy);
    }),
  );
  return {
    sock,
    next: () => {
      const b = bodies.shift();
      if (b) return Promise.resolve(b);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no frame within 5 s')), 5000);
        waiters.push((x) => {
          clearTimeout(t);
          resolve(x);
        });
      });
    },
    close: () => sock.destroy(),
  };
}

/** The next frame that is not a HEARTBEAT. */
async function nextAnswer(p: ReturnType<typeof rawPeer>): Promise<Buffer> {
  for (;;) {
    const b = await p.next();
    if (b[0] === FIXED_MARK || decodeMessage(b).type !== MsgType.HEARTBEAT) return b;
  }
}

describe('fixed layout between a client and a node', () => {
  let dir: string;
  let config: ClusterConfig;
  let node: NodeServer;
  let client: ClusterClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eau2-fixed-'));
    const [port, peerPort] = await freePorts(2);
    config = parseConfig({
      partitions: 4,
      replicationFactor: 1,
      nodes: [{ id: 'n1', port, peerPort, dataDir: join(dir, 'n1') }],
    });
    node = await NodeServer.start({ config, nodeId: 'n1', openEngine, logger: createLogger({ level: 'silent' }) });
    client = await ClusterClient.connect(`http://127.0.0.1:${port}`);
  });
  afterAll(async () => {
    await client?.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ClusterClient negotiates it with a version 5 node and reads and writes through it', async () => {
    await client.put('a', 'one');
    expect(Buffer.from((await client.get('a'))!).toString()).toBe('one');
    expect(await client.get('missing')).toBeUndefined();
    const big = new Uint8Array(100_000).fill(9);
    await client.put('big', big, { w: 'all' });
    expect(Buffer.from((await client.get('big', { read: 'any' }))!).equals(big)).toBe(true);
    expect(await client.getWith('big', (v) => v.length)).toBe(100_000);
    await client.del('a');
    expect(await client.get('a')).toBeUndefined();
    const conn = await (client as unknown as { pool: { get(id: string): Promise<PeerConnection> } }).pool.get('n1');
    expect(conn.fixedLayout).toBe(true);
    // An error comes back in the layout too, with its code.
    await expect(client.put(new Uint8Array(70_000), 'x')).rejects.toMatchObject({ code: ErrorCode.TOO_LARGE });
  });

  it('ClusterClient with fixedLayout: false keeps msgpack', async () => {
    const c = await ClusterClient.connect(`http://127.0.0.1:${config.nodes[0]!.port}`, { fixedLayout: false });
    try {
      await c.put('m', 'pack');
      expect(Buffer.from((await c.get('m'))!).toString()).toBe('pack');
      const conn = await (c as unknown as { pool: { get(id: string): Promise<PeerConnection> } }).pool.get('n1');
      expect(conn.fixedLayout).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('answers each request in the layout it came in', async () => {
    const p = rawPeer(config.nodes[0]!.peerPort);
    try {
      const k = Buffer.from('layout');
      p.sock.write(
        joinFrame(encodeFixedRequest(MsgType.PUT, 5, 1, { k, v: wrapValue(Buffer.from('fixed')), rid: 'r-1' })!),
      );
      const put = await nextAnswer(p);
      expect(put[0]).toBe(FIXED_MARK);
      expect(plain(decodeFixed(put))).toEqual(
        plain({ type: MsgType.REPLY, id: 5, epoch: decodeFixed(put).epoch, body: null, fixed: true }),
      );
      p.sock.write(joinFrame(encodeFixedRequest(MsgType.GET, 6, 1, { k })!));
      const got = decodeFixed(await nextAnswer(p));
      expect([got.type, got.id]).toEqual([MsgType.REPLY, 6]);
      expect(Buffer.from(got.body as Uint8Array).equals(Buffer.from(wrapValue(Buffer.from('fixed'))))).toBe(true);
      p.sock.write(encodeMessage(MsgType.GET, 7, 1, { k }));
      const old = await nextAnswer(p);
      expect(old[0]).toBe(0x94);
      const m = decodeMessage(old);
      expect([m.type, m.id]).toEqual([MsgType.REPLY, 7]);
      expect(Buffer.from(m.body as Uint8Array).equals(Buffer.from(wrapValue(Buffer.from('fixed'))))).toBe(true);
      // A refusal: not the leader's business here, but a bad value header is.
      p.sock.write(joinFrame(encodeFixedRequest(MsgType.PUT, 8, 1, { k, v: Uint8Array.of(9, 9) })!));
      const refused = decodeFixed(await nextAnswer(p));
      expect([refused.type, refused.id]).toEqual([MsgType.ERROR, 8]);
      expect((refused.body as { code: string }).code).toBe(ErrorCode.PROTOCOL);
    } finally {
      p.close();
    }
  });

  it(`answers a malformed fixed frame with PROTOCOL and changes nothing (seed ${BASE_SEED})`, async () => {
    const r = seededRng();
    await client.put('kept', 'before');
    const p = rawPeer(config.nodes[0]!.peerPort);
    try {
      const good = bodyOf(
        encodeFixedRequest(MsgType.PUT, 41, 1, {
          k: Buffer.from('kept'),
          v: wrapValue(Buffer.from('after')),
          rid: 'z',
        })!,
      );
      // Every truncation (from the id on, so it can be answered) and a byte too many.
      const bad = [
        ...Array.from({ length: good.length - 6 }, (_, i) => good.subarray(0, 6 + i)),
        Buffer.concat([good, Buffer.of(1)]),
      ];
      for (const [i, b] of bad.entries()) {
        const frame = Buffer.alloc(4 + b.length);
        frame.writeUInt32BE(b.length, 0);
        b.copy(frame, 4);
        p.sock.write(frame);
        const answer = await nextAnswer(p);
        const m = answer[0] === FIXED_MARK ? decodeFixed(answer) : decodeMessage(answer);
        expect([m.type, m.id], `cut ${i}`).toEqual([MsgType.ERROR, 41]);
        expect(validateError(m.body).code).toBe(ErrorCode.PROTOCOL);
      }
      // Random garbage behind the mark, no id to answer: dropped, and the connection goes on.
      for (let i = 0; i < 20; i++) {
        const g = Buffer.from(r.bytes(r.int(1, 5)));
        g[0] = FIXED_MARK;
        const frame = Buffer.alloc(4 + g.length);
        frame.writeUInt32BE(g.length, 0);
        g.copy(frame, 4);
        p.sock.write(frame);
      }
      p.sock.write(joinFrame(encodeFixedRequest(MsgType.GET, 42, 1, { k: Buffer.from('kept') })!));
      const got = decodeFixed(await nextAnswer(p));
      expect([got.type, got.id]).toEqual([MsgType.REPLY, 42]);
    } finally {
      p.close();
    }
    expect(Buffer.from((await client.get('kept'))!).toString()).toBe('before');
  });
});

describe('fixed layout with a node of protocol version 4', () => {
  // An older node: answers TOPOLOGY without `v`, reads only msgpack (a fixed frame is not msgpack
  // to it: refused, unanswered), keeps its data in a map.
  let httpServer: http.Server;
  let peerServer: net.Server;
  const conns: PeerConnection[] = [];
  const seen: { type: number; fixed: boolean }[] = [];
  const data = new Map<string, Uint8Array>();
  let port = 0;

  beforeAll(async () => {
    const [hp, pp] = await freePorts(2);
    port = hp!;
    const topology = {
      epoch: 1,
      partitions: 2,
      replicationFactor: 1,
      nodes: [{ id: 'old', host: '127.0.0.1', port: hp, peerPort: pp, status: 'up' }],
      placement: [0, 1].map((p) => ({ partition: p, leader: 'old', followers: [], epoch: 1, isr: ['old'] })),
    };
    peerServer = net.createServer((s) => {
      conns.push(
        new PeerConnection(s, {
          maxFrameBytes: 1 << 26,
          epoch: () => 1,
          onMessage: (m, c) => {
            seen.push({ type: m.type, fixed: m.fixed === true });
            if (m.fixed) return; // what a version 4 node does with a frame that is not msgpack
            if (m.type === MsgType.TOPOLOGY) return c.reply(m.id, topology);
            if (m.type === MsgType.PUT) {
              const b = validateBody(MsgType.PUT, m.body);
              data.set(Buffer.from(b.k).toString('hex'), Uint8Array.prototype.slice.call(b.v));
              return c.reply(m.id, null);
            }
            if (m.type === MsgType.GET) {
              const b = validateBody(MsgType.GET, m.body);
              return c.reply(m.id, data.get(Buffer.from(b.k).toString('hex')) ?? null);
            }
            if (m.type === MsgType.DEL) {
              data.delete(Buffer.from(validateBody(MsgType.DEL, m.body).k).toString('hex'));
              return c.reply(m.id, null);
            }
            c.replyError(m.id, ErrorCode.PROTOCOL, 'unknown');
          },
        }),
      );
    });
    await new Promise<void>((r) => peerServer.listen(pp, '127.0.0.1', r));
    httpServer = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ self: 'old', nodes: [{ id: 'old', host: '127.0.0.1', peerPort: pp }] }));
    });
    await new Promise<void>((r) => httpServer.listen(hp, '127.0.0.1', r));
  });
  afterAll(async () => {
    for (const c of conns) c.destroy();
    await new Promise((r) => peerServer?.close(r));
    httpServer?.closeAllConnections();
    await new Promise((r) => httpServer?.close(r));
  });

  it('ClusterClient keeps msgpack on a connection to it', async () => {
    const client = await ClusterClient.connect(`http://127.0.0.1:${port}`, { retryMs: 500, timeoutMs: 2000 });
    try {
      await client.put('x', 'y');
      expect(Buffer.from((await client.get('x'))!).toString()).toBe('y');
      await client.del('x');
      expect(await client.get('x')).toBeUndefined();
      const conn = await (client as unknown as { pool: { get(id: string): Promise<PeerConnection> } }).pool.get('old');
      expect(conn.fixedLayout).toBe(false);
    } finally {
      await client.close();
    }
    expect(seen.filter((s) => s.fixed)).toEqual([]);
    expect(seen.map((s) => s.type)).toEqual(
      expect.arrayContaining([MsgType.TOPOLOGY, MsgType.PUT, MsgType.GET, MsgType.DEL]),
    );
  });

  it('negotiateFixedLayout leaves a connection to it in msgpack', async () => {
    const conn = await PeerConnection.connect('127.0.0.1', (peerServer.address() as net.AddressInfo).port, {
      maxFrameBytes: 1 << 20,
      epoch: () => 1,
    });
    try {
      const t = await negotiateFixedLayout(conn);
      expect((t as { epoch: number }).epoch).toBe(1);
      expect(conn.fixedLayout).toBe(false);
    } finally {
      conn.destroy();
    }
  });
});

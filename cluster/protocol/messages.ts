// Messages of the peer protocol (docs/format.md sections 8.2-8.5): what each frame body holds, and the
// checks that turn an untrusted frame into a typed message or a PROTOCOL error. A frame body is the
// msgpack array [type, requestId, epoch, body]. Requests carry a non-zero id and get exactly one REPLY
// or ERROR with the same id; pushes and one-way messages carry id 0.

import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { FRAME_HEADER_BYTES, writeU32 } from './frame-codec.js';
import { encodeFrameParts, hasLargeBinary } from './frame-parts.js';

// Wire values: DO NOT CHANGE (append new types instead).
export const MsgType = {
  REPLY: 0x01,
  ERROR: 0x02,
  REGISTER: 0x10,
  TOPOLOGY: 0x11,
  STATUS: 0x12,
  PING: 0x13,
  VOTE: 0x14,
  ISR_UPDATE: 0x15,
  /** One-way, body nil: the sender is alive (peer-connection.ts closes a link silent too long). */
  HEARTBEAT: 0x16,
  GET: 0x20,
  PUT: 0x21,
  DEL: 0x22,
  BATCH: 0x23,
  SCAN: 0x24,
  /** A read-modify-write at the partition's leader (cluster/node/rmw.ts). */
  RMW: 0x25,
  SUBSCRIBE: 0x30,
  ENTRIES: 0x31,
  ACK: 0x32,
  RESYNC_BEGIN: 0x33,
  RESYNC_CHUNK: 0x34,
  RESYNC_END: 0x35,
  PULL: 0x36,
  EPOCHS: 0x37,
  /** Every partition's entries for one follower connection in one frame (protocol version 4). */
  ENTRIES_BATCH: 0x38,
  /** Several partitions' acknowledgements in one frame (protocol version 4). */
  ACK_BATCH: 0x39,
  TASK: 0x40,
  /** The peer-port handshake (cluster/security/peer-auth.ts): a node's challenge, its proof, a client's token. */
  AUTH_HELLO: 0x50,
  AUTH_PROOF: 0x51,
  AUTH_TOKEN: 0x52,
  VERIFY: 0x60,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];
const KNOWN_TYPES = new Set<number>(Object.values(MsgType));

export const READ_MODES = ['leader', 'follower', 'any', 'local'] as const;
export type ReadMode = (typeof READ_MODES)[number];
export type WriteConcern = number | 'all';

/** [key, stored value] for a put, [key, null] for a delete. Keys are user keys. */
export type WireOp = [Uint8Array, Uint8Array | null];

/**
 * The replication protocol version this node speaks (docs/format.md 8.7). A follower sends it in
 * SUBSCRIBE (`v`) and a leader answers with its own: a leader sends ENTRIES_BATCH only on a
 * connection whose follower announced 4 or more, and a follower sends ACK_BATCH only to a leader
 * that answered 4 or more. Older peers send no `v` and get ENTRIES and ACK, frame per partition.
 */
export const REPLICATION_VERSION = 4;

/**
 * The peer protocol version this node speaks (docs/format.md 8.7). A client asks TOPOLOGY with
 * `{v}` and a node of version 5 or later answers with the topology and its `v`: the client then
 * sends GET, PUT and DEL on that connection in the fixed layout (fixed-frame.ts, 8.8).
 */
export const PROTOCOL_VERSION = 5;

export interface Bodies {
  [MsgType.REGISTER]: { node: string };
  /** v: the asking client's protocol version (absent from older clients, and from nodes). */
  [MsgType.TOPOLOGY]: { v?: number } | null;
  [MsgType.STATUS]: null;
  [MsgType.GET]: { k: Uint8Array; r?: ReadMode };
  // rid: the client's request id, remembered by the leader for its retries (node/request-ids.ts).
  [MsgType.PUT]: { k: Uint8Array; v: Uint8Array; w?: WriteConcern; rid?: string };
  [MsgType.DEL]: { k: Uint8Array; w?: WriteConcern; rid?: string };
  [MsgType.BATCH]: { p: number; ops: WireOp[]; w?: WriteConcern; rid?: string };
  [MsgType.SCAN]: {
    p: number;
    gt?: Uint8Array;
    gte?: Uint8Array;
    lt?: Uint8Array;
    lte?: Uint8Array;
    rev?: boolean;
    lim: number;
    r?: ReadMode;
  };
  /** `op` is checked by cluster/node/rmw.ts (checkOp). */
  [MsgType.RMW]: { op: Record<string, unknown>; w?: WriteConcern };
  [MsgType.PING]: Gossip;
  [MsgType.VOTE]: { p: number; e: number; c: string; pe: number; lsn: number };
  [MsgType.ISR_UPDATE]: { p: number; e: number; l: string; isr: string[]; iv: number };
  /** pe: the partition epoch the follower knows; h: its epoch history (both absent from older nodes). */
  /** v: the follower's replication protocol version (absent from nodes before version 4). */
  [MsgType.SUBSCRIBE]: { p: number; from: number; node: string; pe?: number; h?: [number, number][]; v?: number };
  [MsgType.EPOCHS]: { p: number; h: [number, number][] };
  [MsgType.ENTRIES]: { p: number; e: [number, WireOp[]][] };
  [MsgType.ACK]: { p: number; lsn: number };
  /** g: one group per partition, `[p, entries]`, each as ENTRIES' `e`; a partition may recur (in LSN order). */
  [MsgType.ENTRIES_BATCH]: { g: [number, [number, WireOp[]][]][] };
  /** a: `[p, lsn]` per partition, each as ACK's. */
  [MsgType.ACK_BATCH]: { a: [number, number][] };
  [MsgType.RESYNC_BEGIN]: { p: number; lsn: number };
  [MsgType.RESYNC_CHUNK]: { p: number; e: [Uint8Array, Uint8Array][] };
  [MsgType.RESYNC_END]: { p: number; lsn: number };
  [MsgType.PULL]: { p: number };
  [MsgType.TASK]: { name: string; payload: unknown };
  [MsgType.AUTH_HELLO]: { node: string; to: string; n: Uint8Array };
  [MsgType.AUTH_PROOF]: { mac: Uint8Array };
  [MsgType.AUTH_TOKEN]: { token: string };
  [MsgType.VERIFY]: { p: number; lo: number; hi: number; n: number; list?: boolean };
}

export type RequestType = keyof Bodies;

/**
 * A heartbeat (PING, and its reply): the sender, its currentEpoch, and per partition its view
 * [p, epoch, leader, isr, isrVersion, lsn] with lsn its own copy's LSN (-1 if it holds none).
 */
export interface Gossip {
  n: string;
  ce: number;
  parts: [number, number, string, string[], number, number][];
}

export interface Message {
  type: number;
  id: number;
  epoch: number;
  body: unknown;
  /**
   * Decoded from the fixed layout (fixed-frame.ts, docs/format.md 8.8): the body is already checked
   * as validateBody checks one, and a request's reply goes back in that layout.
   */
  fixed?: boolean;
}

export interface WireError {
  code: string;
  message: string;
}

// Keys as plain objects (not msgpackr records) so any msgpack implementation can speak the protocol.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

/**
 * A whole frame as buffers to write in order (requests: PeerConnection.request). A body holding
 * binaries of LARGE_PART_BYTES or more, or a BinParts, comes back as several parts that pass those
 * binaries through uncopied (frame-parts.ts); otherwise it is encodeMessage's one buffer. The bytes
 * are the same msgpack either way.
 */
export function encodeMessageParts(type: number, id: number, epoch: number, body: unknown): Uint8Array | Uint8Array[] {
  // Body depth 5 = the envelope's 6 less one: a value in a BATCH op sits at depth 3 below the body.
  if (hasLargeBinary(body, 5)) return encodeFrameParts(packr, [type, id, epoch, body]);
  return encodeMessage(type, id, epoch, body);
}

/**
 * A whole frame in one buffer: msgpack encodes after 4 reserved bytes, which then get the length (no
 * copy). Used for replies and pushes, whose values are copied at once (they may be the engine's
 * buffers), and without encodeMessageParts' search for large binaries: that walk made a 64-op
 * ENTRIES push ~10% slower to encode (40 -> 45 us in a microbenchmark), for nothing on a node.
 */
export function encodeMessage(type: number, id: number, epoch: number, body: unknown): Uint8Array {
  const out = packr.pack([type, id, epoch, body], RESERVE_START_SPACE | FRAME_HEADER_BYTES);
  writeU32(out, 0, out.length - FRAME_HEADER_BYTES);
  return out;
}

function protocol(msg: string): Eau2Error {
  return new Eau2Error(ErrorCode.PROTOCOL, msg);
}

/** Decodes a frame body's envelope. Throws PROTOCOL on anything that is not [type, id, epoch, body]. */
export function decodeMessage(body: Uint8Array): Message {
  let m: unknown;
  try {
    m = packr.unpack(body);
  } catch (e) {
    throw new Eau2Error(ErrorCode.PROTOCOL, 'frame body is not msgpack', { cause: e });
  }
  if (!Array.isArray(m) || m.length !== 4) throw protocol('frame body must be [type, id, epoch, body]');
  const [type, id, epoch, b] = m as unknown[];
  if (!isUint(type, 0xff) || !KNOWN_TYPES.has(type)) throw protocol(`unknown message type ${String(type)}`);
  if (!isUint(id, 0xffffffff)) throw protocol('request id must be a u32');
  if (!isUint(epoch, Number.MAX_SAFE_INTEGER)) throw protocol('epoch must be a non-negative integer');
  return { type, id, epoch, body: b };
}

/** Longest request id (`rid`) accepted, in UTF-8 bytes. */
export const MAX_REQUEST_ID_BYTES = 64;

function requestId(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > MAX_REQUEST_ID_BYTES)
    throw protocol(`rid must be a string of 1 to ${MAX_REQUEST_ID_BYTES} bytes`);
  return v;
}

function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

function obj(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
    throw protocol('body must be a map');
  return v as Record<string, unknown>;
}
function bin(v: unknown, name: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw protocol(`${name} must be binary`);
  return v;
}
function optBin(v: unknown, name: string): Uint8Array | undefined {
  return v === undefined || v === null ? undefined : bin(v, name);
}
function uint(v: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!isUint(v, max)) throw protocol(`${name} must be a non-negative integer`);
  return v;
}
function text(v: unknown, name: string): string {
  if (typeof v !== 'string') throw protocol(`${name} must be a string`);
  return v;
}
function readMode(v: unknown): ReadMode | undefined {
  if (v === undefined || v === null) return undefined;
  if (!(READ_MODES as readonly unknown[]).includes(v)) throw protocol('r must be a read mode');
  return v as ReadMode;
}
function writeConcern(v: unknown): WriteConcern | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'all' || isUint(v, 0xffff)) return v as WriteConcern;
  throw protocol('w must be a positive integer or "all"');
}
function ops(v: unknown): WireOp[] {
  if (!Array.isArray(v)) throw protocol('ops must be an array');
  return v.map((op: unknown) => {
    if (!Array.isArray(op) || op.length !== 2) throw protocol('op must be [key, value|null]');
    return [bin(op[0], 'op key'), op[1] === null ? null : bin(op[1], 'op value')];
  });
}
function entries(v: unknown): [number, WireOp[]][] {
  if (!Array.isArray(v)) throw protocol('e must be an array');
  return v.map((x: unknown): [number, WireOp[]] => {
    if (!Array.isArray(x) || x.length !== 2) throw protocol('entry must be [lsn, ops]');
    return [uint(x[0], 'lsn'), ops(x[1])];
  });
}
function texts(v: unknown, name: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw protocol(`${name} must be an array of strings`);
  return v as string[];
}
function history(v: unknown): [number, number][] {
  if (!Array.isArray(v)) throw protocol('h must be an array');
  return v.map((x: unknown): [number, number] => {
    if (!Array.isArray(x) || x.length !== 2) throw protocol('h entry must be [epoch, lsn]');
    return [uint(x[0], 'epoch'), uint(x[1], 'lsn')];
  });
}
/** Checks a PING body or reply. Throws PROTOCOL. */
export function validateGossip(v: unknown): Gossip {
  const o = obj(v);
  if (!Array.isArray(o.parts)) throw protocol('parts must be an array');
  const parts = o.parts.map((x: unknown): Gossip['parts'][number] => {
    if (!Array.isArray(x) || x.length !== 6) throw protocol('part must be [p, epoch, leader, isr, isrVersion, lsn]');
    const lsn = x[5] === -1 ? -1 : uint(x[5], 'lsn');
    return [
      uint(x[0], 'p', 0xfffe),
      uint(x[1], 'epoch'),
      text(x[2], 'leader'),
      texts(x[3], 'isr'),
      uint(x[4], 'isrVersion'),
      lsn,
    ];
  });
  return { n: text(o.n, 'n'), ce: uint(o.ce, 'ce'), parts };
}
function pairs(v: unknown): [Uint8Array, Uint8Array][] {
  if (!Array.isArray(v)) throw protocol('entries must be an array');
  return v.map((kv: unknown) => {
    if (!Array.isArray(kv) || kv.length !== 2) throw protocol('entry must be [key, value]');
    return [bin(kv[0], 'key'), bin(kv[1], 'value')];
  });
}

/** Checks a request or push body against its type; returns it typed. Throws PROTOCOL. */
export function validateBody<T extends RequestType>(type: T, body: unknown): Bodies[T];
export function validateBody(type: RequestType, body: unknown): unknown {
  switch (type) {
    case MsgType.TOPOLOGY: {
      // Older clients send nil; anything but a map with a version is taken as nil, as before.
      if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof Uint8Array) return null;
      const v = (body as Record<string, unknown>).v;
      return v === undefined || v === null ? null : { v: uint(v, 'v', 0xffff) };
    }
    case MsgType.STATUS:
      return null;
    case MsgType.REGISTER:
      return { node: text(obj(body).node, 'node') };
    case MsgType.GET: {
      const o = obj(body);
      const r = readMode(o.r);
      return r === undefined ? { k: bin(o.k, 'k') } : { k: bin(o.k, 'k'), r };
    }
    case MsgType.PUT: {
      const o = obj(body);
      return { k: bin(o.k, 'k'), v: bin(o.v, 'v'), w: writeConcern(o.w), rid: requestId(o.rid) };
    }
    case MsgType.DEL: {
      const o = obj(body);
      return { k: bin(o.k, 'k'), w: writeConcern(o.w), rid: requestId(o.rid) };
    }
    case MsgType.BATCH: {
      const o = obj(body);
      return { p: uint(o.p, 'p', 0xfffe), ops: ops(o.ops), w: writeConcern(o.w), rid: requestId(o.rid) };
    }
    case MsgType.RMW: {
      const o = obj(body);
      return { op: obj(o.op), w: writeConcern(o.w) };
    }
    case MsgType.SCAN: {
      const o = obj(body);
      if (o.rev !== undefined && typeof o.rev !== 'boolean') throw protocol('rev must be a boolean');
      return {
        p: uint(o.p, 'p', 0xfffe),
        gt: optBin(o.gt, 'gt'),
        gte: optBin(o.gte, 'gte'),
        lt: optBin(o.lt, 'lt'),
        lte: optBin(o.lte, 'lte'),
        rev: o.rev === true,
        lim: uint(o.lim, 'lim', 1_000_000),
        r: readMode(o.r),
      };
    }
    case MsgType.SUBSCRIBE: {
      const o = obj(body);
      if (!(o.from === -1 || isUint(o.from, Number.MAX_SAFE_INTEGER))) throw protocol('from must be an LSN or -1');
      const out: Bodies[typeof MsgType.SUBSCRIBE] = {
        p: uint(o.p, 'p', 0xfffe),
        from: o.from as number,
        node: text(o.node, 'node'),
      };
      if (o.pe !== undefined && o.pe !== null) out.pe = uint(o.pe, 'pe');
      if (o.h !== undefined && o.h !== null) out.h = history(o.h);
      if (o.v !== undefined && o.v !== null) out.v = uint(o.v, 'v', 0xffff);
      return out;
    }
    case MsgType.PING:
      return validateGossip(body);
    case MsgType.VOTE: {
      const o = obj(body);
      return {
        p: uint(o.p, 'p', 0xfffe),
        e: uint(o.e, 'e'),
        c: text(o.c, 'c'),
        pe: uint(o.pe, 'pe'),
        lsn: uint(o.lsn, 'lsn'),
      };
    }
    case MsgType.ISR_UPDATE: {
      const o = obj(body);
      return {
        p: uint(o.p, 'p', 0xfffe),
        e: uint(o.e, 'e'),
        l: text(o.l, 'l'),
        isr: texts(o.isr, 'isr'),
        iv: uint(o.iv, 'iv'),
      };
    }
    case MsgType.EPOCHS: {
      const o = obj(body);
      return { p: uint(o.p, 'p', 0xfffe), h: history(o.h) };
    }
    case MsgType.ENTRIES: {
      const o = obj(body);
      return { p: uint(o.p, 'p', 0xfffe), e: entries(o.e) };
    }
    case MsgType.ENTRIES_BATCH: {
      const g = obj(body).g;
      if (!Array.isArray(g)) throw protocol('g must be an array');
      return {
        g: g.map((x: unknown): [number, [number, WireOp[]][]] => {
          if (!Array.isArray(x) || x.length !== 2) throw protocol('group must be [p, entries]');
          return [uint(x[0], 'p', 0xfffe), entries(x[1])];
        }),
      };
    }
    case MsgType.ACK_BATCH: {
      const a = obj(body).a;
      if (!Array.isArray(a)) throw protocol('a must be an array');
      return {
        a: a.map((x: unknown): [number, number] => {
          if (!Array.isArray(x) || x.length !== 2) throw protocol('ack must be [p, lsn]');
          return [uint(x[0], 'p', 0xfffe), uint(x[1], 'lsn')];
        }),
      };
    }
    case MsgType.ACK:
    case MsgType.RESYNC_BEGIN:
    case MsgType.RESYNC_END: {
      const o = obj(body);
      return { p: uint(o.p, 'p', 0xfffe), lsn: uint(o.lsn, 'lsn') };
    }
    case MsgType.RESYNC_CHUNK: {
      const o = obj(body);
      return { p: uint(o.p, 'p', 0xfffe), e: pairs(o.e) };
    }
    case MsgType.PULL:
      return { p: uint(obj(body).p, 'p', 0xfffe) };
    case MsgType.TASK: {
      const o = obj(body);
      return { name: text(o.name, 'name'), payload: o.payload };
    }
    case MsgType.AUTH_HELLO: {
      const o = obj(body);
      return { node: text(o.node, 'node'), to: text(o.to, 'to'), n: bin(o.n, 'n') };
    }
    case MsgType.AUTH_PROOF:
      return { mac: bin(obj(body).mac, 'mac') };
    case MsgType.AUTH_TOKEN:
      return { token: text(obj(body).token, 'token') };
    case MsgType.VERIFY: {
      const o = obj(body);
      if (o.list !== undefined && typeof o.list !== 'boolean') throw protocol('list must be a boolean');
      return {
        p: uint(o.p, 'p', 0xfffe),
        lo: uint(o.lo, 'lo', 0xffffffff),
        hi: uint(o.hi, 'hi', 0x1_0000_0000),
        n: uint(o.n, 'n', 4096),
        list: o.list === true,
      };
    }
    default:
      throw protocol(`type ${String(type)} is not a request`);
  }
}

export function validateError(body: unknown): WireError {
  const o = obj(body);
  return {
    code: typeof o.code === 'string' ? o.code : 'UNKNOWN',
    message: typeof o.message === 'string' ? o.message : '',
  };
}

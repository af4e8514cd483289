// The fixed layout of the hot client requests and their replies (docs/format.md 8.8): GET, PUT and
// DEL, and the REPLY or ERROR each gets, as a few fixed-width fields and length-prefixed byte
// strings instead of a msgpack envelope and map. Why: a leader's msgpackr decode and encode of each
// client request and its reply was ~5% of its main thread, and as much again in the client (the
// client shares the cores with the nodes in the bench); here a request is a handful of byte reads
// and one allocation per frame, with no intermediate objects. Everything else stays msgpack.
//
// A frame in this layout starts with 0xc1, a byte MessagePack never uses, so a receiver tells the
// two apart by the first byte and a node of an older version refuses it as not msgpack. A client
// sends it only on a connection whose node announced version 5 (PROTOCOL_VERSION) in its answer to
// TOPOLOGY {v}; a node answers a request in the layout it came in. Every length is explicit and a
// frame must end exactly where its last field does, so a truncated or padded frame is refused.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { FRAME_HEADER_BYTES, writeU32 } from './frame-codec.js';
import { BinParts, LARGE_PART_BYTES } from './frame-parts.js';
import { MAX_REQUEST_ID_BYTES, MsgType, READ_MODES, type Bodies, type Message, type ReadMode } from './messages.js';

/** The first byte of a frame body in the fixed layout (msgpack's "never used"). */
export const FIXED_MARK = 0xc1;

/** The peer protocol version that introduced the layout: a node announcing it or later reads it. */
export const FIXED_LAYOUT_VERSION = 5;

/** mark u8, type u8, id u32, epoch u32. */
const HEAD_BYTES = 10;

/** Frames are cut from slabs of this size; a frame over SLAB_BYTES / 8 gets a buffer of its own. */
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(0);
let slabOff = 0;

/**
 * `n` bytes for an outgoing frame, every one of which the caller writes. A frame of its own was an
 * ArrayBuffer outside V8's heap per request and per reply with a value (~0.5 us each, and external
 * memory the GC tracks); a view of a shared slab is an object. A slab is never written again where
 * it has handed bytes out, and is freed once no frame cut from it is left.
 */
function frameBytes(n: number): Uint8Array {
  if (n > SLAB_BYTES / 8) return new Uint8Array(n);
  if (slabOff + n > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    slabOff = 0;
  }
  const out = new Uint8Array(slab.buffer, slabOff, n);
  slabOff += n;
  return out;
}

function protocol(msg: string): Eau2Error {
  return new Eau2Error(ErrorCode.PROTOCOL, `fixed-layout frame: ${msg}`);
}

/** True iff the request `type` has a fixed layout (the rest always travel as msgpack). */
export function hasFixedLayout(type: number): boolean {
  return type === MsgType.GET || type === MsgType.PUT || type === MsgType.DEL;
}

function head(out: Uint8Array, type: number, id: number, epoch: number): void {
  writeU32(out, 0, out.length - FRAME_HEADER_BYTES);
  out[4] = FIXED_MARK;
  out[5] = type;
  writeU32(out, 6, id);
  writeU32(out, 10, epoch);
}

/** The u8 of a read mode: 0 absent, then READ_MODES' order from 1; -1 if not a read mode. */
function readModeByte(r: unknown): number {
  if (r === undefined || r === null) return 0;
  const i = (READ_MODES as readonly unknown[]).indexOf(r);
  return i < 0 ? -1 : i + 1;
}

/** The u8 tag of a write concern (0 absent, 1 "all", 2 a number in the u16 after it); -1 if not one. */
function writeConcernTag(w: unknown): number {
  if (w === undefined || w === null) return 0;
  if (w === 'all') return 1;
  return typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= 0xffff ? 2 : -1;
}

/**
 * A request id as it is written: an ASCII one (randomUUID's) as the string itself, copied byte by
 * byte into the frame, any other as its UTF-8 bytes; undefined if it is not a valid rid.
 */
function ridOf(rid: unknown): string | Uint8Array | undefined {
  if (rid === undefined || rid === null) return '';
  if (typeof rid !== 'string' || rid.length === 0 || rid.length > MAX_REQUEST_ID_BYTES) return undefined;
  for (let i = 0; i < rid.length; i++) {
    if (rid.charCodeAt(i) > 0x7f) {
      const b = Buffer.from(rid, 'utf8');
      return b.length <= MAX_REQUEST_ID_BYTES ? b : undefined;
    }
  }
  return rid;
}

/**
 * A GET, PUT or DEL frame (length prefix included) in the fixed layout: one buffer, or for a value
 * of LARGE_PART_BYTES or more, parts to write in order with the value's buffers uncopied (the caller
 * must not modify them until written). Undefined when the body does not fit the layout (an epoch
 * over 32 bits, or a field validateBody would refuse): the caller sends it as msgpack instead, and
 * the receiver refuses what is wrong with the usual error.
 */
export function encodeFixedRequest(
  type: number,
  id: number,
  epoch: number,
  body: unknown,
): Uint8Array | Uint8Array[] | undefined {
  if (epoch > 0xffffffff || typeof body !== 'object' || body === null) return undefined;
  const b = body as { k?: unknown; v?: unknown; w?: unknown; r?: unknown; rid?: unknown };
  const k = b.k;
  if (!(k instanceof Uint8Array)) return undefined;
  if (type === MsgType.GET) {
    const r = readModeByte(b.r);
    if (r < 0) return undefined;
    const out = frameBytes(FRAME_HEADER_BYTES + HEAD_BYTES + 5 + k.length);
    head(out, type, id, epoch);
    out[14] = r;
    writeU32(out, 15, k.length);
    out.set(k, 19);
    return out;
  }
  if (type !== MsgType.PUT && type !== MsgType.DEL) return undefined;
  const wt = writeConcernTag(b.w);
  const rid = ridOf(b.rid);
  if (wt < 0 || rid === undefined) return undefined;
  const v = b.v;
  let vlen = 0;
  if (type === MsgType.PUT) {
    if (v instanceof Uint8Array) vlen = v.length;
    else if (v instanceof BinParts) vlen = v.byteLength;
    else return undefined;
  }
  // w tag, w, rid length, rid, key length, key[, value length, value]
  const fixed = FRAME_HEADER_BYTES + HEAD_BYTES + 4 + rid.length + 4 + k.length + (type === MsgType.PUT ? 4 : 0);
  const large = vlen >= LARGE_PART_BYTES;
  const out = frameBytes(large ? fixed : fixed + vlen);
  let o = 14;
  out[o++] = wt;
  const w = wt === 2 ? (b.w as number) : 0;
  out[o++] = w >>> 8;
  out[o++] = w & 0xff;
  out[o++] = rid.length;
  if (typeof rid === 'string') for (let i = 0; i < rid.length; i++) out[o++] = rid.charCodeAt(i);
  else {
    out.set(rid, o);
    o += rid.length;
  }
  writeU32(out, o, k.length);
  o += 4;
  out.set(k, o);
  o += k.length;
  if (type === MsgType.PUT) {
    writeU32(out, o, vlen);
    o += 4;
  }
  // The length prefix counts the value's bytes even when they travel as parts of their own.
  writeU32(out, 0, fixed - FRAME_HEADER_BYTES + vlen);
  out[4] = FIXED_MARK;
  out[5] = type;
  writeU32(out, 6, id);
  writeU32(out, 10, epoch);
  if (type === MsgType.DEL || vlen === 0) return out;
  const parts = v instanceof BinParts ? v.parts : [v as Uint8Array];
  if (large) return [out, ...parts];
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

/**
 * A REPLY in the fixed layout (length prefix included): `value` copied in, or nil. Undefined for an
 * epoch over 32 bits (the caller replies in msgpack).
 */
export function encodeFixedReply(
  id: number,
  epoch: number,
  value: Uint8Array | null | undefined,
): Uint8Array | undefined {
  if (epoch > 0xffffffff) return undefined;
  if (value === null || value === undefined) {
    const out = frameBytes(FRAME_HEADER_BYTES + HEAD_BYTES + 1);
    head(out, MsgType.REPLY, id, epoch);
    out[14] = 0;
    return out;
  }
  const out = frameBytes(FRAME_HEADER_BYTES + HEAD_BYTES + 5 + value.length);
  head(out, MsgType.REPLY, id, epoch);
  out[14] = 1;
  writeU32(out, 15, value.length);
  out.set(value, 19);
  return out;
}

/** An ERROR in the fixed layout; undefined where it does not fit (the caller replies in msgpack). */
export function encodeFixedError(id: number, epoch: number, code: string, message: string): Uint8Array | undefined {
  const c = Buffer.from(code, 'utf8');
  const m = Buffer.from(message, 'utf8');
  if (epoch > 0xffffffff || c.length > 0xff) return undefined;
  const out = new Uint8Array(FRAME_HEADER_BYTES + HEAD_BYTES + 1 + c.length + 4 + m.length);
  head(out, MsgType.ERROR, id, epoch);
  out[14] = c.length;
  out.set(c, 15);
  writeU32(out, 15 + c.length, m.length);
  out.set(m, 19 + c.length);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A bounds-checked cursor over a fixed-layout body; every read past the end throws PROTOCOL. */
class Cursor {
  at = HEAD_BYTES;
  constructor(private readonly b: Uint8Array) {}
  u8(what: string): number {
    if (this.at + 1 > this.b.length) throw protocol(`truncated at ${what}`);
    return this.b[this.at++]!;
  }
  u16(what: string): number {
    if (this.at + 2 > this.b.length) throw protocol(`truncated at ${what}`);
    const v = (this.b[this.at]! << 8) | this.b[this.at + 1]!;
    this.at += 2;
    return v;
  }
  u32(what: string): number {
    if (this.at + 4 > this.b.length) throw protocol(`truncated at ${what}`);
    const b = this.b;
    const o = this.at;
    this.at += 4;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }
  /** `n` bytes as a view of the body. */
  bytes(n: number, what: string): Uint8Array {
    if (n > this.b.length - this.at) throw protocol(`${what} runs past the end of the frame`);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  text(n: number, what: string): string {
    const v = this.bytes(n, what);
    // TextDecoder: ~130 ns for a 36-byte request id, where String.fromCharCode(...v) took ~1.7 us.
    try {
      return utf8.decode(v);
    } catch {
      throw protocol(`${what} is not UTF-8`);
    }
  }
  end(): void {
    if (this.at !== this.b.length) throw protocol(`${this.b.length - this.at} bytes after the last field`);
  }
}

/**
 * Decodes a frame body in the fixed layout (its first byte FIXED_MARK) into the Message msgpack
 * would give for the same request or reply, its body checked as validateBody checks one: GET
 * `{k, r?}`, PUT `{k, v, w, rid}`, DEL `{k, w, rid}`, REPLY a value or null, ERROR `{code,
 * message}`. Keys and values are views of `body`. Throws PROTOCOL on anything else; nothing is
 * modified.
 */
export function decodeFixed(body: Uint8Array): Message {
  if (body.length < HEAD_BYTES || body[0] !== FIXED_MARK) throw protocol(`a header is ${HEAD_BYTES} bytes`);
  const type = body[1]!;
  const id = ((body[2]! << 24) | (body[3]! << 16) | (body[4]! << 8) | body[5]!) >>> 0;
  const epoch = ((body[6]! << 24) | (body[7]! << 16) | (body[8]! << 8) | body[9]!) >>> 0;
  const c = new Cursor(body);
  let b: unknown;
  switch (type) {
    case MsgType.GET: {
      const r = c.u8('r');
      if (r > READ_MODES.length) throw protocol(`read mode ${r} is not one`);
      const k = c.bytes(c.u32('key length'), 'key');
      b = r === 0 ? { k } : { k, r: READ_MODES[r - 1] as ReadMode };
      break;
    }
    case MsgType.PUT:
    case MsgType.DEL: {
      const wt = c.u8('w');
      const wn = c.u16('w');
      if (wt > 2 || (wt !== 2 && wn !== 0)) throw protocol(`write concern tag ${wt} with ${wn} is not one`);
      const ridLength = c.u8('rid length');
      if (ridLength > MAX_REQUEST_ID_BYTES) throw protocol(`rid must be 1 to ${MAX_REQUEST_ID_BYTES} bytes`);
      const rid = ridLength === 0 ? undefined : c.text(ridLength, 'rid');
      const k = c.bytes(c.u32('key length'), 'key');
      const w = wt === 0 ? undefined : wt === 1 ? ('all' as const) : wn;
      if (type === MsgType.PUT) {
        const v = c.bytes(c.u32('value length'), 'value');
        b = { k, v, w, rid } satisfies Bodies[typeof MsgType.PUT];
      } else b = { k, w, rid } satisfies Bodies[typeof MsgType.DEL];
      break;
    }
    case MsgType.REPLY: {
      const tag = c.u8('reply tag');
      if (tag > 1) throw protocol(`reply tag ${tag} is not one`);
      b = tag === 0 ? null : c.bytes(c.u32('value length'), 'value');
      break;
    }
    case MsgType.ERROR: {
      const code = c.text(c.u8('code length'), 'code');
      b = { code, message: c.text(c.u32('message length'), 'message') };
      break;
    }
    default:
      throw protocol(`message type ${type} has no fixed layout`);
  }
  c.end();
  return { type, id, epoch, body: b, fixed: true };
}

/** The request id of a fixed-layout body too malformed to decode, if it can be read (else 0). */
export function fixedRequestId(body: Uint8Array): number {
  if (body.length < 6 || body[0] !== FIXED_MARK || !hasFixedLayout(body[1]!)) return 0;
  return ((body[2]! << 24) | (body[3]! << 16) | (body[4]! << 8) | body[5]!) >>> 0;
}

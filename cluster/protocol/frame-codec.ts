// Framing of the peer protocol (docs/format.md section 8.1): every frame is a u32 big-endian body
// length followed by that many bytes. The decoder takes bytes as they come off the socket, in chunks
// of any size, and hands back whole frame bodies; it resumes mid-header and mid-body. A length prefix
// over the limit means the stream can no longer be trusted to be in step (and honouring it would let
// one peer make us buffer gigabytes), so it is fatal: the caller closes the connection.

import { Eau2Error, ErrorCode } from '../../kv/index.js';

export const FRAME_HEADER_BYTES = 4;

/** Prefixes `body` with its length. */
export function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  writeU32(out, 0, body.length);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** What a frame body spanning chunks is first allocated for (it grows as its bytes arrive). */
const INITIAL_BODY_BYTES = 1024 * 1024;

/** A body kept as parts turns into one buffer once it has this many parts ... */
const MIN_PARTS = 8;
/** ... averaging under this many bytes. */
const MIN_PART_BYTES = 16 * 1024;

/** Released bodies kept for reuse (`push`'s onFrame returning true): at most this many ... */
const MAX_SPARES = 4;
/** ... of at most this size each ... */
const MAX_SPARE_BYTES = 16 * 1024 * 1024;
/** ... and at least this (smaller bodies die young and cost little). */
const MIN_SPARE_BYTES = 4096;

/**
 * Called with each whole frame body. Returning `true` releases the body: nothing kept a reference to
 * it or to a view of it, so the decoder may write a later frame into the same memory.
 */
export type FrameHandler = (body: Uint8Array) => unknown;

export class FrameDecoder {
  /** The first bytes of a length prefix that arrived split (fewer than 4). */
  private head = new Uint8Array(FRAME_HEADER_BYTES);
  private headLen = 0;
  /**
   * The body of a frame that spans socket chunks, filled as bytes arrive: each chunk is copied once
   * and can be freed at once, instead of all of a large frame's chunks being held until a final join.
   * Allocated for at most INITIAL_BODY_BYTES at first and grown as bytes actually arrive, so a
   * length prefix alone (4 bytes from any peer) cannot make the node allocate maxFrameBytes.
   */
  private body: Uint8Array | undefined;
  /**
   * Or, when the socket's chunks are the decoder's to keep (not `reused`) and no spare fits, the
   * parts of the body as views of those chunks, joined once the last byte arrives: each byte is then
   * copied once, into memory allocated once, rather than into a buffer regrown by doubling (a 2.3 MB
   * dataframe chunk was copied ~2.3 times into ~5 MB of fresh memory). Nothing is allocated for a
   * body before its bytes have arrived.
   */
  private parts: Uint8Array[] | undefined;
  private bodyLen = 0;
  /**
   * Buffers of released bodies that spanned chunks, reused for later ones: a client reading large
   * values that it consumes at once (ClusterClient.getWith) then allocates nothing per value. Fresh
   * buffers per large frame are garbage V8 frees only at its next full collection (external memory
   * does not fill the young generation), so they pile up: +30-40 MiB RSS over a 10M-row dataframe
   * scan (docs/dataframe.md, "Client memory").
   */
  private readonly spares: Uint8Array[] = [];
  /** The length the prefix announced. */
  private bodyWant = 0;
  private failed = false;

  constructor(private maxFrameBytes: number) {}

  /** Changes the cap for frames whose length prefix is read from now on. */
  setLimit(maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Feeds bytes; calls onFrame for every complete body, in order. A body is a view of `chunk` when
   * the frame lies within it, else a buffer of its own; with `reused` (the caller will overwrite
   * `chunk`) every body is a buffer of its own. Throws Eau2Error(TOO_LARGE) when a length
   * prefix exceeds the limit; the decoder then refuses all further input. A body in a buffer of
   * the decoder's own (it spanned chunks, or `reused` copied it) that onFrame releases (returns
   * true for) is kept, and a later frame of about its size is written into it.
   */
  push(chunk: Uint8Array, onFrame: FrameHandler, reused = false): void {
    if (this.failed) throw new Eau2Error(ErrorCode.PROTOCOL, 'frame decoder already failed');
    let off = 0;
    if (this.headLen > 0) {
      const take = Math.min(FRAME_HEADER_BYTES - this.headLen, chunk.length);
      this.head.set(chunk.subarray(0, take), this.headLen);
      this.headLen += take;
      off = take;
      if (this.headLen < FRAME_HEADER_BYTES) return;
      this.headLen = 0;
      this.startBody(this.checkLength(readU32(this.head, 0)), reused);
    }
    if (this.body !== undefined || this.parts !== undefined) {
      const take = Math.min(this.bodyWant - this.bodyLen, chunk.length - off);
      this.appendBody(chunk.subarray(off, off + take), reused);
      off += take;
      if (this.bodyLen < this.bodyWant) return;
      const buf = this.body ?? this.joinParts(this.bodyWant);
      this.body = undefined;
      this.parts = undefined;
      this.bodyLen = 0;
      const done = buf.length === this.bodyWant ? buf : buf.subarray(0, this.bodyWant);
      if (onFrame(done) === true) this.keepSpare(buf);
    }
    while (chunk.length - off >= FRAME_HEADER_BYTES) {
      const len = this.checkLength(readU32(chunk, off));
      const start = off + FRAME_HEADER_BYTES;
      if (chunk.length - start < len) {
        // A body of its own (startBody): the caller's chunk may be reused, and a view of all of it
        // would pin the chunk's other frames too.
        this.startBody(len, reused);
        this.appendBody(chunk.subarray(start), reused);
        return;
      }
      off = start + len;
      if (!reused) {
        onFrame(chunk.subarray(start, off));
        continue;
      }
      // The caller reuses `chunk`: a copy, into a spare when one fits (Uint8Array's slice copies; a
      // Buffer's slice, which chunk usually is, would be a view).
      const spare = len >= MIN_SPARE_BYTES ? this.takeSpare(len) : undefined;
      if (spare) spare.set(chunk.subarray(start, off), 0);
      const body = spare ?? Uint8Array.prototype.slice.call(chunk, start, off);
      if (onFrame(spare && spare.length !== len ? spare.subarray(0, len) : body) === true && len >= MIN_SPARE_BYTES)
        this.keepSpare(body);
    }
    if (off < chunk.length) {
      this.head.set(chunk.subarray(off), 0);
      this.headLen = chunk.length - off;
    }
  }

  private startBody(len: number, reused: boolean): void {
    const spare = this.takeSpare(len);
    if (spare) this.body = spare;
    else if (reused) this.body = new Uint8Array(Math.min(len, INITIAL_BODY_BYTES));
    else this.parts = [];
    this.bodyLen = 0;
    this.bodyWant = len;
  }

  /** The parts so far, copied to the start of a new buffer of `size` bytes. */
  private joinParts(size: number): Uint8Array {
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of this.parts!) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** The smallest spare that holds `len` bytes without pinning more than about twice that. */
  private takeSpare(len: number): Uint8Array | undefined {
    let best = -1;
    for (let i = 0; i < this.spares.length; i++) {
      const n = this.spares[i]!.length;
      if (n >= len && n <= 2 * len + 4096 && (best < 0 || n < this.spares[best]!.length)) best = i;
    }
    return best < 0 ? undefined : this.spares.splice(best, 1)[0];
  }

  private keepSpare(buf: Uint8Array): void {
    if (buf.length > MAX_SPARE_BYTES || this.failed) return;
    this.spares.push(buf);
    if (this.spares.length > MAX_SPARES) this.spares.shift();
  }

  /** Bytes held in released bodies kept for reuse. */
  get spareBytes(): number {
    let n = 0;
    for (const s of this.spares) n += s.length;
    return n;
  }

  private appendBody(bytes: Uint8Array, reused: boolean): void {
    if (this.parts) {
      const parts = this.parts;
      if (parts.length < MIN_PARTS || this.bodyLen + bytes.length >= parts.length * MIN_PART_BYTES) {
        // A view pins the chunk it is part of (at most one socket read beyond the body's own bytes);
        // a chunk the caller reuses is copied.
        parts.push(reused ? Uint8Array.prototype.slice.call(bytes) : bytes);
        this.bodyLen += bytes.length;
        return;
      }
      // Small parts (a peer trickling bytes): each costs an object far larger than its bytes, so
      // the rest of the body is copied into a buffer grown as it arrives, as for reused chunks.
      this.body = this.joinParts(Math.min(this.bodyWant, Math.max(INITIAL_BODY_BYTES, 2 * this.bodyLen)));
      this.parts = undefined;
    }
    let body = this.body!;
    const need = this.bodyLen + bytes.length;
    if (need > body.length) {
      const grown = new Uint8Array(Math.min(this.bodyWant, Math.max(need, body.length * 2)));
      grown.set(body.subarray(0, this.bodyLen), 0);
      this.body = body = grown;
    }
    body.set(bytes, this.bodyLen);
    this.bodyLen = need;
  }

  private checkLength(len: number): number {
    if (len > this.maxFrameBytes) {
      this.failed = true;
      this.spares.length = 0;
      this.body = undefined;
      this.parts = undefined;
      this.bodyLen = 0;
      this.headLen = 0;
      throw new Eau2Error(ErrorCode.TOO_LARGE, `frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes}`, {
        details: { length: len, limit: this.maxFrameBytes },
      });
    }
    return len;
  }

  /** Bytes held for a frame not yet complete (its prefix included). */
  get buffered(): number {
    if (this.headLen > 0) return this.headLen;
    return this.body === undefined && this.parts === undefined ? 0 : FRAME_HEADER_BYTES + this.bodyLen;
  }
}

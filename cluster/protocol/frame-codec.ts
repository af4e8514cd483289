// Framing of the peer protocol (docs/format.md section 8.1): every frame is a u32 big-endian body
// length followed by that many bytes. The decoder takes bytes as they come off the socket, in chunks
// of any size, and hands back whole frame bodies; it resumes mid-header and mid-body. A length prefix
// over the limit means the stream can no longer be trusted to be in step (and honouring it would let
// one peer make us buffer gigabytes), so it is fatal: the caller closes the connection.

import { Eau2Error, ErrorCode } from '../../engine/util/errors.js';

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
  private bodyLen = 0;
  /** The length the prefix announced. */
  private bodyWant = 0;
  private failed = false;

  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Feeds bytes; calls onFrame for every complete body, in order. A body is a view of `chunk` when
   * the frame lies within it, else a buffer of its own; with `reused` (the caller will overwrite
   * `chunk`) every body is a buffer of its own. Throws Eau2Error(TOO_LARGE) when a length
   * prefix exceeds the limit; the decoder then refuses all further input.
   */
  push(chunk: Uint8Array, onFrame: (body: Uint8Array) => void, reused = false): void {
    if (this.failed) throw new Eau2Error(ErrorCode.PROTOCOL, 'frame decoder already failed');
    let off = 0;
    if (this.headLen > 0) {
      const take = Math.min(FRAME_HEADER_BYTES - this.headLen, chunk.length);
      this.head.set(chunk.subarray(0, take), this.headLen);
      this.headLen += take;
      off = take;
      if (this.headLen < FRAME_HEADER_BYTES) return;
      this.headLen = 0;
      this.startBody(this.checkLength(readU32(this.head, 0)));
    }
    if (this.body !== undefined) {
      const take = Math.min(this.bodyWant - this.bodyLen, chunk.length - off);
      this.appendBody(chunk.subarray(off, off + take));
      off += take;
      if (this.bodyLen < this.bodyWant) return;
      const done = this.body;
      this.body = undefined;
      this.bodyLen = 0;
      onFrame(done);
    }
    while (chunk.length - off >= FRAME_HEADER_BYTES) {
      const len = this.checkLength(readU32(chunk, off));
      const start = off + FRAME_HEADER_BYTES;
      if (chunk.length - start < len) {
        // Copied, not kept as a view: the caller's chunk may be reused, and a view would pin all of it.
        this.startBody(len);
        this.appendBody(chunk.subarray(start));
        return;
      }
      off = start + len;
      // Uint8Array's slice copies; a Buffer's slice (chunk usually is one) would be a view.
      onFrame(reused ? Uint8Array.prototype.slice.call(chunk, start, off) : chunk.subarray(start, off));
    }
    if (off < chunk.length) {
      this.head.set(chunk.subarray(off), 0);
      this.headLen = chunk.length - off;
    }
  }

  private startBody(len: number): void {
    this.body = new Uint8Array(Math.min(len, INITIAL_BODY_BYTES));
    this.bodyLen = 0;
    this.bodyWant = len;
  }

  private appendBody(bytes: Uint8Array): void {
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
      this.body = undefined;
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
    return this.body === undefined ? 0 : FRAME_HEADER_BYTES + this.bodyLen;
  }
}

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

export class FrameDecoder {
  /** Bytes of an unfinished frame (header included), kept as received so a big frame is copied once. */
  private chunks: Uint8Array[] = [];
  private pendingLen = 0;
  /** Total bytes (header + body) of the unfinished frame, once its header is known; else 0. */
  private need = 0;
  private failed = false;

  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Feeds bytes; calls onFrame for every complete body, in order. Throws Eau2Error(TOO_LARGE) when a
   * length prefix exceeds the limit; the decoder then refuses all further input.
   */
  push(chunk: Uint8Array, onFrame: (body: Uint8Array) => void): void {
    if (this.failed) throw new Eau2Error(ErrorCode.PROTOCOL, 'frame decoder already failed');
    let buf = chunk;
    if (this.pendingLen > 0) {
      this.chunks.push(chunk);
      this.pendingLen += chunk.length;
      if (this.need === 0 && this.pendingLen >= FRAME_HEADER_BYTES) {
        this.need = FRAME_HEADER_BYTES + this.checkLength(readU32(concat(this.chunks, FRAME_HEADER_BYTES), 0));
      }
      if (this.need === 0 || this.pendingLen < this.need) return;
      buf = concat(this.chunks, this.pendingLen);
      this.chunks = [];
      this.pendingLen = 0;
      this.need = 0;
    }
    let off = 0;
    while (buf.length - off >= FRAME_HEADER_BYTES) {
      const len = this.checkLength(readU32(buf, off));
      if (buf.length - off - FRAME_HEADER_BYTES < len) {
        this.need = FRAME_HEADER_BYTES + len;
        break;
      }
      const start = off + FRAME_HEADER_BYTES;
      off = start + len;
      onFrame(buf.subarray(start, off));
    }
    if (off < buf.length) {
      // Copy the tail: the caller's chunk may be reused, and a retained view would pin all of it.
      this.chunks = [buf.slice(off)];
      this.pendingLen = buf.length - off;
    }
  }

  private checkLength(len: number): number {
    if (len > this.maxFrameBytes) {
      this.failed = true;
      this.chunks = [];
      this.pendingLen = 0;
      throw new Eau2Error(ErrorCode.TOO_LARGE, `frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes}`, {
        details: { length: len, limit: this.maxFrameBytes },
      });
    }
    return len;
  }

  /** Bytes held for a frame not yet complete. */
  get buffered(): number {
    return this.pendingLen;
  }
}

/** The first n bytes of the chunks, as one array. */
function concat(chunks: Uint8Array[], n: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.length === n) return chunks[0]!;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    if (off >= n) break;
    const take = Math.min(c.length, n - off);
    out.set(take === c.length ? c : c.subarray(0, take), off);
    off += take;
  }
  return out;
}

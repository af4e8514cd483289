// Little-endian fixed-width and varint coding shared by every on-disk format (docs/format.md §1).
// Every encoder has its decoder beside it.

export function putFixed32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

export function getFixed32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

/** 64-bit values are JS numbers below 2^53 (sequence numbers, file sizes). */
export function putFixed64(buf: Uint8Array, off: number, v: number): void {
  putFixed32(buf, off, v >>> 0);
  putFixed32(buf, off + 4, Math.floor(v / 0x100000000));
}

export function getFixed64(buf: Uint8Array, off: number): number {
  return getFixed32(buf, off) + getFixed32(buf, off + 4) * 0x100000000;
}

export function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes `v` (0 <= v < 2^53) as a LEB128 varint; returns the offset after it. */
export function putVarint(buf: Uint8Array, off: number, v: number): number {
  while (v >= 0x80) {
    buf[off++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[off++] = v;
  return off;
}

/**
 * Reads a varint at `off`. Returns the value, and sets `pos.off` to the offset after it.
 * Returns -1 if the buffer ends inside the varint or it is longer than 8 bytes (corrupt).
 */
export function getVarint(buf: Uint8Array, pos: { off: number }, limit = buf.length): number {
  let off = pos.off;
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (off >= limit) return -1;
    const b = buf[off++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      pos.off = off;
      return result;
    }
    mul *= 128;
  }
  return -1;
}

/** A growable byte buffer for encoders. */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;
  constructor(initial = 4096) {
    this.buf = new Uint8Array(initial);
  }
  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  varint(v: number): void {
    this.ensure(10);
    this.len = putVarint(this.buf, this.len, v);
  }
  fixed32(v: number): void {
    this.ensure(4);
    putFixed32(this.buf, this.len, v);
    this.len += 4;
  }
  fixed64(v: number): void {
    this.ensure(8);
    putFixed64(this.buf, this.len, v);
    this.len += 8;
  }
  byte(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** varint length followed by the bytes. */
  lengthPrefixed(b: Uint8Array): void {
    this.varint(b.length);
    this.bytes(b);
  }
  reset(): void {
    this.len = 0;
  }
  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

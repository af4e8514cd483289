// The value envelope has one owner (cluster/protocol/stored-value.ts): what the client sends is
// byte for byte what the HTTP API and the node's router build, whatever the value's size.
import { describe, expect, it } from 'vitest';
import { BinParts, LARGE_PART_BYTES } from '../../cluster/protocol/frame-parts.js';
import {
  isWrappedValue,
  rewrapValue,
  storedExpiry,
  storedValueOf,
  unwrapValue,
  wireValue,
  wrapValue,
} from '../../cluster/protocol/stored-value.js';

function joined(v: Uint8Array | BinParts): Uint8Array {
  return v instanceof BinParts ? Buffer.concat(v.parts) : v;
}

describe('value envelope', () => {
  it('wireValue is wrapValue without a copy for large values', () => {
    for (const n of [0, 1, 100, LARGE_PART_BYTES - 1, LARGE_PART_BYTES, 3 * LARGE_PART_BYTES]) {
      const value = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
      const w = wireValue(value);
      expect(w instanceof BinParts).toBe(n >= LARGE_PART_BYTES);
      if (w instanceof BinParts) expect(w.parts[1]).toBe(value); // the caller's buffer, not a copy
      const bytes = joined(w);
      expect(Buffer.from(bytes).equals(Buffer.from(wrapValue(value)))).toBe(true);
      expect(isWrappedValue(bytes)).toBe(true);
      expect(Buffer.from(storedValueOf(bytes)).equals(Buffer.from(value))).toBe(true);
    }
  });

  it('a value with a content type reads back through storedValueOf', () => {
    const w = wrapValue(Buffer.from('hi'), { contentType: 'text/plain' });
    expect(Buffer.from(storedValueOf(w)).toString()).toBe('hi');
    expect(isWrappedValue(Uint8Array.of(0x07, 1, 2))).toBe(false);
  });

  it('an expiry rides in the header (0x02 / 0x03) with or without metadata, and round-trips', () => {
    const at = 1_765_000_000_123;
    const plain = wrapValue(Buffer.from('v'), undefined, at);
    expect(Buffer.from(plain).toString('hex')).toBe('020000019af232b27b76');
    expect(unwrapValue(plain)).toEqual({ value: Uint8Array.of(0x76), expiresAt: at });
    const meta = wrapValue(Buffer.from('v'), { contentType: 'text/plain' }, at);
    expect(meta[0]).toBe(0x03);
    expect(unwrapValue(meta)).toMatchObject({ contentType: 'text/plain', expiresAt: at });
    expect(Buffer.from(storedValueOf(meta)).toString()).toBe('v');
    expect(storedExpiry(meta)).toBe(at);
    expect(storedExpiry(rewrapValue(meta, undefined))).toBeUndefined();
    expect(unwrapValue(rewrapValue(meta, undefined)).contentType).toBe('text/plain');
    expect(storedExpiry(rewrapValue(wrapValue(Buffer.from('x')), 5))).toBe(5);
    for (const bad of [Uint8Array.of(0x02, 0, 0), Uint8Array.of(0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0, 9), Uint8Array.of(4)])
      expect(isWrappedValue(bad)).toBe(false);
  });
});

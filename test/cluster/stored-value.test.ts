// The value envelope has one owner (cluster/protocol/stored-value.ts): what the client sends is
// byte for byte what the HTTP API and the node's router build, whatever the value's size.
import { describe, expect, it } from 'vitest';
import { BinParts, LARGE_PART_BYTES } from '../../cluster/protocol/frame-parts.js';
import { isWrappedValue, storedValueOf, wireValue, wrapValue } from '../../cluster/protocol/stored-value.js';

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
});

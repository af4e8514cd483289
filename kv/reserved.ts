// eau2's reserved namespace: keys whose first byte is 0x00 hold eau2's own data (the dataframe
// layer's frames, docs/format.md 7.4). The HTTP API refuses to write or delete them, so no user key
// can collide with that data; programs using a KvStore directly must not write them either.

/** The first byte of every reserved key. */
export const RESERVED_KEY_BYTE = 0x00;

export function isReservedKey(key: Uint8Array): boolean {
  return key.length > 0 && key[0] === RESERVED_KEY_BYTE;
}

// zstd frames with content checksums, for tests of the importers' checks. No writer installed here
// emits zstd checksums (Polars and DuckDB leave libzstd's ZSTD_c_checksumFlag off, and Node 20's
// zlib has no zstd), so a frame is libzstd's as Polars writes it (it compresses the bytes here as a
// UInt8 column's only Arrow IPC buffer) with the checksum flag set and the XXH64 trailer added: what
// libzstd writes with ZSTD_c_checksumFlag, which does not change the blocks (RFC 8878 3.1.1).

import { xxh64 } from '@node-rs/xxhash';
import pl from 'nodejs-polars';

export const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** libzstd's frame of `bytes` (window descriptor, no content size, no checksum), as Polars writes it. */
export function polarsZstd(bytes: Uint8Array): Buffer {
  const ipc = pl.DataFrame({ x: pl.Series('x', Array.from(bytes), pl.UInt8) }).writeIPC({ compression: 'zstd' });
  for (let i = ipc.indexOf(ZSTD_MAGIC); i >= 0; i = ipc.indexOf(ZSTD_MAGIC, i + 1))
    if (ipc.readBigInt64LE(i - 8) === BigInt(bytes.length)) {
      if (ipc[i + 4] !== 0) throw new Error(`Polars wrote frame header descriptor ${ipc[i + 4]}, not 0`);
      // The frame ends where its last block does: walk the block headers.
      let at = i + 6;
      for (;;) {
        const h = ipc.readUIntLE(at, 3);
        at += 3 + (((h >> 1) & 3) === 1 ? 1 : h >>> 3);
        if (h & 1) break;
      }
      return Buffer.from(ipc.subarray(i, at));
    }
  throw new Error('no zstd frame of that length in what Polars wrote');
}

/** The frame with the checksum flag set and the low 32 bits of XXH64(content) after its last block. */
export function withChecksum(frame: Buffer, content: Uint8Array): Buffer {
  const out = Buffer.concat([frame, Buffer.alloc(4)]);
  out[4] = out[4]! | 0x04;
  out.writeUInt32LE(Number(xxh64(content) & 0xffffffffn), frame.length);
  return out;
}

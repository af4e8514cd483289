// Full resync of one partition to one follower (docs/format.md section 8.4): take an engine snapshot,
// read the partition's LSN inside it (the LSN record is written in the same batch as the data, so the
// snapshot holds exactly the log's prefix up to it), then stream every key of the partition's range
// in chunks, waiting for the socket to drain so a large partition never piles up in memory.

import type { PeerConnection } from '../protocol/peer-connection.js';
import { MsgType } from '../protocol/messages.js';
import type { EngineLike } from './engine-api.js';
import { decodeLsn, lsnKey, partitionRange, userKeyOf, LSN_RESYNCING } from './stored-format.js';

const CHUNK_ENTRIES = 1000;
const CHUNK_BYTES = 256 * 1024;
const HIGH_WATER = 4 * 1024 * 1024;

/** Streams partition p as RESYNC_BEGIN, RESYNC_CHUNK*, RESYNC_END; resolves with the snapshot's LSN. */
export async function streamSnapshot(engine: EngineLike, p: number, conn: PeerConnection): Promise<number> {
  const snap = engine.snapshot();
  try {
    let lsn = decodeLsn(await engine.get(lsnKey(p), { snapshot: snap }));
    if (lsn === LSN_RESYNCING) lsn = 0;
    conn.send(MsgType.RESYNC_BEGIN, { p, lsn });
    const it = engine.iterator({ ...partitionRange(p), snapshot: snap });
    try {
      let chunk: [Uint8Array, Uint8Array][] = [];
      let bytes = 0;
      for (let e = await it.next(); e !== undefined; e = await it.next()) {
        const k = userKeyOf(e[0]);
        chunk.push([k, e[1]]);
        bytes += k.length + e[1].length;
        if (chunk.length >= CHUNK_ENTRIES || bytes >= CHUNK_BYTES) {
          conn.send(MsgType.RESYNC_CHUNK, { p, e: chunk });
          chunk = [];
          bytes = 0;
          if (conn.queuedBytes > HIGH_WATER) await conn.drain();
        }
        if (conn.closed) throw new Error('connection closed during resync');
      }
      if (chunk.length > 0) conn.send(MsgType.RESYNC_CHUNK, { p, e: chunk });
    } finally {
      await it.close();
    }
    conn.send(MsgType.RESYNC_END, { p, lsn });
    return lsn;
  } finally {
    snap.release();
  }
}

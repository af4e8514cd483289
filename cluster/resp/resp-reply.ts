// Replies of the Redis protocol, as values built by the commands and encoded for the connection's
// protocol version: RESP2 by default, RESP3 after HELLO 3. RESP3's own types fall back as Redis
// does: a null is `$-1` (or `*-1` for a missing array), a map a flat array, a double a bulk string,
// a boolean an integer, a verbatim string a bulk string, a set an array.

export type Reply =
  | { k: 'simple'; s: string }
  | { k: 'err'; s: string }
  | { k: 'int'; n: number | bigint | string }
  | { k: 'bulk'; v: Uint8Array | string }
  | { k: 'null' }
  | { k: 'nullarr' }
  | { k: 'arr'; a: Reply[] }
  | { k: 'set'; a: Reply[] }
  | { k: 'map'; m: [Reply, Reply][] }
  | { k: 'dbl'; d: string }
  | { k: 'bool'; b: boolean }
  | { k: 'verb'; fmt: string; s: string };

export const OK: Reply = { k: 'simple', s: 'OK' };
export const NULL: Reply = { k: 'null' };
export const simple = (s: string): Reply => ({ k: 'simple', s });
export const err = (s: string): Reply => ({ k: 'err', s: s.replace(/[\r\n]+/g, ' ') });
export const int = (n: number | bigint | string): Reply => ({ k: 'int', n });
export const bulk = (v: Uint8Array | string): Reply => ({ k: 'bulk', v });
export const bulkOrNull = (v: Uint8Array | string | null | undefined): Reply => (v == null ? NULL : bulk(v));
export const arr = (a: Reply[]): Reply => ({ k: 'arr', a });
export const map = (m: [Reply, Reply][]): Reply => ({ k: 'map', m });
/** A map with text keys, for HELLO, COMMAND DOCS, CLIENT INFO-like answers. */
export const textMap = (o: Record<string, Reply>): Reply => map(Object.entries(o).map(([k, v]) => [bulk(k), v]));

const CRLF = '\r\n';

const OK_TEXT = `+OK${CRLF}`;

/** The chunks encodeReply made, `bytes` long in all, as one buffer: one allocation, one socket write. */
export function writeChunks(chunks: readonly (string | Uint8Array)[], bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const x of chunks) {
    if (typeof x === 'string') at += b.write(x, at);
    else {
      b.set(x, at);
      at += x.length;
    }
  }
  if (at !== bytes) throw new Error(`RESP reply encoding: ${at} bytes written, ${bytes} counted`);
  return b;
}

/**
 * Appends the encoding of `r` to `out` (strings, UTF-8, and buffers, written in order). Returns
 * the bytes added.
 */
export function encodeReply(r: Reply, proto: 2 | 3, out: (string | Uint8Array)[]): number {
  if (r === OK) {
    out.push(OK_TEXT);
    return 5;
  }
  switch (r.k) {
    case 'simple': {
      const s = `+${r.s}${CRLF}`;
      out.push(s);
      return Buffer.byteLength(s);
    }
    case 'err': {
      const s = `-${r.s}${CRLF}`;
      out.push(s);
      return Buffer.byteLength(s);
    }
    case 'int': {
      const s = `:${r.n}${CRLF}`;
      out.push(s);
      return s.length;
    }
    case 'bulk': {
      const v = typeof r.v === 'string' ? Buffer.from(r.v) : r.v;
      const head = `$${v.length}${CRLF}`;
      out.push(head, v, CRLF);
      return head.length + v.length + 2;
    }
    case 'null': {
      const s = proto === 3 ? `_${CRLF}` : `$-1${CRLF}`;
      out.push(s);
      return s.length;
    }
    case 'nullarr': {
      const s = proto === 3 ? `_${CRLF}` : `*-1${CRLF}`;
      out.push(s);
      return s.length;
    }
    case 'arr':
    case 'set': {
      const s = `${proto === 3 && r.k === 'set' ? '~' : '*'}${r.a.length}${CRLF}`;
      out.push(s);
      let n = s.length;
      for (const x of r.a) n += encodeReply(x, proto, out);
      return n;
    }
    case 'map': {
      const s = proto === 3 ? `%${r.m.length}${CRLF}` : `*${r.m.length * 2}${CRLF}`;
      out.push(s);
      let n = s.length;
      for (const [k, v] of r.m) n += encodeReply(k, proto, out) + encodeReply(v, proto, out);
      return n;
    }
    case 'dbl':
      if (proto === 3) {
        const s = `,${r.d}${CRLF}`;
        out.push(s);
        return s.length;
      }
      return encodeReply(bulk(r.d), proto, out);
    case 'bool':
      if (proto === 3) {
        const s = `#${r.b ? 't' : 'f'}${CRLF}`;
        out.push(s);
        return s.length;
      }
      return encodeReply(int(r.b ? 1 : 0), proto, out);
    case 'verb': {
      if (proto !== 3) return encodeReply(bulk(r.s), proto, out);
      const body = `${r.fmt}:${r.s}`;
      const s = `=${Buffer.byteLength(body)}${CRLF}${body}${CRLF}`;
      out.push(s);
      return Buffer.byteLength(s);
    }
  }
}

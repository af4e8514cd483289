// A node's prepared broadcast right sides, kept between queries (docs/dataframe.md "Where a small
// query's time goes"). Every broadcast join task carries the right side's columns; preparing them
// (checking, decoding, indexing by key, the string columns as dictionaries) ran once per task, in
// code that never got hot. A repeated query now finds its prepared right side here.
//
// An entry is used only for a payload whose right side is equal to the one it was prepared from,
// value for value (types, row counts, null bitmaps, the bytes and strings of every column), with the
// same join type, keys and right and left fields: the prepared join is a function of exactly these.
// So a right frame's new version, or a frame in memory that changed, can never be answered from an
// entry of the old one, whatever its name or version; the comparison costs a pass over the payload's
// columns, a fraction of preparing them. Bounded in bytes (an estimate of the copies kept, the
// decoded columns and the index), the least recently used entry out first.

import { compareBytes } from '../../kv/index.js';
import { ByteLru } from '../byte-lru.js';
import type { ChunkBody } from '../chunk-codec.js';
import type { Field } from '../schema.js';
import { type PreparedJoin, prepareJoin } from './join.js';

/** Bytes of prepared right sides a node keeps (default). */
const DEFAULT_JOIN_CACHE_BYTES = 64 * 1024 * 1024;

interface Entry {
  /** Copies of the payload's right-side bodies (null: a column not sent), compared whole on every lookup. */
  readonly bodies: (ChunkBody | null)[];
  readonly prepared: PreparedJoin;
}

/** Bytes a string is taken to cost in memory: its UTF-16 units and an object header. */
const stringBytes = (s: string): number => 2 * s.length + 16;

/** Bytes one body takes (its copy) and, as an estimate, its decoded column and index entries. */
function bodyBytes(b: ChunkBody | null): number {
  if (b === null) return 0;
  let n = b.z ? b.z.length : 0;
  if (Array.isArray(b.v)) for (const s of b.v) n += stringBytes(s);
  else n += b.v.length;
  if (b.d) for (const s of b.d) n += stringBytes(s);
  return n;
}

function copyBody(b: ChunkBody | null): ChunkBody | null {
  if (b === null) return null;
  const out: ChunkBody = { t: b.t, n: b.n, v: Array.isArray(b.v) ? b.v.slice() : new Uint8Array(b.v) };
  if (b.z) out.z = new Uint8Array(b.z);
  if (b.d) out.d = b.d.slice();
  return out;
}

function sameStrings(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameBytes(a: Uint8Array | undefined, b: unknown): boolean {
  if (a === undefined) return b === undefined;
  return b instanceof Uint8Array && a.length === b.length && compareBytes(a, b) === 0;
}

/** Whether a body has no keys but those of a plain chunk body (t, n, v, z, d). */
function plainKeysOnly(b: Record<string, unknown>): boolean {
  for (const k in b) if (k !== 't' && k !== 'n' && k !== 'v' && k !== 'z' && k !== 'd') return false;
  return true;
}

/** Whether a payload's body (unchecked, from the network) equals a kept copy, value for value. */
function sameBody(kept: ChunkBody | null, raw: unknown): boolean {
  if (kept === null) return raw === null;
  if (raw === null || typeof raw !== 'object') return false;
  const r = raw as Record<string, unknown>;
  if (r.t !== kept.t || r.n !== kept.n || !sameBytes(kept.z, r.z)) return false;
  // Fields beyond those of a plain body (an encoded chunk's) are never cached: see cacheable().
  if (!plainKeysOnly(r)) return false;
  if (Array.isArray(kept.v)) {
    if (!Array.isArray(r.v) || !sameStrings(kept.v, r.v)) return false;
  } else if (!sameBytes(kept.v, r.v)) return false;
  if (kept.d === undefined) return r.d === undefined;
  return Array.isArray(r.d) && sameStrings(kept.d, r.d);
}

/**
 * Whether a body from the network is null (a column not sent) or has only the fields a copy keeps,
 * of the kinds it copies (so the copy is equal to it whole). prepareJoin checks the rest.
 */
function cacheable(raw: unknown): raw is ChunkBody | null {
  if (raw === null) return true;
  if (typeof raw !== 'object') return false;
  const b = raw as Record<string, unknown>;
  if (!plainKeysOnly(b)) return false;
  return (
    (Array.isArray(b.v) || b.v instanceof Uint8Array) &&
    (b.z === undefined || b.z instanceof Uint8Array) &&
    (b.d === undefined || Array.isArray(b.d))
  );
}

/** Prepared broadcast right sides, bounded in bytes; see the file's header. */
export class JoinCache extends ByteLru<Entry> {
  hits = 0;
  misses = 0;

  constructor(capacityBytes = DEFAULT_JOIN_CACHE_BYTES) {
    // One entry may take at most half the cache, so one large right side does not empty it.
    super(capacityBytes, capacityBytes / 2);
  }

  /**
   * The prepared join of `raw` (a join payload from the network) against the left frame's fields:
   * a kept one when its right side and everything else it depends on are equal, else prepared now
   * (prepareJoin, which throws TypeError on a bad payload) and kept if it fits.
   */
  prepare(raw: unknown, left: readonly Field[]): PreparedJoin {
    const key = this.capacity > 0 ? keyOf(raw, left) : undefined;
    const bodies = key === undefined ? undefined : (raw as { right: { bodies: unknown[] } }).right.bodies;
    if (key !== undefined && bodies !== undefined) {
      const e = this.lookup(key);
      if (e !== undefined && e.bodies.length === bodies.length && e.bodies.every((b, i) => sameBody(b, bodies[i]))) {
        this.hits++;
        return e.prepared;
      }
    }
    this.misses++;
    if (key === undefined || bodies === undefined || !bodies.every(cacheable)) return prepareJoin(raw, left);
    // Prepared from copies, so that the decoded columns, which may view a body's bytes, do not keep
    // the request's buffer alive (the copies are what the entry's size counts).
    const copies = bodies.map(copyBody);
    const right = (raw as { right: object }).right;
    const prepared = prepareJoin({ ...(raw as object), right: { ...right, bodies: copies } }, left);
    // The copies, the decoded columns (about as large) and per row an index entry and a code.
    const rows = copies.find((b) => b !== null)?.n ?? 0;
    const bytes = copies.reduce((s, b) => s + 2 * bodyBytes(b), key.length * 2 + 64 * rows + 256);
    this.put(key, { bodies: copies, prepared }, bytes);
    return prepared;
  }
}

/**
 * Everything but the bodies' contents a prepared join depends on, as text (the map's key): join
 * type, keys, the left rows' condition (leftMatch), right and left fields, and each body's type and
 * size. undefined for a payload not shaped like a join payload (prepareJoin then says what is wrong).
 */
function keyOf(raw: unknown, left: readonly Field[]): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const p = raw as {
    how?: unknown;
    on?: unknown;
    leftMatch?: unknown;
    right?: { fields?: unknown; bodies?: unknown };
  };
  const bodies = p.right?.bodies;
  if (!Array.isArray(bodies) || !Array.isArray(p.right?.fields)) return undefined;
  const shape = bodies.map((b) =>
    b !== null && typeof b === 'object' ? [(b as { t?: unknown }).t, (b as { n?: unknown }).n] : null,
  );
  try {
    return JSON.stringify([p.how, p.on, p.leftMatch ?? null, p.right.fields, left.map((f) => [f.name, f.type]), shape]);
  } catch {
    return undefined;
  }
}

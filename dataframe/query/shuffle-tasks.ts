// The node side of a shuffle join (docs/dataframe.md "Joins"; the client side is shuffle.ts). A
// scatter task reads the chunks of one frame that the node was given, splits their rows into buckets
// by a hash of the join key, and writes each bucket's rows to the store as pieces (checksummed chunks
// under \0df/t/<join id>/) whose hash tag puts them in a partition the node itself leads, as a map task
// writes its output locally: no scatter write crosses the network or waits on another node. A
// bucket-join task then pulls one bucket's pieces of both sides from the nodes that wrote them,
// indexes the right ones (indexJoin, as a broadcast join indexes the whole right side) and runs the
// query plan over the left pieces joined to them. Equal keys hash alike on both sides (the same text
// of the key values, I and D alike), so every match meets in one bucket. Memory: a scatter holds at
// most MAX_BUFFERED_ROWS rows of buffered pieces, a bucket join one bucket of the right side and a
// few left pieces.

import { randomBytes } from 'node:crypto';
import { Eau2Error, ErrorCode, isEau2Error, type KvStore, murmur3, utf8 } from '../../kv/index.js';
import { decodeChunk, encodeChunk } from '../chunk-codec.js';
import { ColumnBuilder } from '../column-builder.js';
import { LAYOUT_PREFIX } from '../layout.js';
import type { Column } from '../column.js';
import { checkFields, type Field, type Value } from '../schema.js';
import { groupKeyText } from './group-key.js';
import { checkJoinKeys, checkJoinType, checkLeftMatch, indexJoin } from './join.js';
import { gather, runPartial } from './partial.js';
import { checkPlan } from './plan.js';
import { checkPaging, nodePage } from './page.js';

export const SCATTER_TASK = 'df.scatter';
export const BUCKET_JOIN_TASK = 'df.bucketJoin';
export const DROP_SHUFFLE_TASK = 'df.dropShuffle';

/**
 * Where shuffle pieces live: \0df/t/<id>/<side>/<bucket>/{<tag>}.<seq>/<col>, in the dataframe
 * layer's reserved namespace (layout.ts), where no user key can be and no frame is listed.
 */
const SHUFFLE_PREFIX = `${LAYOUT_PREFIX}t/`;
/** Most buckets a shuffle may have (bounds the pieces a scatter keeps open). */
export const MAX_BUCKETS = 256;
/** Rows a piece holds at most. */
const PIECE_ROWS = 8192;
/** Rows a scatter buffers over all its buckets before it writes them all out. */
const MAX_BUFFERED_ROWS = 65_536;
/**
 * How long shuffle pieces live by default (JoinOptions.shuffleTtlMs): one hour, far longer than a
 * join runs here (seconds for millions of rows), so only pieces nobody deleted ever reach it.
 */
export const SHUFFLE_TTL_MS = 3_600_000;

/**
 * Pieces are written to their partition's leader (the writing node) without waiting for its
 * followers, each of them: a scatter's writes never wait on the network. Before the scatter answers,
 * one write with w=all in the same partition (SYNCED) waits until every in-sync follower holds all
 * of them (a follower acknowledges a position in the partition's log, so everything before it), so
 * the pieces a scatter reported outlive its node: a bucket join reads them from the leader, and from
 * a follower when the leader cannot be reached (PIECE_READ_AROUND), with no wait for a failover.
 */
const PIECE_WRITE = { w: 1 } as const;
const SYNCED = { w: 'all' } as const;
const PIECE_READ = { read: 'leader' } as const;
/** Pieces never change under their key, so any in-sync replica's copy is the value. */
const PIECE_READ_AROUND = { read: 'leader-first' } as const;

const ID_RE = /^[0-9a-f]{24}$/;
/** <tag>.<seq>, the tag being <nonce>.<n>: the hash tag of the piece's keys. */
const PIECE_RE = /^([0-9a-f]{12}\.[0-9]{1,4})\.([0-9]{1,9})$/;
/** Tags a scatter tries to find one in a partition its node leads. */
const MAX_TAG_TRIES = 4096;

/** A new shuffle's id: random, so concurrent joins never share pieces. */
export function newShuffleId(): string {
  return randomBytes(12).toString('hex');
}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/**
 * The key a scatter's closing w=all write goes to: in the shuffle's range (so the cleanup deletes it)
 * and under the scatter's hash tag, so in the partition that holds every piece it wrote.
 */
function syncKey(id: string, side: 'l' | 'r', tag: string): string {
  return `${SHUFFLE_PREFIX}${id}/${side}/sync/{${tag}}`;
}

function pieceKey(id: string, side: 'l' | 'r', bucket: number, piece: string, col: number): string {
  const m = PIECE_RE.exec(piece);
  if (!m) throw protocol(`bad piece name ${JSON.stringify(piece)}`);
  return `${SHUFFLE_PREFIX}${id}/${side}/${hex4(bucket)}/{${m[1]}}.${m[2]}/${hex4(col)}`;
}

/** The key range holding every piece of shuffle `id` (to delete them). */
function shuffleRange(id: string): { gte: string; lt: string } {
  return { gte: `${SHUFFLE_PREFIX}${id}/`, lt: `${SHUFFLE_PREFIX}${id}0` };
}

/**
 * Deletes the pieces of shuffle `id` that `store` scans and this node leads: on a cluster node, the
 * ones in the partitions it leads, which are where its scatters wrote theirs (so run on every node
 * that is up it covers every piece written by a node that is up, including pieces no scatter
 * reported, such as a failed one's); in-process, all of them. One pass, a page of keys at a time (a
 * page starts after the last key of the one before, so a key left alone or a copy that still shows a
 * deleted key cannot hold the pass up); returns how many keys were deleted.
 */
export async function dropShuffle(
  store: KvStore,
  leads: (key: Uint8Array) => boolean,
  rawId: unknown,
): Promise<number> {
  if (typeof rawId !== 'string' || !ID_RE.test(rawId)) throw protocol('bad shuffle id');
  const { gte, lt } = shuffleRange(rawId);
  let after: Uint8Array | undefined;
  let n = 0;
  for (;;) {
    const keys: Uint8Array[] = [];
    const it = store.scan(after ? { gt: after, lt, limit: 512 } : { gte, lt, limit: 512 });
    try {
      for await (const [k] of it) keys.push(k);
    } finally {
      await it.close();
    }
    if (keys.length === 0) return n;
    const mine = keys.filter(leads);
    if (mine.length > 0)
      await store.batch(
        mine.map((key) => ({ type: 'del' as const, key })),
        PIECE_WRITE,
      );
    n += mine.length;
    after = keys[keys.length - 1];
  }
}

/** What a scatter task is told: which shuffle, which side, the key columns, how many buckets. */
interface ScatterSpec {
  id: string;
  side: 'l' | 'r';
  keys: string[];
  buckets: number;
  /** Drop rows with a null key (they match nothing; a left or anti join keeps its left ones). */
  dropNullKeys: boolean;
  /** Pieces expire this many ms after they are written, where the store can expire values. */
  ttlMs?: number;
  /**
   * The columns (field indexes, ascending, the keys among them) the pieces carry: those the join's
   * plan reads of this side. Every column when absent.
   */
  columns?: number[];
}

/** [bucket, piece, rows]: one piece a scatter wrote. */
export type ScatterPiece = [number, string, number];

function protocol(msg: string): Eau2Error {
  return new Eau2Error(ErrorCode.PROTOCOL, `bad shuffle payload: ${msg}`);
}

function checkScatterSpec(raw: unknown, fields: readonly Field[]): { spec: ScatterSpec; keyIdx: number[] } {
  const s = raw as Partial<ScatterSpec> | null;
  if (s === null || typeof s !== 'object') throw protocol('shuffle must be an object');
  if (typeof s.id !== 'string' || !ID_RE.test(s.id)) throw protocol('bad shuffle id');
  if (s.side !== 'l' && s.side !== 'r') throw protocol('side must be l or r');
  if (!Number.isInteger(s.buckets) || s.buckets! < 1 || s.buckets! > MAX_BUCKETS)
    throw protocol(`buckets must be 1..${MAX_BUCKETS}`);
  if (!Array.isArray(s.keys) || s.keys.length === 0 || s.keys.length > 16) throw protocol('1 to 16 key columns');
  if (s.ttlMs !== undefined && (!Number.isSafeInteger(s.ttlMs) || s.ttlMs < 1)) throw protocol('bad ttlMs');
  const keyIdx = s.keys.map((k) => {
    const i = fields.findIndex((f) => f.name === k);
    if (i < 0) throw protocol(`no column named ${JSON.stringify(k)}`);
    return i;
  });
  const columns = s.columns === undefined ? fields.map((_, i) => i) : checkColumns(s.columns, fields.length);
  if (keyIdx.some((k) => !columns.includes(k))) throw protocol('the columns carried must include the keys');
  return { spec: { ...(s as ScatterSpec), dropNullKeys: s.dropNullKeys === true, columns }, keyIdx };
}

/** A list of column indexes from the network: ascending, distinct, each below `n`. */
function checkColumns(raw: unknown, n: number): number[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > n) throw protocol('bad column list');
  raw.forEach((c, k) => {
    if (!Number.isInteger(c) || c < 0 || c >= n || (k > 0 && c <= raw[k - 1])) throw protocol('bad column list');
  });
  return raw as number[];
}

/** The bucket of a row's key values: the same for equal keys on either side. */
function bucketOf(vals: readonly Value[], buckets: number): number {
  return murmur3(utf8(groupKeyText(vals))) % buckets;
}

/**
 * Splits `chunks` of a frame into buckets by key and writes them as pieces through `store`; returns
 * the pieces written. `read` gives one column of one chunk. `expiring`, when the store can expire
 * values (a cluster node), gives the store to write pieces through with the spec's ttlMs.
 */
export async function scatter(
  baseStore: KvStore,
  leads: (key: string) => boolean,
  fields: readonly Field[],
  chunks: readonly number[],
  read: (chunk: number, col: number) => Promise<Column>,
  rowsOf: (chunk: number) => number,
  rawSpec: unknown,
  expiring?: (expiresAt: number) => KvStore,
): Promise<{ pieces: ScatterPiece[] }> {
  const { spec, keyIdx } = checkScatterSpec(rawSpec, fields);
  // Pieces whose join's cleanup never runs (this node or the client dies mid-join) expire instead.
  const store = spec.ttlMs !== undefined && expiring ? expiring(Date.now() + spec.ttlMs) : baseStore;
  const { id, side, buckets } = spec;
  const carried = spec.columns!;
  const nonce = randomBytes(6).toString('hex');
  let tag: string | undefined;
  for (let t = 0; t < MAX_TAG_TRIES && tag === undefined; t++)
    if (leads(pieceKey(id, side, 0, `${nonce}.${t}.0`, 0))) tag = `${nonce}.${t}`;
  if (tag === undefined)
    throw new Eau2Error(ErrorCode.UNAVAILABLE, 'this node leads no partition: it cannot hold shuffle pieces');
  let seq = 0;
  const pieces: ScatterPiece[] = [];
  /** Every piece whose writing began, for the cleanup if the scatter fails. */
  const started: [number, string][] = [];
  const open = new Map<number, ColumnBuilder[]>();
  let buffered = 0;
  const flush = async (b: number): Promise<void> => {
    const bs = open.get(b);
    if (!bs) return;
    open.delete(b);
    const cols = bs.map((x) => x.finish());
    const rows = cols[0]!.length;
    buffered -= rows;
    const piece = `${tag}.${seq++}`;
    started.push([b, piece]);
    // Each column under its field's index, as the bucket join reads it.
    await Promise.all(
      cols.map((c, k) => store.put(pieceKey(id, side, b, piece, carried[k]!), encodeChunk(c), PIECE_WRITE)),
    );
    pieces.push([b, piece, rows]);
  };
  try {
    await scatterChunks();
    // Waits for the followers (past replicaLagMaxMs, a dead one leaves the in-sync set and the write
    // completes): the pieces the scatter answers with are then on every in-sync replica.
    if (pieces.length > 0) await store.put(syncKey(id, side, tag), new Uint8Array(0), SYNCED);
  } catch (e) {
    // Whatever this scatter wrote goes with it (best effort: the join's cleanup runs too).
    await deletePieces(store, id, side, started, carried).catch(() => undefined);
    throw e;
  }
  return { pieces };

  async function scatterChunks(): Promise<void> {
    for (const chunk of chunks) {
      const cols = await Promise.all(carried.map((i) => read(chunk, i)));
      const n = rowsOf(chunk);
      const kc = keyIdx.map((i) => cols[carried.indexOf(i)]!);
      const rowsIn = new Map<number, number[]>();
      for (let r = 0; r < n; r++) {
        const vals = kc.map((c) => c.get(r));
        let b = 0;
        if (vals.some((v) => v === null)) {
          if (spec.dropNullKeys) continue;
        } else b = bucketOf(vals, buckets);
        let list = rowsIn.get(b);
        if (!list) rowsIn.set(b, (list = []));
        list.push(r);
      }
      for (const [b, list] of rowsIn) {
        const all = Uint32Array.from(list);
        // A piece is cut at PIECE_ROWS inside the chunk, not after it: the bucket join refuses a
        // larger one, and a bucket's open piece passes the bound mid-chunk as soon as a node
        // scatters more than its usual share (a dead node's chunks besides its own).
        for (let from = 0; from < all.length; ) {
          let bs = open.get(b);
          if (!bs)
            open.set(
              b,
              (bs = carried.map((i) => new ColumnBuilder(fields[i]!.type, Math.min(PIECE_ROWS, n), fields[i]!.name))),
            );
          const idx = all.subarray(from, from + PIECE_ROWS - bs[0]!.length);
          cols.forEach((c, i) => bs![i]!.appendColumn(gather(c, idx)));
          buffered += idx.length;
          from += idx.length;
          if (bs[0]!.length >= PIECE_ROWS) await flush(b);
        }
      }
      if (buffered > MAX_BUFFERED_ROWS) for (const b of [...open.keys()]) await flush(b);
    }
    for (const b of [...open.keys()]) await flush(b);
  }
}

/** Deletes the given pieces (their columns `cols`) of one side of shuffle `id` by their keys. */
export async function deletePieces(
  store: KvStore,
  id: string,
  side: 'l' | 'r',
  pieces: readonly (readonly [number, string])[],
  cols: readonly number[],
): Promise<void> {
  for (let k = 0; k < pieces.length; k += 64) {
    const ops = pieces
      .slice(k, k + 64)
      .flatMap(([b, piece]) => cols.map((c) => ({ type: 'del' as const, key: pieceKey(id, side, b, piece, c) })));
    await store.batch(ops, PIECE_WRITE);
  }
}

/**
 * Whether a leader read of a piece failed for want of a leader (unreachable, or a failover moving
 * the leadership), so another replica may serve it.
 */
function leaderLost(e: unknown): boolean {
  return (
    isEau2Error(e, ErrorCode.UNAVAILABLE) ||
    isEau2Error(e, ErrorCode.TIMEOUT) ||
    isEau2Error(e, ErrorCode.NOT_LEADER) ||
    !(e instanceof Eau2Error)
  );
}

function checkPieces(raw: unknown, what: string, withChunk: boolean): [string, number, number][] {
  if (!Array.isArray(raw)) throw protocol(`${what} pieces must be an array`);
  return raw.map((p) => {
    if (
      !Array.isArray(p) ||
      p.length !== (withChunk ? 3 : 2) ||
      typeof p[0] !== 'string' ||
      !PIECE_RE.test(p[0]) ||
      !Number.isInteger(p[1]) ||
      p[1] < 1 ||
      p[1] > PIECE_ROWS ||
      (withChunk && (!Number.isInteger(p[2]) || p[2] < 0))
    )
      throw protocol(`bad ${what} piece`);
    return [p[0], p[1], withChunk ? p[2] : 0];
  });
}

async function readPiece(
  store: KvStore,
  id: string,
  side: 'l' | 'r',
  bucket: number,
  piece: string,
  col: number,
  f: Field,
  rows: number,
): Promise<Column> {
  const key = pieceKey(id, side, bucket, piece, col);
  let v: Uint8Array | undefined;
  try {
    v = await store.get(key, PIECE_READ);
  } catch (e) {
    // The leader cannot be reached (its node died after the scatter, and no failover has made
    // another the leader yet): the in-sync followers hold the piece (SYNCED).
    if (!leaderLost(e)) throw e;
    v = await store.get(key, PIECE_READ_AROUND);
  }
  if (v === undefined)
    throw new Eau2Error(
      ErrorCode.NOT_FOUND,
      `shuffle piece ${key} is gone (the join was cancelled or cleaned up, or ran longer than its pieces' shuffleTtlMs)`,
      {
        details: { key },
      },
    );
  return decodeChunk(v, key, f.type, rows);
}

/**
 * One bucket of a shuffle join: the right side's pieces of `bucket` are read and indexed, then the
 * plan runs over the left pieces joined to them, each left piece being the chunk number the client
 * gave it. Returns the plan's partial result, as a query task does.
 */
export async function bucketJoin(store: KvStore, payload: unknown, maxReplyBytes?: number): Promise<unknown> {
  const p = payload as Record<string, unknown> | null;
  if (p === null || typeof p !== 'object') throw protocol('payload must be an object');
  const { id, bucket } = p;
  // Paged as query tasks are (page.ts): the left pieces not answered come back in `more`, by chunk.
  let paging: ReturnType<typeof checkPaging>;
  try {
    paging = checkPaging(p.page, p.taken);
  } catch (e) {
    throw protocol((e as Error).message);
  }
  if (typeof id !== 'string' || !ID_RE.test(id)) throw protocol('bad shuffle id');
  if (!Number.isInteger(bucket) || (bucket as number) < 0 || (bucket as number) >= MAX_BUCKETS)
    throw protocol('bad bucket');
  const b = bucket as number;
  let lf: Field[];
  let rf: Field[];
  let join: ReturnType<typeof indexJoin>;
  let checked: ReturnType<typeof checkPlan>;
  let lp: [string, number, number][];
  let rp: [string, number, number][];
  try {
    lf = checkFields(p.leftFields as Field[]);
    rf = checkFields(p.rightFields as Field[]);
    const how = checkJoinType(p.how);
    const on = checkJoinKeys(p.on, lf, rf);
    const leftMatch = checkLeftMatch(p.leftMatch, how, lf);
    lp = checkPieces(p.left, 'left', true);
    rp = checkPieces(p.right, 'right', false);
    const chunks = new Set(lp.map((x) => x[2]));
    if (chunks.size !== lp.length) throw new TypeError('left pieces need distinct chunk numbers');
    // The right columns the scatter carried (every one when not said); the rest are not read, and a
    // plan that reads one is refused (indexJoin).
    const carried = p.rightColumns === undefined ? rf.map((_, i) => i) : checkColumns(p.rightColumns, rf.length);
    // Reading the right side can wait until the plan is known to be sound.
    const rcols = await readRight(store, id, b, rf, carried, rp);
    join = indexJoin(how, on, lf, rf, rcols, leftMatch);
    checked = checkPlan(p.plan, join.fields);
  } catch (e) {
    if (e instanceof TypeError) throw protocol(e.message);
    throw e;
  }
  const byChunk = new Map(lp.map(([piece, rows, chunk]) => [chunk, { piece, rows }]));
  const load = async (chunk: number, reads: readonly number[]): Promise<(Column | undefined)[]> => {
    const { piece, rows } = byChunk.get(chunk)!;
    const cols = new Array<Column | undefined>(lf.length);
    await Promise.all(
      reads.map(async (c) => void (cols[c] = await readPiece(store, id, 'l', b, piece, c, lf[c]!, rows))),
    );
    return cols;
  };
  const src = join.wrap(load, (chunk) => byChunk.get(chunk)!.rows);
  return runPartial(
    checked,
    checked.fields,
    src.load,
    src.rowsOf,
    lp.map((x) => x[2]),
    4,
    undefined,
    { pageBytes: nodePage(paging.page, maxReplyBytes), taken: paging.taken, columnar: p.cg === true },
  );
}

/** The right side's columns `carried` of one bucket, each at its field's index (undefined at the others'). */
async function readRight(
  store: KvStore,
  id: string,
  bucket: number,
  rf: readonly Field[],
  carried: readonly number[],
  pieces: readonly [string, number, number][],
): Promise<(Column | undefined)[]> {
  const total = pieces.reduce((s, x) => s + x[1], 0);
  const bs = carried.map((c) => new ColumnBuilder(rf[c]!.type, Math.max(1, total), rf[c]!.name));
  for (const [piece, rows] of pieces) {
    const cols = await Promise.all(carried.map((c) => readPiece(store, id, 'r', bucket, piece, c, rf[c]!, rows)));
    cols.forEach((c, k) => bs[k]!.appendColumn(c));
  }
  const out = new Array<Column | undefined>(rf.length);
  carried.forEach((c, k) => {
    out[c] = bs[k]!.finish();
  });
  return out;
}

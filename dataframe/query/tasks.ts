// The pushdown contract with the cluster (docs/dataframe.md "Pushdown"). A node runs a named task
// over its own copy of the data and must count only the chunks whose keys it leads, so each chunk is
// counted exactly once across the cluster. A store that is a TaskRunner (ClusterClient) gets the plan
// pushed to every node; any other store runs the very same task in-process, leading everything.

import type { KvStore, PartitionLeaders, TaskContext, TaskRunner } from '../../kv/index.js';
import {
  Eau2Error,
  ErrorCode,
  compareBytes,
  copyBytes,
  isEau2Error,
  isTaskRunner,
  keyBytes,
  partitionLeadersOf,
  partitionOf,
} from '../../kv/index.js';
import type { ChunkCache } from '../chunk-cache.js';
import type { DecodeArena } from '../chunk-codec.js';
import { ChunkReader } from '../chunk-reader.js';
import type { Column } from '../column.js';
import { checkName, chunkKey, isVersion, metaKey } from '../layout.js';
import { decodeMeta, metaToPlain, plainToMeta, rowsInChunk, slotOf, type FrameMeta } from '../meta.js';
import type { PreparedJoin } from './join.js';
import { JoinCache } from './join-cache.js';
import { runPartial, type PartialResult } from './partial.js';
import { checkPlan, type CheckedPlan } from './plan.js';
import { emptyPartial, type Pruned } from './client-prune.js';
import {
  BUCKET_JOIN_TASK,
  DROP_SHUFFLE_TASK,
  SCATTER_TASK,
  bucketJoin,
  dropShuffle,
  scatter,
} from './shuffle-tasks.js';
import { isCachedMeta, isPublished } from '../meta-cache.js';
import type { VersionCheck } from './version-check.js';
import { checkPaging, clientPage, nodePage, tooManyGroups } from './page.js';
import { TopK, sortKey, type RowPlace, type SortSpec } from './sort.js';
import type { Value } from '../schema.js';

/**
 * This process's prepared broadcast right sides (join-cache.ts): a repeated join query's tasks find
 * theirs here instead of decoding and indexing the right side again. Exported for tests.
 */
export const joinCache = new JoinCache();

/** The context a dataframe task gets: kv's TaskContext plus the node's cache of decoded chunks. */
export interface DataframeTaskContext extends TaskContext {
  /**
   * Decoded column chunks kept between tasks on this node, bounded in bytes (a cluster node's
   * dataframe hook gives every task the same one). A chunk key names one immutable version, so an
   * entry never goes stale; it is used only while the queried version is the published one.
   */
  chunkCache?: ChunkCache;
}

export type DataframeTask = (ctx: DataframeTaskContext, payload: unknown) => Promise<unknown>;

export const QUERY_TASK = 'df.query';
export const HOLDINGS_TASK = 'df.holdings';

/** A decode arena whose arrays are fresh memory: the decoded column owns them (chunk-codec.ts). */
const OWN_ARRAYS: DecodeArena = { take: (bytes) => new ArrayBuffer(bytes) };
const NO_FILL = { fillCache: false } as const;

/** Chunk reads a node keeps in flight while it computes. */
const TASK_CONCURRENCY = 4;

interface DecodedPayload {
  meta: FrameMeta;
  plan: unknown;
  chunks?: number[];
  join?: unknown;
  shuffle?: unknown;
  /** false: read every chunk from the store, not the node's cache (a version no longer published). */
  cache: boolean;
  /** [frame name, version] pairs whose publication the node confirms beside the query (VersionCheck). */
  verify?: [string, string][];
  /** Page size in bytes (page.ts): the result stops past it and lists the chunks left in `more`. */
  page?: number;
  /** Rows that earlier pages of this query returned from this node (they count toward its limit). */
  taken?: number;
  /** A top-k's bound from its earlier pages (PartialOptions.after). */
  after?: RowPlace;
  /** Aggregate results by column (PartialOptions.columnar). */
  columnar: boolean;
}

/** Versions one task may be asked to confirm (a statement names at most two frames). */
const MAX_VERIFY = 8;

function decodeVerify(v: unknown): [string, string][] | undefined {
  if (v === undefined) return undefined;
  if (
    !Array.isArray(v) ||
    v.length > MAX_VERIFY ||
    !v.every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && isVersion(x[1]))
  )
    throw new Eau2Error(ErrorCode.PROTOCOL, 'bad dataframe task payload: verify must be [frame, version] pairs');
  for (const [name] of v as [string, string][]) {
    try {
      checkName(name);
    } catch (e) {
      throw new Eau2Error(ErrorCode.PROTOCOL, `bad dataframe task payload: ${(e as Error).message}`, { cause: e });
    }
  }
  return v as [string, string][];
}

/** A top-k's bound as it travels: [sort key values, chunk, row]. */
function decodeAfter(v: unknown): RowPlace | undefined {
  if (v === undefined) return undefined;
  const ok =
    Array.isArray(v) &&
    v.length === 3 &&
    Array.isArray(v[0]) &&
    v[0].length <= 64 &&
    v[0].every((x: unknown) => x === null || ['number', 'string', 'boolean', 'bigint'].includes(typeof x)) &&
    Number.isSafeInteger(v[1]) &&
    v[1] >= 0 &&
    Number.isSafeInteger(v[2]) &&
    v[2] >= 0;
  if (!ok) throw new Eau2Error(ErrorCode.PROTOCOL, 'bad dataframe task payload: after must be [keys, chunk, row]');
  const [keys, chunk, row] = v as [Value[], number, number];
  return { keys, chunk, row };
}

function decodePayload(payload: unknown): DecodedPayload {
  const p = payload as {
    meta?: unknown;
    plan?: unknown;
    chunks?: unknown;
    join?: unknown;
    shuffle?: unknown;
    cache?: unknown;
    verify?: unknown;
    page?: unknown;
    taken?: unknown;
    after?: unknown;
    cg?: unknown;
  } | null;
  if (p === null || typeof p !== 'object')
    throw new Eau2Error(ErrorCode.PROTOCOL, 'dataframe task payload must be an object');
  let meta: FrameMeta;
  try {
    meta = plainToMeta(p.meta, 'task payload');
  } catch (e) {
    throw new Eau2Error(ErrorCode.PROTOCOL, `bad dataframe task payload: ${(e as Error).message}`, { cause: e });
  }
  if (p.cache !== undefined && typeof p.cache !== 'boolean')
    throw new Eau2Error(ErrorCode.PROTOCOL, 'bad dataframe task payload: cache must be a boolean');
  const cache = p.cache !== false;
  const verify = decodeVerify(p.verify);
  let paging: { page?: number; taken?: number; after?: RowPlace };
  try {
    paging = { ...checkPaging(p.page, p.taken), after: decodeAfter(p.after) };
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    throw new Eau2Error(ErrorCode.PROTOCOL, `bad dataframe task payload: ${e.message}`, { cause: e });
  }
  // A client that reads aggregate results by column says so (an older one does not: it gets rows).
  const columnar = p.cg === true;
  if (p.chunks === undefined)
    return { meta, plan: p.plan, join: p.join, shuffle: p.shuffle, cache, verify, columnar, ...paging };
  const chunks = p.chunks;
  const seen = new Set<number>();
  if (
    !Array.isArray(chunks) ||
    !chunks.every((c) => Number.isInteger(c) && c >= 0 && c < meta.nchunks && !seen.has(c) && !!seen.add(c))
  )
    throw new Eau2Error(ErrorCode.PROTOCOL, `bad dataframe task payload: chunks must be distinct chunk numbers`);
  return {
    meta,
    plan: p.plan,
    chunks: chunks as number[],
    join: p.join,
    shuffle: p.shuffle,
    cache,
    verify,
    columnar,
    ...paging,
  };
}

/**
 * The metadata record that last confirmed each frame's version on this node (by name, the least
 * recently used first out): a record byte-equal to it is not decoded again.
 */
const confirmedRecords = new Map<string, { bytes: Uint8Array; version: string }>();
const MAX_CONFIRMED_RECORDS = 256;

/**
 * Per [name, version]: whether it is the published version, read where this node leads the
 * metadata record's partition (a local read, as a leader-first read from the client is served);
 * null where it does not, or the read failed (the client then reads the record itself).
 */
async function verifyVersions(ctx: DataframeTaskContext, pairs: [string, string][]): Promise<(boolean | null)[]> {
  return Promise.all(
    pairs.map(async ([name, version]) => {
      const key = metaKey(name);
      if (!ctx.isLeaderFor(key)) return null;
      let v: Uint8Array | undefined;
      try {
        v = await ctx.store.get(key, { read: 'leader' });
      } catch {
        return null;
      }
      if (v === undefined) return false;
      let seen = confirmedRecords.get(name);
      if (seen === undefined || compareBytes(seen.bytes, v) !== 0) {
        try {
          seen = { bytes: copyBytes(v), version: decodeMeta(v, name).version };
        } catch {
          return null;
        }
      }
      confirmedRecords.delete(name);
      confirmedRecords.set(name, seen);
      for (const k of confirmedRecords.keys()) {
        if (confirmedRecords.size <= MAX_CONFIRMED_RECORDS) break;
        confirmedRecords.delete(k);
      }
      return seen.version === version;
    }),
  );
}

/** The chunks of `meta` that this node leads (all of them when running locally). */
function ledChunks(ctx: DataframeTaskContext, meta: FrameMeta): number[] {
  const out: number[] = [];
  for (let i = 0; i < meta.nchunks; i++)
    if (ctx.isLeaderFor(chunkKey(meta.name, meta.version, slotOf(meta, i), 0))) out.push(i);
  return out;
}

async function queryTask(ctx: DataframeTaskContext, payload: unknown): Promise<unknown> {
  const td = TRACE ? performance.now() : 0;
  const {
    meta,
    plan,
    chunks: given,
    join: joinRaw,
    cache: useCache,
    verify,
    page,
    taken,
    after,
    columnar,
  } = decodePayload(payload);
  let checked: CheckedPlan;
  let join: PreparedJoin | undefined;
  try {
    // A join query runs its plan over the left frame's chunks joined to the broadcast right side.
    join = joinRaw === undefined ? undefined : joinCache.prepare(joinRaw, meta.fields);
    checked = checkPlan(plan, join ? join.fields : meta.fields);
  } catch (e) {
    throw new Eau2Error(ErrorCode.PROTOCOL, `bad query plan: ${(e as Error).message}`, { cause: e });
  }
  if (after && (checked.plan.aggs !== undefined || after.keys.length !== (checked.plan.orderBy?.length ?? -1)))
    throw new Eau2Error(ErrorCode.PROTOCOL, 'bad dataframe task payload: after needs a value per sort key of a top-k');
  const t0 = TRACE ? performance.now() : 0;
  const start = TRACE ? Date.now() : 0;
  // Beside the query, not before it: a local read of a small record.
  const verifying = verify === undefined ? undefined : verifyVersions(ctx, verify);
  verifying?.catch(() => {}); // awaited below
  const reader = new ChunkReader(ctx.store, meta, ctx.wholeStore === true);
  // No check here that the version is still the published one: the client makes it, with one read
  // in parallel with the tasks, and sends the task again with cache false when it is not
  // (runDataframeTask). A check here cost a read forwarded to the metadata's leader on every node,
  // and that node answers it only between its own task's chunks.
  const cache = useCache && ctx.chunkCache && ctx.chunkCache.capacity > 0 ? ctx.chunkCache : undefined;
  const hits0 = cache?.hits ?? 0;
  const read = async (chunk: number, c: number): Promise<Column> => {
    if (!cache) return reader.read(chunk, c);
    const key = reader.key(chunk, c);
    const hit = cache.get(key);
    if (hit) return hit;
    // The chunk cache keeps the decoded column, so the engine need not keep the raw block too: read
    // without filling the block cache (the value lent from memory the engine reuses, decoded once
    // into arrays of the column's own), which also spares a buffer and a copy per value.
    const col = await reader.read(chunk, c, OWN_ARRAYS, NO_FILL);
    cache.set(key, col);
    return col;
  };
  const load = async (chunk: number, reads: readonly number[]): Promise<(Column | undefined)[]> => {
    const cols = new Array<Column | undefined>(meta.fields.length);
    await Promise.all(reads.map(async (c) => void (cols[c] = await read(chunk, c))));
    return cols;
  };
  // The chunks the caller placed here (placeQuery), else the ones this node leads.
  const chunks = given ?? ledChunks(ctx, meta);
  const rowsOf = (i: number): number => rowsInChunk(meta, i);
  const src = join ? join.wrap(load, rowsOf) : { load, rowsOf };
  // Zone maps describe the frame's own chunks; a join's units of work are not those.
  const zones = join ? undefined : meta.zones;
  const result: PartialResult & { verified?: (boolean | null)[] } = await runPartial(
    checked,
    checked.fields,
    src.load,
    src.rowsOf,
    chunks,
    TASK_CONCURRENCY,
    zones,
    {
      late: join === undefined,
      // The page the client asked for, within an eighth of this node's own reply limit (page.ts).
      pageBytes: nodePage(page, ctx.maxReplyBytes),
      taken,
      after,
      columnar,
    },
  );
  if (verifying) result.verified = await verifying;
  if (TRACE) {
    process.stderr.write(
      `df.query node=${ctx.nodeId} frame=${meta.name} chunks=${chunks.length} start=${start} ms=${(performance.now() - t0).toFixed(1)} ` +
        `decode=${(t0 - td).toFixed(1)} ` +
        `cache=${cache ? `${cache.hits - hits0} hits, ${(cache.bytes / 2 ** 20).toFixed(1)} MiB` : 'off'}\n`,
    );
  }
  return result;
}

/** EAU2_DF_TRACE=1: every query task writes one line to stderr (node, chunks, start time, duration, cache hits). */
const TRACE = process.env.EAU2_DF_TRACE === '1';

/** Which chunks of a frame this node leads: shows how a frame is spread (tests, `df ls --spread`). */
async function holdingsTask(ctx: DataframeTaskContext, payload: unknown): Promise<unknown> {
  const { meta } = decodePayload(payload);
  return { nodeId: ctx.nodeId, chunks: ledChunks(ctx, meta) };
}

/** A shuffle join's first half on one node: its chunks of one frame, split into buckets by key. */
async function scatterTask(ctx: DataframeTaskContext, payload: unknown): Promise<unknown> {
  const { meta, chunks: given, shuffle } = decodePayload(payload);
  const reader = new ChunkReader(ctx.store, meta, ctx.wholeStore === true);
  return scatter(
    ctx.store,
    (key) => ctx.isLeaderFor(key),
    meta.fields,
    given ?? ledChunks(ctx, meta),
    (chunk, col) => reader.read(chunk, col),
    (i) => rowsInChunk(meta, i),
    shuffle,
    ctx.expiringStore?.bind(ctx),
  );
}

export const dataframeTasks: Record<string, DataframeTask> = {
  [QUERY_TASK]: queryTask,
  [HOLDINGS_TASK]: holdingsTask,
  [SCATTER_TASK]: scatterTask,
  [BUCKET_JOIN_TASK]: (ctx, payload) => bucketJoin(ctx.store, payload, ctx.maxReplyBytes),
  [DROP_SHUFFLE_TASK]: async (ctx, payload) => ({
    deleted: await dropShuffle(ctx.store, (key) => ctx.isLeaderFor(key), (payload as { id?: unknown } | null)?.id),
  }),
};

/**
 * Runs a task that needs no frame on every node that is up (placed one by one with runTaskOn when
 * the store can, else every node through runTask), or once in-process.
 */
export async function runTaskEverywhere(store: KvStore, name: string, payload: unknown): Promise<unknown[]> {
  const nodes = taskNodes(store);
  if (nodes.length > 0) return Promise.all(nodes.map((n) => runTaskAt(store, n, name, payload)));
  if (isTaskRunner(store)) return store.runTask(name, payload);
  return [await runTaskAt(store, undefined, name, payload)];
}

/** Runs a task that needs no frame on one node (a TaskRunner's runTaskOn), or in-process. */
export async function runTaskAt(
  store: KvStore,
  node: string | undefined,
  name: string,
  payload: unknown,
): Promise<unknown> {
  if (node !== undefined && isTaskRunner(store) && store.runTaskOn) return store.runTaskOn(node, name, payload);
  const task = dataframeTasks[name];
  if (!task) throw new TypeError(`unknown dataframe task ${name}`);
  return task({ store, isLeaderFor: () => true, nodeId: 'local', wholeStore: true }, payload);
}

/**
 * The nodes a task can be placed on, in topology order and without those known to be down; none
 * when the store runs tasks in-process (or cannot place them on one node).
 */
export function taskNodes(store: KvStore): string[] {
  if (!isTaskRunner(store) || !store.runTaskOn) return [];
  const t = placementOf(store);
  if (!t) return [];
  const down = new Set((t.nodes ?? []).filter((n) => n.status === 'down').map((n) => n.id));
  const ids = new Set<string>();
  for (const pl of t.placement) for (const id of [pl.leader, ...(pl.followers ?? [])]) if (!down.has(id)) ids.add(id);
  return [...ids];
}

/** Runs a task where the data lives: pushed down by a TaskRunner, or in-process on any other store. */
export async function runDataframeTask(
  store: KvStore,
  name: string,
  meta: FrameMeta,
  extra: Record<string, unknown> = {},
  versionCheck?: VersionCheck,
  maxGroups?: number,
  pruned?: { checked: CheckedPlan; chunks: Pruned },
): Promise<unknown[]> {
  // cg: aggregate results by column (ColumnarGroups), which this client's merge reads.
  const payload = { meta: metaToPlain(meta), ...(name === QUERY_TASK ? { cg: true } : {}), ...extra };
  // A store that runs tasks in this process has no node caches: nothing to check.
  if (name !== QUERY_TASK || !isTaskRunner(store) || isCachedMeta(meta) || extra.cache === false)
    return runOnce(store, name, meta, payload, versionCheck, maxGroups, pruned);
  // The nodes answer from their chunk caches whatever version they are asked for, so the version is
  // checked here, in parallel with the tasks: when it is no longer the published one (a frame opened
  // before it was replaced or deleted), the query runs again reading the store only, and so fails
  // with NOT_FOUND, or answers while the old version's chunks remain, exactly as without the caches.
  const check = isPublished(store, meta).catch(() => false);
  let results: unknown[] | undefined;
  let failure: unknown;
  try {
    results = await runOnce(store, name, meta, payload, versionCheck, maxGroups, pruned);
  } catch (e) {
    failure = e;
  }
  if (await check) {
    if (results === undefined) throw failure;
    return results;
  }
  return runOnce(store, name, meta, { ...payload, cache: false }, versionCheck, maxGroups);
}

async function runOnce(
  store: KvStore,
  name: string,
  meta: FrameMeta,
  payload: Record<string, unknown>,
  versionCheck?: VersionCheck,
  maxGroups?: number,
  pruned?: { checked: CheckedPlan; chunks: Pruned },
): Promise<unknown[]> {
  const topo =
    (name === QUERY_TASK || name === SCATTER_TASK) && isTaskRunner(store) && store.runTaskOn
      ? placementOf(store)
      : undefined;
  if (topo)
    return placeQuery(store as KvStore & TaskRunner, name, meta, payload, topo, versionCheck, maxGroups, pruned);
  if (isTaskRunner(store)) {
    const results = await store.runTask(name, payload);
    if (!Array.isArray(results)) throw new Eau2Error(ErrorCode.PROTOCOL, `runTask(${name}) did not return an array`);
    return results;
  }
  const task = dataframeTasks[name];
  if (!task) throw new TypeError(`unknown dataframe task ${name}`);
  return [await task({ store, isLeaderFor: () => true, nodeId: 'local', wholeStore: true }, payload)];
}

/**
 * The chunks a paged result leaves for the next page (`more`), checked against the chunks it was
 * asked for: a strict subset, so that every page answers at least one chunk and the pages end.
 * Undefined when the result answers them all.
 */
export function moreOf(r: unknown, asked: readonly number[]): number[] | undefined {
  const more = (r as { more?: unknown } | null)?.more;
  if (more === undefined) return undefined;
  const of = new Set(asked);
  const seen = new Set<number>();
  if (
    !Array.isArray(more) ||
    more.length === 0 ||
    more.length >= asked.length ||
    !more.every((c) => of.has(c as number) && !seen.has(c as number) && !!seen.add(c as number))
  )
    throw new Eau2Error(
      ErrorCode.PROTOCOL,
      'bad partial query result: its chunks left for a next page are not a strict subset of those asked for',
    );
  delete (r as { more?: unknown }).more;
  return more as number[];
}

/**
 * For a top-k's pages from one node: a function given each page that returns, once the node's pages
 * hold k rows, the k-th best of them as [keys, chunk, row], which the next page is sent (`after`): a
 * row after it is beaten by k rows already here, so the node keeps none (PartialOptions.after).
 * Undefined for a plan that is no top-k.
 */
function topKBound(rawPlan: unknown): ((page: unknown) => [Value[], number, number] | undefined) | undefined {
  const plan = rawPlan as { aggs?: unknown; orderBy?: SortSpec[]; limit?: number; offset?: number } | null;
  if (!plan || plan.aggs !== undefined || !Array.isArray(plan.orderBy) || plan.limit === undefined) return undefined;
  const top = new TopK(plan.limit + (plan.offset ?? 0), plan.orderBy.map(sortKey));
  return (page) => {
    const ranked = (page as { ranked?: unknown } | null)?.ranked;
    if (Array.isArray(ranked))
      for (const x of ranked as [number, number, Value[], Value[]][]) {
        // Shapes are the merge's to check: a malformed row here is only not taken as a bound.
        if (!Array.isArray(x) || !Array.isArray(x[2]) || typeof x[0] !== 'number' || typeof x[1] !== 'number') continue;
        if (top.admits(x[2], x[0], x[1])) top.push({ keys: x[2], chunk: x[0], row: x[1], values: [] });
      }
    const kth = top.kth();
    return kth && [kth.keys, kth.chunk, kth.row];
  };
}

/** Rows in a row query's partial result (what a next page's `taken` counts). */
/** How many groups a partial result holds, by row or by column (0 for another result or a bad one). */
function groupsIn(r: unknown): number {
  const x = r as { groups?: unknown; cgroups?: { n?: unknown } } | null;
  if (Array.isArray(x?.groups)) return x.groups.length;
  const n = x?.cgroups?.n;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 0;
}

export function rowsIn(r: unknown): number {
  const rows = (r as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows)) return 0;
  let n = 0;
  for (const x of rows) {
    const n0 = (Array.isArray(x) && Array.isArray(x[1]) ? (x[1][0] as { n?: unknown } | undefined)?.n : undefined) ?? 0;
    if (typeof n0 === 'number') n += n0;
  }
  return n;
}

/** The store's partitioning when it names every partition's followers (needed to place chunks). */
function placementOf(store: KvStore): PartitionLeaders | undefined {
  const t = partitionLeadersOf(store);
  return t?.placement.every((p) => Array.isArray(p.followers)) ? t : undefined;
}

/** Whether `e` says the node could not be reached (so its chunks can go to another replica). */
export function unreachable(e: unknown): boolean {
  return isEau2Error(e, ErrorCode.UNAVAILABLE) || !(e instanceof Eau2Error || e instanceof TypeError);
}

/**
 * Which node evaluates each of `chunks`: the leader of the chunk's partition unless it is down or
 * failed, else the first such follower (the order the topology lists them); a replica the store
 * could not reach lately (`suspect`) only when no other is left. Throws UNAVAILABLE when every
 * replica of a chunk's partition is out.
 */
function assignChunks(
  meta: FrameMeta,
  topo: PartitionLeaders,
  failed: ReadonlySet<string>,
  chunks: Iterable<number>,
  suspect: (node: string) => boolean = () => false,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const down = new Set(failed);
  for (const n of topo.nodes ?? []) if (n.status === 'down') down.add(n.id);
  for (const i of chunks) {
    const p = partitionOf(keyBytes(chunkKey(meta.name, meta.version, slotOf(meta, i), 0)), topo.partitions);
    const pl = topo.placement[p]!;
    const replicas = [pl.leader, ...(pl.followers ?? [])];
    const node = replicas.find((id) => !down.has(id) && !suspect(id)) ?? replicas.find((id) => !down.has(id));
    if (node === undefined) {
      throw new Eau2Error(
        ErrorCode.UNAVAILABLE,
        `chunk ${i} of frame ${JSON.stringify(meta.name)} is on partition ${p}, and none of its replicas ` +
          `(${replicas.join(', ')}) can be reached`,
        { details: { partition: p, replicas } },
      );
    }
    let list = out.get(node);
    if (!list) out.set(node, (list = []));
    list.push(i);
  }
  return out;
}

/**
 * A query on a cluster: each chunk is evaluated on one replica of its partition that is up,
 * preferring the leader (assignChunks), and the chunks of a node that cannot be reached are placed
 * again on the remaining replicas. Every chunk is evaluated exactly once among the results kept: a
 * node's result is kept only when it answered, and then covers exactly the chunks it was sent.
 */
async function placeQuery(
  store: KvStore & TaskRunner,
  name: string,
  meta: FrameMeta,
  payload: Record<string, unknown>,
  first: PartitionLeaders,
  versionCheck?: VersionCheck,
  maxGroups = Number.POSITIVE_INFINITY,
  pruned?: { checked: CheckedPlan; chunks: Pruned },
): Promise<unknown[]> {
  const failed = new Set<string>();
  const results: unknown[] = [];
  // Groups gathered so far, counted as the partials arrive (ExecuteOptions.maxGroups): the pages of
  // a query with millions of groups stop coming once they pass the bound.
  let groups = 0;
  let todo: number[] = Array.from({ length: meta.nchunks }, (_, i) => i);
  const check = name === QUERY_TASK ? versionCheck : undefined;
  // Chunks the zone maps rule out are answered here, and no node is asked for them (client-prune.ts).
  if (pruned && name === QUERY_TASK && pruned.chunks.chunks.length > 0) {
    results.push(emptyPartial(pruned.checked, pruned.chunks));
    const out = new Set(pruned.chunks.chunks);
    todo = todo.filter((i) => !out.has(i));
    if (todo.length === 0) {
      // The statement's caller reads the versions no task carried once the tasks are out.
      if (check && !check.sent) check.markSent();
      return results;
    }
  }
  // Query results come in pages of an eighth of the largest reply the client takes (page.ts).
  const page = name === QUERY_TASK ? clientPage(store.maxReplyBytes) : undefined;
  // The store's topology is a copy made on each read: the first round uses the caller's.
  for (let round = 0; ; round++) {
    const topo = round === 0 ? first : placementOf(store);
    if (!topo) throw new Eau2Error(ErrorCode.UNAVAILABLE, 'the cluster topology no longer names followers');
    // A node the client failed to reach a moment ago (a paused node: a new connection to it waits
    // out a 3 s handshake timeout) gets no chunk while another replica can take it; without this,
    // every query of a client's first seconds sent it tasks again until the failover.
    const plan = assignChunks(meta, topo, failed, todo, (id) => store.unreachable?.(id) === true);
    // A frame without chunks still gets one (empty) result, from a replica that is up.
    if (todo.length === 0) {
      const node = [topo.placement[0]!.leader, ...(topo.placement[0]!.followers ?? [])].find((n) => !failed.has(n));
      if (!node) throw new Eau2Error(ErrorCode.UNAVAILABLE, 'no node that holds partition 0 can be reached');
      plan.set(node, []);
    }
    // The first query task of a statement checking versions takes each to the node that leads the
    // version's metadata record, if that node is given chunks.
    const verify = new Map<string, FrameMeta[]>();
    if (check && !check.sent) {
      for (const m of check.metas) {
        const p = partitionOf(keyBytes(metaKey(m.name)), topo.partitions);
        const leader = topo.placement[p]?.leader;
        if (leader === undefined || !plan.has(leader)) continue;
        let list = verify.get(leader);
        if (!list) verify.set(leader, (list = []));
        list.push(m);
        check.carried.add(m);
      }
    }
    const again: number[] = [];
    let lastError: unknown;
    let fatal: unknown;
    // Every node's task is waited for, even after one fails: a task still running (a scatter writing
    // shuffle pieces) must not outlive the call, or the caller's cleanup could miss what it writes.
    const running = [...plan].map(async ([node, chunks]) => {
      const metas = verify.get(node);
      // The chunks of this node not answered yet: a paged result answers some and names the rest.
      let left = chunks;
      try {
        let r = await store.runTaskOn!(node, name, {
          ...payload,
          chunks,
          ...(metas ? { verify: metas.map((m) => [m.name, m.version]) } : {}),
          ...(page === undefined ? {} : { page }),
        });
        if (metas) {
          const v = (r as { verified?: unknown } | null)?.verified;
          if (Array.isArray(v))
            metas.forEach((m, i) => {
              if (typeof v[i] === 'boolean') check!.answers.set(m, v[i] as boolean);
            });
          if (r !== null && typeof r === 'object') delete (r as { verified?: unknown }).verified;
        }
        let taken = 0;
        const bound = topKBound(payload.plan);
        for (;;) {
          results.push(r);
          if ((groups += groupsIn(r)) > maxGroups) throw tooManyGroups(maxGroups);
          const more = moreOf(r, left);
          // Once another node's task has failed the query, its next pages are not asked for.
          if (more === undefined || fatal !== undefined) break;
          left = more;
          taken += rowsIn(r);
          const after = bound?.(r);
          r = await store.runTaskOn!(node, name, {
            ...payload,
            chunks: left,
            page,
            taken,
            ...(after ? { after } : {}),
          });
        }
      } catch (e) {
        if (!unreachable(e)) {
          fatal ??= e;
          return;
        }
        failed.add(node);
        lastError = e;
        again.push(...left);
      }
    });
    if (check && !check.sent) check.markSent();
    await Promise.all(running);
    if (fatal !== undefined) throw fatal;
    if (lastError === undefined) return results;
    todo = again; // each round adds a node to `failed`, so this ends
  }
}

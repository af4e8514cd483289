// The pushdown contract with the cluster (docs/dataframe.md "Pushdown"). A node runs a named task
// over its own copy of the data and must count only the chunks whose keys it leads, so each chunk is
// counted exactly once across the cluster. A store that is a TaskRunner (ClusterClient) gets the plan
// pushed to every node; any other store runs the very same task in-process, leading everything.

import type { KvStore, TaskContext } from '../../kv/index.js';
import { Eau2Error, ErrorCode, isTaskRunner } from '../../kv/index.js';
import type { ChunkCache } from '../chunk-cache.js';
import { ChunkReader } from '../chunk-reader.js';
import type { Column } from '../column.js';
import { chunkKey } from '../layout.js';
import { metaToPlain, plainToMeta, rowsInChunk, slotOf, type FrameMeta } from '../meta.js';
import { runPartial } from './partial.js';
import { checkPlan, type CheckedPlan } from './plan.js';
import { readMeta } from '../storage.js';

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

/** Chunk reads a node keeps in flight while it computes. */
const TASK_CONCURRENCY = 4;

function decodePayload(payload: unknown): { meta: FrameMeta; plan: unknown } {
  const p = payload as { meta?: unknown; plan?: unknown } | null;
  if (p === null || typeof p !== 'object')
    throw new Eau2Error(ErrorCode.PROTOCOL, 'dataframe task payload must be an object');
  try {
    return { meta: plainToMeta(p.meta, 'task payload'), plan: p.plan };
  } catch (e) {
    throw new Eau2Error(ErrorCode.PROTOCOL, `bad dataframe task payload: ${(e as Error).message}`, { cause: e });
  }
}

/** The chunks of `meta` that this node leads (all of them when running locally). */
function ledChunks(ctx: DataframeTaskContext, meta: FrameMeta): number[] {
  const out: number[] = [];
  for (let i = 0; i < meta.nchunks; i++)
    if (ctx.isLeaderFor(chunkKey(meta.name, meta.version, slotOf(meta, i), 0))) out.push(i);
  return out;
}

async function queryTask(ctx: DataframeTaskContext, payload: unknown): Promise<unknown> {
  const { meta, plan } = decodePayload(payload);
  let checked: CheckedPlan;
  try {
    checked = checkPlan(plan, meta.fields);
  } catch (e) {
    throw new Eau2Error(ErrorCode.PROTOCOL, `bad query plan: ${(e as Error).message}`, { cause: e });
  }
  const t0 = TRACE ? performance.now() : 0;
  const start = TRACE ? Date.now() : 0;
  const reader = new ChunkReader(ctx.store, meta, ctx.wholeStore === true);
  const cache =
    ctx.chunkCache && ctx.chunkCache.capacity > 0 && (await isPublished(ctx.store, meta)) ? ctx.chunkCache : undefined;
  const hits0 = cache?.hits ?? 0;
  const read = async (chunk: number, c: number): Promise<Column> => {
    if (!cache) return reader.read(chunk, c);
    const key = reader.key(chunk, c);
    const hit = cache.get(key);
    if (hit) return hit;
    const col = await reader.read(chunk, c);
    cache.set(key, col);
    return col;
  };
  const load = async (chunk: number, reads: readonly number[]): Promise<(Column | undefined)[]> => {
    const cols = new Array<Column | undefined>(meta.fields.length);
    await Promise.all(reads.map(async (c) => void (cols[c] = await read(chunk, c))));
    return cols;
  };
  const chunks = ledChunks(ctx, meta);
  const result = await runPartial(checked, meta.fields, load, (i) => rowsInChunk(meta, i), chunks, TASK_CONCURRENCY);
  if (TRACE) {
    process.stderr.write(
      `df.query node=${ctx.nodeId} frame=${meta.name} chunks=${chunks.length} start=${start} ms=${(performance.now() - t0).toFixed(1)} ` +
        `cache=${cache ? `${cache.hits - hits0} hits, ${(cache.bytes / 2 ** 20).toFixed(1)} MiB` : 'off'}\n`,
    );
  }
  return result;
}

/** EAU2_DF_TRACE=1: every query task writes one line to stderr (node, chunks, start time, duration, cache hits). */
const TRACE = process.env.EAU2_DF_TRACE === '1';

/**
 * Whether `meta`'s version is the published one (one small read, forwarded to the metadata's
 * partition). A query on a version that was replaced or deleted skips the node's cache, so it fails
 * with NOT_FOUND (or succeeds while the old chunks remain) exactly as it would without one.
 */
async function isPublished(store: KvStore, meta: FrameMeta): Promise<boolean> {
  try {
    // From the leader: a lagging follower copy could still name a replaced version as published.
    return (await readMeta(store, meta.name, { read: 'leader' }))?.version === meta.version;
  } catch {
    return false;
  }
}

/** Which chunks of a frame this node leads: shows how a frame is spread (tests, `df ls --spread`). */
async function holdingsTask(ctx: DataframeTaskContext, payload: unknown): Promise<unknown> {
  const { meta } = decodePayload(payload);
  return { nodeId: ctx.nodeId, chunks: ledChunks(ctx, meta) };
}

export const dataframeTasks: Record<string, DataframeTask> = {
  [QUERY_TASK]: queryTask,
  [HOLDINGS_TASK]: holdingsTask,
};

/** Runs a task where the data lives: pushed down by a TaskRunner, or in-process on any other store. */
export async function runDataframeTask(
  store: KvStore,
  name: string,
  meta: FrameMeta,
  extra: Record<string, unknown> = {},
): Promise<unknown[]> {
  const payload = { meta: metaToPlain(meta), ...extra };
  if (isTaskRunner(store)) {
    const results = await store.runTask(name, payload);
    if (!Array.isArray(results)) throw new Eau2Error(ErrorCode.PROTOCOL, `runTask(${name}) did not return an array`);
    return results;
  }
  const task = dataframeTasks[name];
  if (!task) throw new TypeError(`unknown dataframe task ${name}`);
  return [await task({ store, isLeaderFor: () => true, nodeId: 'local', wholeStore: true }, payload)];
}

// The client side of a shuffle join (docs/dataframe.md "Joins"), chosen when the right side is over
// the broadcast limit. Both frames are scattered into the same number of buckets by their join keys
// (a scatter task on the nodes holding each frame's chunks, shuffle-tasks.ts), then every bucket that
// can produce rows is joined on one node (a bucket-join task), each node working on one bucket at a
// time so a node holds one bucket of the right side at once. The partial results merge as any
// query's do: a left piece is a chunk of the joined frame. Pieces are deleted when the join ends,
// however it ends.

import { Eau2Error, ErrorCode, isTaskRunner, type KvStore, type TaskRunner } from '../../kv/index.js';
import { clientPage } from './page.js';
import type { FrameMeta } from '../meta.js';
import type { Expr } from './expr-base.js';
import { type JoinType, readsOf } from './join.js';
import type { CheckedPlan } from './plan.js';
import {
  BUCKET_JOIN_TASK,
  DROP_SHUFFLE_TASK,
  SCATTER_TASK,
  deletePieces,
  newShuffleId,
  type ScatterPiece,
} from './shuffle-tasks.js';
import { moreOf, rowsIn, runDataframeTask, runTaskAt, runTaskEverywhere, taskNodes, unreachable } from './tasks.js';

export interface ShuffleSpec {
  readonly how: JoinType;
  readonly on: readonly (readonly [string, string])[];
  readonly buckets: number;
  /** The pieces expire this many ms after they are written (on a cluster; JoinOptions.shuffleTtlMs). */
  readonly ttlMs: number;
  /** A left join's condition on the left row alone (JoinOptions.leftMatch). */
  readonly leftMatch?: Expr;
}

/** Pieces by bucket, from the scatter tasks' results (checked: they come from the network). */
function piecesByBucket(
  results: readonly unknown[],
  buckets: number,
  reported: [number, string][],
): [string, number][][] {
  const out: [string, number][][] = Array.from({ length: buckets }, () => []);
  for (const r of results) {
    const pieces = (r as { pieces?: unknown } | null)?.pieces;
    if (!Array.isArray(pieces)) throw new Eau2Error(ErrorCode.PROTOCOL, 'a scatter task returned no pieces');
    for (const p of pieces as ScatterPiece[]) {
      if (!Array.isArray(p) || !Number.isInteger(p[0]) || p[0] < 0 || p[0] >= buckets)
        throw new Eau2Error(ErrorCode.PROTOCOL, 'a scatter task returned a bad piece');
      out[p[0]]!.push([p[1], p[2]]);
      reported.push([p[0], p[1]]);
    }
  }
  return out;
}

/** The pieces the scatters reported, per side, for the cleanup. */
interface Reported {
  l: [number, string][];
  r: [number, string][];
}

/**
 * Deletes every piece of shuffle `id`: each node that is up deletes the ones in the partitions it
 * leads, where its scatters wrote them (with the node's rights, which a reading client may lack).
 * Pieces of a node that died mid-join stay on it (docs/dataframe.md "Joins"). In-process, the store
 * may scan only part of the keys (a cluster node's own store, under the HTTP route), so the pieces
 * the scatters reported are also deleted by key.
 *
 * On a cluster, a node that cannot be reached (killed, or a partition's leader lost while a node
 * scans for the pieces) does not fail the cleanup: the pieces it would have deleted expire
 * (`shuffleTtlMs`), and a join whose buckets were all answered has its answer. Failing there would
 * fail every join while a dead node is still shown up, though the dead node holds no piece of it.
 */
async function cleanUp(
  store: KvStore,
  id: string,
  reported: Reported,
  cols: { l: readonly number[]; r: readonly number[] },
): Promise<void> {
  try {
    const nodes = taskNodes(store);
    if (nodes.length > 0) {
      // Every node's drop is waited for, so none still deletes after the join returns.
      const drops = await Promise.allSettled(nodes.map((n) => runTaskAt(store, n, DROP_SHUFFLE_TASK, { id })));
      for (const d of drops) if (d.status === 'rejected' && !unreachable(d.reason)) throw d.reason;
      return;
    }
    await runTaskEverywhere(store, DROP_SHUFFLE_TASK, { id });
    if (!isTaskRunner(store)) {
      await deletePieces(store, id, 'l', reported.l, cols.l);
      await deletePieces(store, id, 'r', reported.r, cols.r);
    }
  } catch (e) {
    throw new Eau2Error(
      ErrorCode.UNAVAILABLE,
      `the shuffle join's temporary pieces under ${JSON.stringify(`\u0000df/t/${id}/`)} could not all be deleted: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/**
 * Runs the bucket-join jobs: on a cluster, one worker per node that is up, each taking the next job
 * when it is done with one (so a node holds one bucket at a time); the job of a node that cannot be
 * reached goes to the nodes left, in another round. In-process, one job after another.
 */
async function runBuckets(store: KvStore, jobs: readonly Record<string, unknown>[]): Promise<unknown[]> {
  let nodes = taskNodes(store);
  const results: unknown[] = [];
  if (nodes.length === 0) {
    for (const j of jobs) results.push(await runTaskAt(store, undefined, BUCKET_JOIN_TASK, j));
    return results;
  }
  let queue = [...jobs];
  let fatal: unknown;
  let lastUnreachable: unknown;
  // A job's result comes in pages, as a query's (page.ts): the left pieces a page leaves are asked
  // for again, and a job whose node is lost between pages goes to the nodes left with those only.
  const page = clientPage((store as Partial<TaskRunner>).maxReplyBytes);
  // `todo.job` is what is left of the job: on a failure, the part to run elsewhere.
  const runJob = async (node: string, todo: { job: Record<string, unknown> }): Promise<void> => {
    const job = todo.job;
    let left = job.left as [string, number, number][];
    let taken = 0;
    let r = await runTaskAt(store, node, BUCKET_JOIN_TASK, { ...job, page });
    for (;;) {
      results.push(r);
      const more = moreOf(
        r,
        left.map((x) => x[2]),
      );
      if (more === undefined || fatal !== undefined) return;
      const rest = new Set(more);
      left = left.filter((x) => rest.has(x[2]));
      todo.job = { ...job, left };
      taken += rowsIn(r);
      r = await runTaskAt(store, node, BUCKET_JOIN_TASK, { ...job, left, page, taken });
    }
  };
  while (queue.length > 0) {
    if (nodes.length === 0) throw lastUnreachable;
    const retry: Record<string, unknown>[] = [];
    const lost = new Set<string>();
    await Promise.all(
      nodes.map(async (node) => {
        for (;;) {
          const job = fatal === undefined ? queue.shift() : undefined;
          if (!job) return;
          const todo = { job };
          try {
            await runJob(node, todo);
          } catch (e) {
            if (!unreachable(e)) fatal ??= e;
            else {
              retry.push(todo.job);
              lost.add(node);
              lastUnreachable = e;
            }
            return;
          }
        }
      }),
    );
    if (fatal !== undefined) throw fatal;
    queue = [...retry, ...queue];
    nodes = nodes.filter((n) => !lost.has(n));
  }
  return results;
}

/**
 * A shuffle join of stored frames `left` and `right`, running `checked` (checked against the joined
 * fields) over the joined rows: the partial results, and how many chunks (left pieces) they cover.
 */
export async function shuffleJoin(
  store: KvStore,
  left: FrameMeta,
  right: FrameMeta,
  spec: ShuffleSpec,
  checked: CheckedPlan,
): Promise<{ partials: unknown[]; nchunks: number }> {
  const { how, on, buckets, ttlMs, leftMatch } = spec;
  const id = newShuffleId();
  // Rows with a null key match nothing: an inner or semi join drops them on both sides.
  const innerLike = how === 'inner' || how === 'semi';
  let result: { partials: unknown[]; nchunks: number };
  const reported: Reported = { l: [], r: [] };
  // The pieces carry only the columns the plan reads of each side (with the keys, and a left join's
  // leftMatch columns): a wide frame's other columns are neither written nor read back.
  const nl = left.fields.length;
  const sorted = (xs: Iterable<number>) => [...new Set(xs)].sort((a, b) => a - b);
  const cols = {
    l: sorted([
      ...on.map(([l]) => left.fields.findIndex((f) => f.name === l)),
      ...checked.reads.filter((i) => i < nl),
      ...(leftMatch ? readsOf(leftMatch, left.fields) : []),
    ]),
    r: sorted([
      ...on.map(([, r]) => right.fields.findIndex((f) => f.name === r)),
      ...checked.reads.filter((i) => i >= nl).map((i) => i - nl),
    ]),
  };
  try {
    const scatter = (meta: FrameMeta, side: 'l' | 'r', keys: string[], dropNullKeys: boolean) =>
      runDataframeTask(store, SCATTER_TASK, meta, {
        shuffle: { id, side, keys, buckets, dropNullKeys, ttlMs, columns: cols[side] },
      });
    // Both sides run to the end (settled) before a failure is thrown, so the cleanup below sees every piece.
    const [ls, rs] = await Promise.allSettled([
      scatter(
        left,
        'l',
        on.map(([l]) => l),
        innerLike,
      ),
      scatter(
        right,
        'r',
        on.map(([, r]) => r),
        true,
      ),
    ]);
    if (ls.status === 'rejected') throw ls.reason;
    if (rs.status === 'rejected') throw rs.reason;
    const lp = piecesByBucket(ls.value, buckets, reported.l);
    const rp = piecesByBucket(rs.value, buckets, reported.r);
    const base = {
      plan: checked.plan,
      how,
      on,
      id,
      leftFields: left.fields,
      rightFields: right.fields,
      rightColumns: cols.r,
      // Aggregate results by column (ColumnarGroups), which this client's merge reads.
      cg: true,
      ...(leftMatch ? { leftMatch } : {}),
    };
    let nchunks = 0;
    const jobs: Record<string, unknown>[] = [];
    for (let b = 0; b < buckets; b++) {
      // A bucket without left rows gives nothing; one without right rows nothing for inner and semi.
      if (lp[b]!.length === 0 || (innerLike && rp[b]!.length === 0)) continue;
      jobs.push({ ...base, bucket: b, left: lp[b]!.map(([p, rows]) => [p, rows, nchunks++]), right: rp[b] });
    }
    // A join without rows still gets one (empty) partial result, as a frame without chunks does.
    if (jobs.length === 0) jobs.push({ ...base, bucket: 0, left: [], right: [] });
    result = { partials: await runBuckets(store, jobs), nchunks };
  } catch (e) {
    // The join's own error is the one to report; the cleanup is still attempted.
    await cleanUp(store, id, reported, cols).catch(() => undefined);
    throw e;
  }
  await cleanUp(store, id, reported, cols);
  return result;
}

// The client side of a join: `left.join(right, { on, how })` is a Query over the joined columns, run
// by one of two strategies, chosen from the right side's estimated size before the query runs (so
// explain() can say which): broadcast (the right side, read once at the client, travels with the plan
// to wherever the left frame's chunks are) when it fits the broadcast limit, else, when both frames
// are stored, a shuffle (shuffle.ts) that repartitions both by key across the nodes.
// docs/dataframe.md "Joins".

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { Column } from '../column.js';
import type { FrameMeta } from '../meta.js';
import type { Field } from '../schema.js';
import { exprText } from './explain.js';
import type { Expr } from './expr-base.js';
import { foldPlan } from './fold.js';
import {
  DEFAULT_BROADCAST_BYTES,
  JOIN_TYPES,
  checkJoinKeys,
  checkLeftMatch,
  joinPayload,
  joinedFields,
  type JoinPayload,
  type JoinType,
} from './join.js';
import type { CheckedPlan, ExecuteOptions, QuerySource } from './plan.js';
import { MAX_BUCKETS, SHUFFLE_TTL_MS } from './shuffle-tasks.js';
import type { ShuffleSpec } from './shuffle.js';

export interface JoinOptions {
  /** Key columns: one name or several (the same in both frames), or [left, right] pairs. */
  on: string | readonly string[] | readonly (readonly [string, string])[];
  /** inner (default), left, semi (left rows with a match), anti (left rows without one). */
  how?: JoinType;
  /**
   * Left joins: a condition on the left row alone; a left row where it is not true matches nothing
   * and is kept with nulls (SQL's `LEFT JOIN b ON a.k = b.k AND a.x = 'y'`).
   */
  leftMatch?: Expr;
  /**
   * Most bytes of right-side columns sent to the nodes (default 64 MiB). Past it, two stored frames
   * are joined by a shuffle; a right side in memory, or a left one, fails with TOO_LARGE.
   */
  broadcastLimitBytes?: number;
  /** Shuffle joins: how many buckets the frames are split into (default: see docs, at most 256). */
  buckets?: number;
  /**
   * Shuffle joins on a cluster: the pieces are written to expire this many ms after they are written
   * (default SHUFFLE_TTL_MS, one hour), so pieces whose cleanup never ran (their node or the client
   * died mid-join) leave by themselves. A join running longer fails (NOT_FOUND on a piece): give more.
   */
  shuffleTtlMs?: number;
}

/** What a join needs of its left side: its fields, and ways to run a plan with a join. */
export interface JoinLeft {
  readonly fields: readonly Field[];
  readonly nchunks: number;
  runJoin(checked: CheckedPlan, join: JoinPayload, opts?: ExecuteOptions): Promise<unknown[]>;
  where(): string;
  /** Stored frames only: runs the plan as a shuffle join with a stored right side. */
  shuffle?(
    checked: CheckedPlan,
    right: FrameMeta,
    spec: ShuffleSpec,
  ): Promise<{ partials: unknown[]; nchunks: number }>;
  /** Nodes that would run a shuffle's buckets (1 in-process). */
  nodes?(): number;
}

/** What a join needs of its right side: its fields, its size, and its columns (read when the query runs). */
export interface JoinRight {
  readonly fields: readonly Field[];
  readonly name?: string;
  readonly nrows: number;
  /** Bytes the columns `cols` (field indexes) take in memory: exact for a frame in memory, estimated for a stored one. */
  estimatedBytes(cols: readonly number[]): number;
  /**
   * The columns `cols` (field indexes, ascending), each at its field's index and undefined at the
   * others', or undefined as soon as they are found to take more than `limitBytes`.
   */
  columns(limitBytes: number, cols: readonly number[]): Promise<readonly (Column | undefined)[] | undefined>;
  /** A stored frame's metadata (a shuffle needs both sides stored). */
  readonly meta?: FrameMeta;
}

/** Buckets a shuffle uses by default: enough for a bucket of the right side to fit the broadcast limit. */
const MIN_BUCKETS_PER_NODE = 2;
const DEFAULT_MAX_BUCKETS = 64;

function keyPairs(on: JoinOptions['on']): [string, string][] {
  if (typeof on === 'string') return [[on, on]];
  if (!Array.isArray(on))
    throw new TypeError('join: on must be a column name, a list of names, or [left, right] pairs');
  return (on as readonly (string | readonly [string, string])[]).map((k) =>
    typeof k === 'string' ? ([k, k] as [string, string]) : ([k[0], k[1]] as [string, string]),
  );
}

function tooLarge(bytes: number, limitBytes: number, why: string): Eau2Error {
  return new Eau2Error(
    ErrorCode.TOO_LARGE,
    `the join's right side takes over ${limitBytes} bytes (the broadcast limit; about ${bytes} estimated) and ${why}: ` +
      'store both frames to join them by shuffle, filter or select fewer columns of the right side, or raise broadcastLimitBytes',
    { details: { bytes, limitBytes } },
  );
}

/** What a Query over the joined frames runs against (the caller wraps it: new Query(joinSource(...))). */
export function joinSource(left: JoinLeft, right: JoinRight, opts: JoinOptions): QuerySource {
  if (opts === null || typeof opts !== 'object') throw new TypeError('join takes { on, how }');
  const how = opts.how ?? 'inner';
  if (!(JOIN_TYPES as readonly string[]).includes(how))
    throw new TypeError(`join: how must be one of ${JOIN_TYPES.join(', ')}`);
  const on = checkJoinKeys(keyPairs(opts.on), left.fields, right.fields);
  // Constant operands folded once here, as a filter's are (fold.ts), not per row on the nodes.
  const checkedMatch = checkLeftMatch(opts.leftMatch, how, left.fields);
  const leftMatch = checkedMatch && foldPlan({ filter: checkedMatch }, left.fields).filter;
  const limit = opts.broadcastLimitBytes ?? DEFAULT_BROADCAST_BYTES;
  if (!(limit >= 0)) throw new TypeError('broadcastLimitBytes must be a number >= 0');
  if (opts.buckets !== undefined && (!Number.isInteger(opts.buckets) || opts.buckets < 1 || opts.buckets > MAX_BUCKETS))
    throw new TypeError(`join: buckets must be an integer from 1 to ${MAX_BUCKETS}`);
  const ttlMs = opts.shuffleTtlMs ?? SHUFFLE_TTL_MS;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new TypeError('join: shuffleTtlMs must be an integer >= 1');
  const { fields } = joinedFields(left.fields, right.fields, how);
  const canShuffleKeys = left.shuffle !== undefined && right.meta !== undefined;
  // A join without keys puts every row in one bucket: it is broadcast or nothing.
  const canShuffle = canShuffleKeys && on.length > 0;
  const nl = left.fields.length;
  const everyColumn = right.fields.map((_, i) => i);
  const keyColumns = on.map(([, r]) => right.fields.findIndex((f) => f.name === r));
  // Only the right columns a plan reads are sent (and counted against the limit): its keys, the
  // columns it reads past the left side's, and, for a join without keys that reads none, one column,
  // which carries the row count. A dimension table's other columns stay where they are.
  const readsOf = (checked: CheckedPlan | undefined): number[] => {
    if (checked === undefined) return everyColumn;
    const need = new Set(keyColumns);
    for (const i of checked.reads) if (i >= nl) need.add(i - nl);
    if (need.size === 0 && right.fields.length > 0) need.add(0);
    return [...need].sort((a, b) => a - b);
  };
  const choose = (cols: readonly number[]) => {
    const est = right.estimatedBytes(cols);
    const buckets =
      opts.buckets ??
      Math.min(
        DEFAULT_MAX_BUCKETS,
        Math.max(MIN_BUCKETS_PER_NODE * (left.nodes?.() ?? 1), Math.ceil(est / Math.max(1, limit))),
      );
    const strategy: 'broadcast' | 'shuffle' = est > limit && canShuffle ? 'shuffle' : 'broadcast';
    return { est, buckets, strategy };
  };
  const keys =
    (on.length
      ? `join on ${on.map(([l, r]) => (l === r ? l : `${l} = ${r}`)).join(', ')}`
      : 'join without keys, every left row with every right row') +
    (leftMatch ? `, left rows matching only where ${exprText(leftMatch)}` : '');
  const rightName = right.name ?? '(in memory)';
  const shuffle = (checked: CheckedPlan, buckets: number) =>
    left.shuffle!(checked, right.meta!, { how, on, buckets, ttlMs, ...(leftMatch ? { leftMatch } : {}) });
  // One payload per set of columns read: a Query's plans (count(), then collect()) may read different ones.
  const payloads = new Map<string, Promise<JoinPayload | undefined>>();
  const columnsText = (cols: readonly number[]) =>
    cols.length === right.fields.length
      ? 'every column'
      : `the ${cols.length === 1 ? 'column' : `${cols.length} columns`} read, ${cols.map((i) => right.fields[i]!.name).join(', ')}`;
  return {
    fields,
    nchunks: left.nchunks,
    execute: async (checked, opts) => {
      const cols = readsOf(checked);
      const { est, buckets, strategy } = choose(cols);
      if (strategy === 'shuffle') return shuffle(checked, buckets);
      const key = cols.join(',');
      let payload = payloads.get(key);
      if (payload === undefined) {
        payload = right.columns(limit, cols).then((rc) => rc && joinPayload(how, on, right.fields, rc, leftMatch));
        payloads.set(key, payload);
      }
      const p = await payload;
      if (p) return left.runJoin(checked, p, opts);
      // The estimate was low (longer strings than assumed): the columns were found over the limit.
      if (canShuffle) return shuffle(checked, buckets);
      throw tooLarge(
        est,
        limit,
        on.length ? 'a shuffle join needs both frames stored' : 'a join without keys is not shuffled',
      );
    },
    describe: (checked) => {
      const cols = readsOf(checked);
      const { est, buckets, strategy } = choose(cols);
      return strategy === 'broadcast'
        ? `${left.where()}, each joining its chunks to the right side ${rightName} ` +
            `(${right.nrows} rows, ${columnsText(cols)}: ~${est} bytes estimated, within the broadcast limit of ${limit}; ` +
            `broadcast to every node: ${how} ${keys})`
        : `shuffle join, ${how} ${keys}: the right side ${rightName} (${right.nrows} rows, ${columnsText(cols)}: ~${est} bytes ` +
            `estimated) is over the broadcast limit of ${limit}, so first a scatter task on the nodes holding each ` +
            `frame repartitions both by key into ${buckets} buckets written to the store (deleted after the query)`;
    },
    over: (checked) =>
      choose(readsOf(checked)).strategy === 'shuffle'
        ? `the buckets it is given, one at a time, each bucket's left rows joined to its right rows`
        : 'the chunks it leads',
  };
}

// The client side of a join: `left.join(right, { on, how })` is a Query over the joined columns. The
// right side is read (once, when the query first runs) and checked against the broadcast limit, then
// travels with the plan to wherever the left frame's chunks are. docs/dataframe.md "Joins".

import type { Column } from '../column.js';
import type { Field } from '../schema.js';
import {
  DEFAULT_BROADCAST_BYTES,
  JOIN_TYPES,
  checkJoinKeys,
  joinPayload,
  joinedFields,
  type JoinPayload,
  type JoinType,
} from './join.js';
import type { CheckedPlan, QuerySource } from './plan.js';

export interface JoinOptions {
  /** Key columns: one name or several (the same in both frames), or [left, right] pairs. */
  on: string | readonly string[] | readonly (readonly [string, string])[];
  /** inner (default), left, semi (left rows with a match), anti (left rows without one). */
  how?: JoinType;
  /** Most bytes of right-side columns sent to the nodes (default 64 MiB); past it the join fails. */
  broadcastLimitBytes?: number;
}

/** What a join needs of its left side: its fields, and a way to run a plan with a join payload. */
export interface JoinLeft {
  readonly fields: readonly Field[];
  readonly nchunks: number;
  runJoin(checked: CheckedPlan, join: JoinPayload): Promise<unknown[]>;
  where(): string;
}

/** What a join needs of its right side: its fields and its columns (read when the query runs). */
export interface JoinRight {
  readonly fields: readonly Field[];
  readonly name?: string;
  readonly nrows: number;
  columns(): Promise<readonly Column[]>;
}

function keyPairs(on: JoinOptions['on']): [string, string][] {
  if (typeof on === 'string') return [[on, on]];
  if (!Array.isArray(on))
    throw new TypeError('join: on must be a column name, a list of names, or [left, right] pairs');
  return (on as readonly (string | readonly [string, string])[]).map((k) =>
    typeof k === 'string' ? ([k, k] as [string, string]) : ([k[0], k[1]] as [string, string]),
  );
}

/** What a Query over the joined frames runs against (the caller wraps it: new Query(joinSource(...))). */
export function joinSource(left: JoinLeft, right: JoinRight, opts: JoinOptions): QuerySource {
  if (opts === null || typeof opts !== 'object') throw new TypeError('join takes { on, how }');
  const how = opts.how ?? 'inner';
  if (!(JOIN_TYPES as readonly string[]).includes(how))
    throw new TypeError(`join: how must be one of ${JOIN_TYPES.join(', ')}`);
  const on = checkJoinKeys(keyPairs(opts.on), left.fields, right.fields);
  const limit = opts.broadcastLimitBytes ?? DEFAULT_BROADCAST_BYTES;
  const { fields } = joinedFields(left.fields, right.fields, how);
  let payload: Promise<JoinPayload> | undefined;
  return {
    fields,
    nchunks: left.nchunks,
    execute: async (checked) => {
      payload ??= right.columns().then((cols) => joinPayload(how, on, right.fields, cols, limit));
      return left.runJoin(checked, await payload);
    },
    describe: () =>
      `${left.where()}, each joining its chunks to the right side ${right.name ?? '(in memory)'} ` +
      `(${right.nrows} rows, broadcast to every node: ${how} join on ${on.map(([l, r]) => (l === r ? l : `${l} = ${r}`)).join(', ')})`,
  };
}

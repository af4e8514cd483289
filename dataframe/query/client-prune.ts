// Chunks a query's answer cannot need, decided at the client from the frame's zone maps before any
// task is sent (docs/dataframe.md "Zone maps"). The nodes make the same decisions for the chunks
// they are given, but only after the client has sent every node a task: on a cluster, a query over
// data stored in time order that needs one node's chunks (`WHERE ts >= <last hour>`, `ORDER BY ts
// DESC LIMIT 10`) still cost every node a request, a task and the read of its best chunk, and the
// client the slowest of their replies. Chunks pruned here go to no node; the client answers them
// itself with the empty partial a node would have returned for them.

import type { FrameMeta } from '../meta.js';
import { rowsInChunk } from '../meta.js';
import type { Value } from '../schema.js';
import { pruneChunks } from '../zone-map.js';
import { onlyNotNull } from './filter.js';
import type { PartialResult } from './partial.js';
import type { CheckedPlan } from './plan.js';
import { compareValue, sortKey } from './sort.js';

/** What the client answers itself: chunks no node is sent, and how many of them the filter rules out. */
export interface Pruned {
  readonly chunks: readonly number[];
  /** Of `chunks`, those the filter's zones rule out (a query's chunksSkipped); the rest a top-k's bound. */
  readonly filtered: number;
}

/**
 * The chunks of `meta` that cannot contribute a row or a group to `checked`'s answer, by the zone
 * maps alone; undefined when there are none (or the frame has no zone maps).
 *
 * - The filter: a chunk whose zones show no row can match (pruneChunks, as a node decides).
 * - A top-k (`ORDER BY x [DESC] LIMIT k`, no filter beyond `x IS NOT NULL`, nulls last): the chunks
 *   left are ranked by the worst first-key value their zones guarantee (the least, descending), and
 *   once those chunks hold k non-null rows, their least guarantee is a bound b: at least k rows have
 *   a first key as good as b. A chunk whose best value is strictly worse than b (its null rows are
 *   worse still: nulls last) has k rows ahead of each of its rows, whatever the later keys and
 *   positions, so none of its rows is in the answer. The chunks that make the bound are kept, since
 *   their best is at least b.
 */
export function prunable(checked: CheckedPlan, meta: FrameMeta): Pruned | undefined {
  const zones = meta.zones;
  if (zones === undefined || meta.nchunks === 0) return undefined;
  const { plan, fields } = checked;
  const rowsOf = (i: number): number => rowsInChunk(meta, i);
  const all = Array.from({ length: meta.nchunks }, (_, i) => i);
  const kept = pruneChunks(plan.filter, fields, zones, all, rowsOf);
  const filtered = all.length - kept.length;
  const beaten = new Set(topKBeaten(checked, meta, kept));
  if (filtered === 0 && beaten.size === 0) return undefined;
  const keep = new Set(kept.filter((i) => !beaten.has(i)));
  return { chunks: all.filter((i) => !keep.has(i)), filtered };
}

/** Of `chunks`, those a top-k's zone bound shows hold no row of its answer (see prunable). */
function topKBeaten(checked: CheckedPlan, meta: FrameMeta, chunks: readonly number[]): number[] {
  const { plan, fields } = checked;
  if (plan.aggs !== undefined || !plan.orderBy?.length || plan.limit === undefined) return [];
  const k = plan.limit + (plan.offset ?? 0);
  const key = sortKey(plan.orderBy[0]!);
  const col = fields.findIndex((f) => f.name === key.col);
  // Zones cover the frame's own columns; a boolean key's are not kept; nulls first would rank a
  // chunk's nulls ahead of every bound.
  if (col < 0 || col >= meta.fields.length || fields[col]!.type === 'B' || key.nulls === 'first' || k <= 0) return [];
  if (plan.filter !== undefined && onlyNotNull(plan.filter, fields) !== col) return [];
  const zones = meta.zones!;
  // [worst guaranteed, best possible, non-null rows] of each chunk whose zone bounds its values.
  const bounded: [Value, Value, number, number][] = [];
  const allNull: number[] = [];
  for (const i of chunks) {
    const z = zones[i]?.[col];
    if (z === undefined) continue;
    const [min, max, nulls] = z;
    const rows = rowsInChunk(meta, i);
    if (min === null || max === null) {
      if (nulls === rows) allNull.push(i);
      continue; // NaN, long strings: no bounds
    }
    bounded.push(key.desc ? [min, max, rows - nulls, i] : [max, min, rows - nulls, i]);
  }
  // The bound: walk chunks from the best guarantee down until they hold k rows.
  const byGuarantee = [...bounded].sort((a, b) => compareValue(a[0], b[0], key));
  let held = 0;
  let bound: Value | undefined;
  for (const [worst, , n] of byGuarantee) {
    held += n;
    if (held >= k) {
      bound = worst;
      break;
    }
  }
  if (bound === undefined) return [];
  const out = allNull;
  for (const [, best, , i] of bounded) if (compareValue(best, bound, key) > 0) out.push(i);
  return out;
}

/** The partial a node returns for chunks it answers without reading: no rows, groups or ranked rows. */
export function emptyPartial(checked: CheckedPlan, pruned: Pruned): PartialResult {
  const { plan } = checked;
  const result: PartialResult = { chunks: [...pruned.chunks] };
  if (pruned.filtered > 0) result.skipped = pruned.filtered;
  if (plan.aggs !== undefined) result.groups = [];
  else if (plan.orderBy) result.ranked = [];
  else result.rows = [];
  return result;
}

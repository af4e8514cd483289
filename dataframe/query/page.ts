// Paged partial results. A node's answer to a query task travels as one reply frame, and a frame has
// a limit (maxFrameBytes, 64 MiB by default): a row query over a node's share of a large frame, a
// high-cardinality GROUP BY or a top-k with a large LIMIT can pass it. So a task given a page size
// stops after the chunk that takes its result past that size and names the chunks it did not answer
// (`more`); the client sends the task again for those, on the same node. Every partial is
// mergeable, whatever chunks it covers (rows by chunk, groups' accumulators, each page's best rows),
// so the merge is unchanged. Sizes are estimates of the msgpack bytes, close for numbers and
// strings; a page holds at most one chunk's result past its size.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { ChunkBody } from '../chunk-codec.js';
import type { Value } from '../schema.js';

/**
 * The page size a client asks for: an eighth of the 64 MiB frame limit, so that a page that passes
 * it by the few chunks read ahead still fits a frame, and a node's work between two turns of its
 * event loop stays small (a page's sort and encoding: with 32 MiB top-k pages of ~400k rows, a query
 * once failed at a load of 12 as if its node were down).
 */
const DEFAULT_PAGE_BYTES = 8 * 1024 * 1024;

/** The page a client asks for: an eighth of the largest reply it takes, at most DEFAULT_PAGE_BYTES. */
export function clientPage(maxReplyBytes: number | undefined): number {
  return maxReplyBytes === undefined
    ? DEFAULT_PAGE_BYTES
    : Math.max(1, Math.min(DEFAULT_PAGE_BYTES, Math.floor(maxReplyBytes / 8)));
}

/** The page a node takes: the one asked for, within an eighth of its own reply limit (if it has one). */
export function nodePage(page: number | undefined, maxReplyBytes: number | undefined): number | undefined {
  if (page === undefined || maxReplyBytes === undefined) return page;
  return Math.min(page, Math.max(1, Math.floor(maxReplyBytes / 8)));
}

/** A task payload's `page` and `taken`, checked (a TypeError names the bad one). */
export function checkPaging(page: unknown, taken: unknown): { page?: number; taken?: number } {
  if (page !== undefined && !(Number.isSafeInteger(page) && (page as number) > 0))
    throw new TypeError('page must be a positive integer');
  if (taken !== undefined && !(Number.isSafeInteger(taken) && (taken as number) >= 0))
    throw new TypeError('taken must be a non-negative integer');
  return { page: page as number | undefined, taken: taken as number | undefined };
}

/** Estimated bytes of a chunk body in a reply. */
export function bodyBytes(b: ChunkBody): number {
  let n = 16 + (b.z?.length ?? 0);
  if (b.v instanceof Uint8Array) n += b.v.length;
  else for (const s of b.v) n += s.length + 2;
  if (b.d) for (const s of b.d) n += s.length + 2;
  return n;
}

/** Estimated bytes of values in a reply (a number or an int64 9, a string its length and a header). */
export function valuesBytes(vs: readonly Value[]): number {
  let n = 1;
  for (const v of vs) n += typeof v === 'string' ? v.length + 5 : 9;
  return n;
}

/** TOO_LARGE for a query that gathered more than `max` groups (ExecuteOptions.maxGroups). */
export function tooManyGroups(max: number): Eau2Error {
  return new Eau2Error(
    ErrorCode.TOO_LARGE,
    `the query has more than ${max} groups, the limit here (maxGroups; EAU2_DF_MAX_GROUPS for the queries a ` +
      'node runs for HTTP and console clients): filter first, group by fewer values, or run it from a client ' +
      '(DataFrame.sql, eau2 sql)',
    { details: { maxGroups: max } },
  );
}

// A sorted scan over a hash-partitioned key space: keys are spread over all partitions, so an ordered
// range is the k-way merge of every partition's own ordered range. Each partition is read in pages
// (locally or from a remote node, the caller decides), the next page of a partition is fetched only
// when its buffered entries run out, and the merge stops as soon as `limit` entries were produced.

import type { KvIterator } from '../kv/index.js';
import { compareBytes } from '../kv/index.js';

/** A key range over bytes: the bounds of KvStore's Range, already converted from strings. */
export interface EngineRange {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
}

export interface PageRequest extends EngineRange {
  reverse: boolean;
  limit: number;
}

export interface Page {
  entries: [Uint8Array, Uint8Array][];
  /** True when the partition may hold more entries past the last one returned. */
  more: boolean;
}

export type FetchPage = (p: number, req: PageRequest) => Promise<Page>;

export interface MergeRange extends EngineRange {
  reverse?: boolean;
  limit?: number;
}

const DEFAULT_PAGE = 256;

interface Source {
  p: number;
  buf: [Uint8Array, Uint8Array][];
  i: number;
  more: boolean;
  req: PageRequest;
}

export function mergedScan(
  partitions: readonly number[],
  range: MergeRange,
  fetch: FetchPage,
  mapValue: (v: Uint8Array) => Uint8Array = (v) => v,
  pageSize = DEFAULT_PAGE,
): KvIterator {
  const reverse = range.reverse === true;
  let remaining = range.limit === undefined || range.limit < 0 ? Infinity : range.limit;
  const page = (): number => Math.max(1, Math.min(pageSize, remaining));
  const base: EngineRange = {};
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (range[k] !== undefined) base[k] = range[k];
  const sources: Source[] = partitions.map((p) => ({
    p,
    buf: [],
    i: 0,
    more: true,
    req: { ...base, reverse, limit: 0 },
  }));
  let closed = false;

  const refill = async (s: Source): Promise<void> => {
    s.req.limit = page();
    const r = await fetch(s.p, s.req);
    s.buf = r.entries;
    s.i = 0;
    s.more = r.more && r.entries.length > 0;
    const last = r.entries[r.entries.length - 1];
    if (last) {
      // Continue strictly after the last key returned, keeping the far bound.
      if (reverse) {
        delete s.req.lte;
        s.req.lt = last[0];
      } else {
        delete s.req.gte;
        s.req.gt = last[0];
      }
    }
  };

  const next = async (): Promise<[Uint8Array, Uint8Array] | undefined> => {
    if (closed || remaining <= 0) return undefined;
    await Promise.all(sources.filter((s) => s.i >= s.buf.length && s.more).map(refill));
    let best: Source | undefined;
    for (const s of sources) {
      if (s.i >= s.buf.length) continue;
      if (!best) best = s;
      else {
        const c = compareBytes(s.buf[s.i]![0], best.buf[best.i]![0]);
        if (reverse ? c > 0 : c < 0) best = s;
      }
    }
    if (!best) {
      closed = true;
      return undefined;
    }
    const [k, v] = best.buf[best.i++]!;
    remaining--;
    return [k, mapValue(v)];
  };

  return {
    next,
    async close() {
      closed = true;
    },
    async *[Symbol.asyncIterator]() {
      try {
        for (let e = await next(); e !== undefined; e = await next()) yield e;
      } finally {
        closed = true;
      }
    },
  };
}

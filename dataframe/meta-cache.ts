// The client's cache of frames' metadata for DataFrame.sql, per store: a repeated query plans from the
// metadata it saw last instead of reading it first (and the right side of a broadcast join, a small
// frame, is kept decoded beside it). The cache is never trusted: the query confirms every cached
// version is still the published one with one read per frame, sent with the query's tasks rather
// than before them, and a query that used a replaced or deleted version is planned and run again from
// fresh metadata (sql/run.ts). As Cassandra's prepared statements carry the schema version they were
// prepared against, so that a stale one is re-prepared rather than run.
// docs/dataframe.md "Metadata caching".

import { compareBytes, copyBytes, type KvStore } from '../kv/index.js';
import type { Column } from './column.js';
import { checkName, metaKey } from './layout.js';
import { ensureLayout } from './layout-migration.js';
import { decodeMeta, type FrameMeta } from './meta.js';
import { requireMeta } from './storage.js';

/** Frames whose metadata one store's cache keeps (the least recently used go first). */
const MAX_FRAMES = 256;
/** Bytes of decoded right-side columns one store's cache keeps, over all its frames. */
const MAX_COLUMN_BYTES = 32 * 1024 * 1024;

interface Entry {
  meta: FrameMeta;
  /**
   * The frame's columns that broadcast joins read, each at its field's index (undefined: not read, or
   * over the budget); undefined when none is kept.
   */
  columns?: (Column | undefined)[];
  columnBytes: number;
}

class StoreCache {
  // A Map iterates in insertion order; re-inserting on use makes the first key the coldest.
  readonly entries = new Map<string, Entry>();
  columnBytes = 0;

  get(name: string): Entry | undefined {
    const e = this.entries.get(name);
    if (e) {
      this.entries.delete(name);
      this.entries.set(name, e);
    }
    return e;
  }

  set(name: string, meta: FrameMeta): void {
    this.drop(name);
    this.entries.set(name, { meta, columnBytes: 0 });
    cached.add(meta);
    for (const k of this.entries.keys()) {
      if (this.entries.size <= MAX_FRAMES) break;
      this.drop(k);
    }
  }

  drop(name: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    this.columnBytes -= e.columnBytes;
    this.entries.delete(name);
  }

  /**
   * Keeps the columns given (each at its field's index; undefined ones are not read) for the entry
   * of `meta`, if it is still the cached one, beside those it keeps, within the byte budget.
   */
  keepColumns(meta: FrameMeta, columns: readonly (Column | undefined)[]): void {
    const e = this.entries.get(meta.name);
    if (!e || e.meta !== meta) return;
    const kept = e.columns ?? new Array<Column | undefined>(meta.fields.length);
    let bytes = e.columnBytes;
    columns.forEach((c, i) => {
      if (c !== undefined && kept[i] === undefined) bytes += c.byteSize;
    });
    if (bytes > MAX_COLUMN_BYTES) return;
    columns.forEach((c, i) => {
      if (c !== undefined && kept[i] === undefined) kept[i] = c;
    });
    e.columns = kept;
    this.columnBytes += bytes - e.columnBytes;
    e.columnBytes = bytes;
    for (const [k, x] of this.entries) {
      if (this.columnBytes <= MAX_COLUMN_BYTES) break;
      if (x.columns && k !== meta.name) {
        this.columnBytes -= x.columnBytes;
        x.columns = undefined;
        x.columnBytes = 0;
      }
    }
  }
}

const stores = new WeakMap<KvStore, StoreCache>();
/** Every metadata object this module handed out: queries over them leave the version check to the caller. */
const cached = new WeakSet<FrameMeta>();

function cacheOf(store: KvStore): StoreCache {
  let c = stores.get(store);
  if (!c) stores.set(store, (c = new StoreCache()));
  return c;
}

/**
 * The metadata of frame `name` as this store's cache has it (hit), else read as requireMeta does
 * (and cached). NOT_FOUND if there is no such frame. On a hit, the caller must confirm the version
 * with `isPublished` before it trusts what it computed from it.
 */
export async function cachedMeta(store: KvStore, name: string): Promise<{ meta: FrameMeta; hit: boolean }> {
  const e = cacheOf(store).get(name);
  if (e) return { meta: e.meta, hit: true };
  const meta = await requireMeta(store, name);
  cacheOf(store).set(name, meta);
  return { meta, hit: false };
}

/**
 * The metadata of frame `name` if this store's cache has it, without reading anything (undefined
 * otherwise). The same object `cachedMeta` returned until the entry is forgotten or replaced, so a
 * plan made from it can be recognised as made from this version.
 */
export function peekMeta(store: KvStore, name: string): FrameMeta | undefined {
  return stores.get(store)?.get(name)?.meta;
}

/** Whether `meta` came from the cache (its queries are checked by whoever opened it). */
export function isCachedMeta(meta: FrameMeta): boolean {
  return cached.has(meta);
}

/** Forgets frame `name` in this store's cache (its version was replaced or it was deleted). */
export function forgetMeta(store: KvStore, name: string): void {
  stores.get(store)?.drop(name);
}

/** The columns kept for this version of a frame (at their fields' indexes), those broadcast joins read. */
export function cachedColumns(store: KvStore, meta: FrameMeta): readonly (Column | undefined)[] | undefined {
  const e = stores.get(store)?.entries.get(meta.name);
  return e && e.meta === meta ? e.columns : undefined;
}

export function keepColumns(store: KvStore, meta: FrameMeta, columns: readonly (Column | undefined)[]): void {
  stores.get(store)?.keepColumns(meta, columns);
}

/**
 * Whether `meta`'s version is the published one: one read of the metadata record, from its
 * partition's leader while it answers (leader-first, as opening a frame reads it).
 */
export async function isPublished(store: KvStore, meta: FrameMeta): Promise<boolean> {
  await ensureLayout(store);
  const v = await store.get(metaKey(checkName(meta.name)), { read: 'leader-first' });
  if (v === undefined) return false;
  // The record this version was last confirmed by, byte for byte, is confirmed without decoding it
  // again (decoding every chunk's zone maps was ~1 ms of a warm query's client CPU on 8 chunks).
  const seen = confirmed.get(meta);
  if (seen !== undefined && compareBytes(seen, v) === 0) return true;
  if (decodeMeta(v, meta.name).version !== meta.version) return false;
  confirmed.set(meta, copyBytes(v));
  return true;
}

/** The metadata record that last confirmed each version (isPublished). */
const confirmed = new WeakMap<FrameMeta, Uint8Array>();

// KvStore: the one interface between eau2's layers (DESIGN.md). The embedded Engine implements it
// on a local directory; the cluster's ClusterClient implements it over the network; the dataframe
// layer only ever sees this.

export type KeyLike = Uint8Array | string;
export type ValueLike = Uint8Array | string;

export interface WriteOptions {
  /** fdatasync the write-ahead log before resolving. */
  sync?: boolean;
  /** Cluster only: replicas that must hold the write before it resolves (number or 'all'). */
  w?: number | 'all';
}

export type BatchOp = { type: 'put'; key: KeyLike; value: ValueLike } | { type: 'del'; key: KeyLike };

export interface Range {
  gt?: KeyLike;
  gte?: KeyLike;
  lt?: KeyLike;
  lte?: KeyLike;
  /** Descending order. */
  reverse?: boolean;
  /** At most this many entries; -1 or undefined = unbounded. */
  limit?: number;
}

export interface ReadOptions {
  /**
   * Cluster only: leader (default) | follower | any | local | leader-first. leader-first reads from
   * the partition's leader while it answers, else from any replica that is up: for data that is
   * never rewritten under its key (dataframe chunks), so that reads go on while a node is down.
   */
  read?: 'leader' | 'follower' | 'any' | 'local' | 'leader-first';
  /**
   * Engine only (a hint other stores ignore): whether blocks read from disk go into the block cache
   * (default true). false is for bulk reads of data read once, such as a scan of a whole dataframe
   * (LevelDB's ReadOptions.fill_cache): they neither fill the cache nor evict what is in it, and a
   * value only lent (getWith) is read into memory the engine reuses. Cached blocks still serve.
   */
  fillCache?: boolean;
}

/** An async iterable of [key, value] that must be closed if not run to the end. */
export interface KvIterator extends AsyncIterable<[Uint8Array, Uint8Array]> {
  next(): Promise<[Uint8Array, Uint8Array] | undefined>;
  close(): Promise<void>;
}

/**
 * Buffers passed in: a store is done with the bytes of every key and value given to put/del/batch
 * once the returned promise settles (it has copied them, or sent them); it keeps no reference to
 * them afterwards, so the caller may then reuse the buffer (the dataframe writer does). Until the
 * promise settles the caller must not modify them (ClusterClient sends large values uncopied).
 * Values returned by get/scan belong to the caller; a value handed to getWith's `use` is only lent.
 */
export interface KvStore {
  /** The value, or undefined when the key is missing. */
  get(key: KeyLike, opts?: ReadOptions): Promise<Uint8Array | undefined>;
  /**
   * Optional (see {@link getWith}): reads `key` and calls `use` with its value, synchronously, as a
   * view the store lends for the duration of that call only (it may be a cache block or a reply
   * buffer the store reuses), and resolves with what `use` returns; resolves undefined without
   * calling `use` when the key is missing. `use` must copy or decode what it keeps, must not modify
   * the view, and must not call the store. If `use` throws, the promise rejects with that error.
   * For readers of large values that decode them at once: no buffer per value is allocated.
   */
  getWith?<T>(key: KeyLike, use: (value: Uint8Array) => T, opts?: ReadOptions): Promise<T | undefined>;
  put(key: KeyLike, value: ValueLike, opts?: WriteOptions): Promise<void>;
  del(key: KeyLike, opts?: WriteOptions): Promise<void>;
  /** Atomic (per partition in a cluster). */
  batch(ops: BatchOp[], opts?: WriteOptions): Promise<void>;
  /** Sorted, bounded by `range`, closable. */
  scan(range?: Range, opts?: ReadOptions): KvIterator;
}

/** `store.getWith` when the store has it, else `use` applied to `store.get`'s value (which it owns). */
export async function getWith<T>(
  store: KvStore,
  key: KeyLike,
  use: (value: Uint8Array) => T,
  opts?: ReadOptions,
): Promise<T | undefined> {
  if (store.getWith) return store.getWith(key, use, opts);
  const v = await store.get(key, opts);
  return v === undefined ? undefined : use(v);
}

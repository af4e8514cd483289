// The part of the engine's API a node uses, named here so the replication code states exactly what it
// relies on: atomic batches applied in the order they are called (a batch's LSN record and its data
// become visible together, and a snapshot always holds a prefix of the partition's log), point reads,
// bounded iterators over a snapshot, and stats for /metrics.

export type EngineOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

interface EngineSnapshot {
  release(): void;
}

/** An iterator over the node's engine (named apart from engine/'s own iterator type). */
interface NodeIterator extends AsyncIterable<[Uint8Array, Uint8Array]> {
  next(): Promise<[Uint8Array, Uint8Array] | undefined>;
  close(): Promise<void>;
}

interface NodeIteratorOptions {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse?: boolean;
  limit?: number;
  snapshot?: EngineSnapshot;
}

export interface EngineLike {
  get(key: Uint8Array, opts?: { snapshot?: EngineSnapshot }): Promise<Uint8Array | undefined>;
  /** `use` applied to the value lent for that call only (Engine.getWith); fillCache as ReadOptions'. */
  getWith?<T>(key: Uint8Array, use: (value: Uint8Array) => T, opts?: { fillCache?: boolean }): Promise<T | undefined>;
  batch(ops: EngineOp[], opts?: { sync?: boolean }): Promise<void>;
  /** The committed value of `key` and the sequence of the write that stored it (read-modify-write, rmw.ts). */
  getVersionSync?(key: Uint8Array): { value: Uint8Array; seq: number } | undefined;
  iterator(opts: NodeIteratorOptions): NodeIterator;
  snapshot(): EngineSnapshot;
  /** Numbers, possibly nested in objects and arrays (flattened for /metrics). */
  stats(): object;
  close(): Promise<void>;
  /** ok / degraded (a full disk, recovering by itself) / failed; engines without it count as ok. */
  health?(): { state: 'ok' | 'degraded' | 'failed'; reason?: string; cause?: string };
  /** Tables found damaged (scrub, verify, reads) that are still in the engine. */
  damagedTables?(): { file: number; smallest: Uint8Array; largest: Uint8Array; reason: string }[];
  /** Takes a damaged table out; its key range must then be rewritten from a replica. */
  dropTable?(file: number): Promise<{ smallest: Uint8Array; largest: Uint8Array } | undefined>;
}

/** Engine settings a node takes from the cluster config. */
interface NodeEngineOptions {
  memtableBytes?: number;
  /** Pace of the engine's background scrub (0: none). */
  scrubBytesPerSecond?: number;
  /** Pause between the scrub's passes. */
  scrubIntervalMs?: number;
  /** 'pointInTime': start on a WAL damaged in its middle, dropping what follows the damage. */
  walRecovery?: 'strict' | 'pointInTime';
}

export type EngineOpener = (dir: string, opts?: NodeEngineOptions) => Promise<EngineLike>;

/** Flattens nested stats into name -> number ("levels.0.files" becomes "levels_0_files"). */
export function flattenStats(o: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof o === 'number') {
    if (Number.isFinite(o) && prefix) out[prefix] = o;
  } else if (o !== null && typeof o === 'object') {
    for (const [k, v] of Object.entries(o)) flattenStats(v, prefix ? `${prefix}_${k}` : k, out);
  }
  return out;
}

// EngineLevel: eau2's engine as an abstract-level database, so it plugs into everything built on
// `level` (sublevels, encodings, hooks, events come from abstract-level). This is the private API
// abstract-level calls after it has validated arguments, encoded keys and values to one of the
// engine's native formats (buffer, view, utf8) and handled deferred open; each method maps onto
// one Engine call. Proven by abstract-level's own shared suite: test/level/abstract-suite.ts.

import { AbstractLevel, AbstractSnapshot } from 'abstract-level';
import type { AbstractDatabaseOptions } from 'abstract-level';
import { Engine, type Snapshot, type EngineRangeIterator } from '../engine.js';
import type { EngineOptions } from '../db/options.js';
import type { BatchOp } from '../../kv/index.js';
import {
  engineRange,
  fromBytes,
  LevelError,
  toLevelError,
  type Encoded,
  type PrivateRangeOptions,
} from './level-codec.js';
import { EngineLevelIterator, EngineLevelKeyIterator, EngineLevelValueIterator } from './level-iterators.js';

/** Constructor options: abstract-level's (encodings, createIfMissing, errorIfExists) plus the engine's. */
export type EngineLevelOptions<K, V> = AbstractDatabaseOptions<K, V> &
  Omit<EngineOptions, 'createIfMissing' | 'errorIfExists'>;

interface FormatOptions {
  keyEncoding: string;
  valueEncoding: string;
  snapshot?: unknown;
  sync?: boolean;
}

interface PrivateBatchOp {
  type: 'put' | 'del';
  key: Encoded;
  value?: Encoded;
}

/** Keys deleted per atomic engine batch by clear(). */
const CLEAR_BATCH = 1000;

// abstract-level's typings omit AbstractSnapshot's constructor, which takes { owner }.
const SnapshotBase = AbstractSnapshot as unknown as new (options: object) => AbstractSnapshot;

/** db.snapshot(): a token holding an engine snapshot until closed. */
export class EngineLevelSnapshot extends SnapshotBase {
  #released = false;

  /** @internal */
  constructor(
    options: object,
    /** @internal */ readonly engineSnapshot: Snapshot,
  ) {
    super(options);
  }

  /** @internal True once closed: the engine snapshot is gone. */
  get released(): boolean {
    return this.#released;
  }

  async _close(): Promise<void> {
    this.#released = true;
    this.engineSnapshot.release();
  }
}

export class EngineLevel<K = string, V = string> extends AbstractLevel<Encoded, K, V> {
  readonly #location: string;
  #engine: Engine | undefined;

  constructor(location: string, options?: EngineLevelOptions<K, V>) {
    if (typeof location !== 'string' || location === '') {
      throw new TypeError("The first argument 'location' must be a non-empty string");
    }
    const manifest = {
      encodings: { buffer: true, view: true, utf8: true },
      implicitSnapshots: true,
      explicitSnapshots: true,
      getSync: true,
      has: true,
      seek: true,
      permanence: true,
      createIfMissing: true,
      errorIfExists: true,
      signals: { iterators: true },
    };
    super(manifest, options);
    this.#location = location;
  }

  /** The database directory. */
  get location(): string {
    return this.#location;
  }

  /** The underlying engine while open, for what abstract-level has no words for (stats, compactRange). */
  get engine(): Engine {
    if (this.#engine === undefined) throw new LevelError('Database is not open', 'LEVEL_DATABASE_NOT_OPEN');
    return this.#engine;
  }

  async _open(options: { createIfMissing: boolean; errorIfExists: boolean } & EngineOptions): Promise<void> {
    try {
      this.#engine = await Engine.open(this.#location, options);
    } catch (err) {
      throw toLevelError(err);
    }
  }

  async _close(): Promise<void> {
    const engine = this.#engine;
    if (engine === undefined) return;
    try {
      await engine.close();
    } catch (err) {
      throw toLevelError(err);
    }
    this.#engine = undefined;
  }

  /** The engine snapshot behind an explicit snapshot option, if any. */
  #snapshotOf(options: { snapshot?: unknown }): Snapshot | undefined {
    const s = options.snapshot;
    if (s === undefined || s === null) return undefined;
    if (!(s instanceof EngineLevelSnapshot)) throw new TypeError('snapshot must come from this database');
    return s.engineSnapshot;
  }

  /** The engine's value of `key` as of the snapshot (explicit, or now), in the wanted format. */
  #read(key: Encoded, options: FormatOptions): Encoded | undefined {
    try {
      const v = this.engine.getSync(key, { snapshot: this.#snapshotOf(options) });
      return v === undefined ? undefined : fromBytes(v, options.valueEncoding);
    } catch (err) {
      throw toLevelError(err);
    }
  }

  async _get(key: Encoded, options: FormatOptions): Promise<Encoded | undefined> {
    return this.#read(key, options);
  }

  _getSync(key: Encoded, options: FormatOptions): Encoded | undefined {
    return this.#read(key, options);
  }

  /** All reads happen synchronously, so they come from one consistent state. */
  async _getMany(keys: Encoded[], options: FormatOptions): Promise<Array<Encoded | undefined>> {
    return keys.map((k) => this.#read(k, options));
  }

  #has(key: Encoded, options: { snapshot?: unknown }): boolean {
    try {
      return this.engine.getSync(key, { snapshot: this.#snapshotOf(options) }) !== undefined;
    } catch (err) {
      throw toLevelError(err);
    }
  }

  async _has(key: Encoded, options: { snapshot?: unknown }): Promise<boolean> {
    return this.#has(key, options);
  }

  async _hasMany(keys: Encoded[], options: { snapshot?: unknown }): Promise<boolean[]> {
    return keys.map((k) => this.#has(k, options));
  }

  async _put(key: Encoded, value: Encoded, options: FormatOptions): Promise<void> {
    try {
      await this.engine.put(key, value, { sync: options.sync === true });
    } catch (err) {
      throw toLevelError(err);
    }
  }

  async _del(key: Encoded, options: FormatOptions): Promise<void> {
    try {
      await this.engine.del(key, { sync: options.sync === true });
    } catch (err) {
      throw toLevelError(err);
    }
  }

  /** One engine batch: atomic, also across a crash. */
  async _batch(operations: PrivateBatchOp[], options: { sync?: boolean }): Promise<void> {
    const ops: BatchOp[] = operations.map((op) =>
      op.type === 'put' ? { type: 'put', key: op.key, value: op.value as Encoded } : { type: 'del', key: op.key },
    );
    try {
      await this.engine.batch(ops, { sync: options.sync === true });
    } catch (err) {
      throw toLevelError(err);
    }
  }

  /**
   * Deletes the keys of the range as read from one snapshot (the iterator's own, or the explicit
   * one), so keys created after clear() was called survive it; like classic-level, a key that was
   * there and is overwritten while clear() runs may still be deleted. Each batch is atomic, the
   * whole is not.
   */
  async _clear(options: PrivateRangeOptions): Promise<void> {
    let it: EngineRangeIterator;
    try {
      it = this.engine.iterator(engineRange(options, this.#snapshotOf(options)));
    } catch (err) {
      throw toLevelError(err);
    }
    try {
      for (;;) {
        const entries = await it.nextv(CLEAR_BATCH);
        if (entries.length === 0) break;
        await this.engine.batch(entries.map(([key]) => ({ type: 'del', key })));
      }
    } catch (err) {
      throw toLevelError(err);
    } finally {
      await it.close();
    }
  }

  /** null for an explicit snapshot closed already; see EngineCursor. */
  #engineIterator(options: PrivateRangeOptions): EngineRangeIterator | null {
    if (options.snapshot instanceof EngineLevelSnapshot && options.snapshot.released) return null;
    try {
      return this.engine.iterator(engineRange(options, this.#snapshotOf(options)));
    } catch (err) {
      throw toLevelError(err);
    }
  }

  _iterator(options: PrivateRangeOptions): EngineLevelIterator {
    return new EngineLevelIterator(this, options, this.#engineIterator(options));
  }

  _keys(options: PrivateRangeOptions): EngineLevelKeyIterator {
    return new EngineLevelKeyIterator(this, options, this.#engineIterator(options));
  }

  _values(options: PrivateRangeOptions): EngineLevelValueIterator {
    return new EngineLevelValueIterator(this, options, this.#engineIterator(options));
  }

  /** Taken synchronously: a write made right after db.snapshot() is not in it. */
  _snapshot(options: object): EngineLevelSnapshot {
    let s: Snapshot;
    try {
      s = this.engine.snapshot();
    } catch (err) {
      throw toLevelError(err);
    }
    return new EngineLevelSnapshot(options, s);
  }
}

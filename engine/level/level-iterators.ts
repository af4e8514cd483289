// abstract-level iterators (entries, keys, values) over one EngineRangeIterator each. The engine
// iterator reads the state as of its creation (or of an explicit snapshot), honours the range,
// direction and limit, and fetches in batches that yield to the event loop; this file only
// converts formats, maps errors and honours an AbortSignal between fetches.

import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from 'abstract-level';
import type { AbstractIteratorOptions, AbstractLevel } from 'abstract-level';
import type { EngineRangeIterator } from '../engine.js';
import {
  fromBytes,
  LevelAbortError,
  LevelError,
  toLevelError,
  type Encoded,
  type PrivateRangeOptions,
} from './level-codec.js';

type Entry = [Uint8Array, Uint8Array];
// The database type only (not EngineLevel): engine-level.ts imports this file.
// biome-ignore lint/suspicious/noExplicitAny: abstract-level types an iterator over any key and value encoding
type AnyLevel = AbstractLevel<any, any, any>;

/** Entries fetched per step of all(); the signal is checked between steps. */
const ALL_STEP = 1000;

/**
 * The engine iterator plus what every kind of abstract-level iterator needs around it. `it` is
 * null when the iterator was created on an explicit snapshot that was already closed:
 * abstract-level lets such an iterator be created and refuses its reads (LEVEL_SNAPSHOT_NOT_OPEN)
 * before they reach us; the cursor refuses them too, in case one does.
 */
class EngineCursor {
  constructor(
    private readonly iter: EngineRangeIterator | null,
    private readonly signal: AbortSignal | null,
  ) {}

  private get it(): EngineRangeIterator {
    if (this.iter === null) throw new LevelError('Snapshot is not open', 'LEVEL_SNAPSHOT_NOT_OPEN');
    return this.iter;
  }

  /** Rejects an in-progress call whose signal fired while it waited for the engine. */
  private checkAborted(): void {
    if (this.signal?.aborted) throw new LevelAbortError(this.signal.reason);
  }

  async next(): Promise<Entry | undefined> {
    let e: Entry | undefined;
    try {
      e = await this.it.next();
    } catch (err) {
      throw toLevelError(err);
    }
    this.checkAborted();
    return e;
  }

  async nextv(size: number): Promise<Entry[]> {
    let out: Entry[];
    try {
      out = await this.it.nextv(size);
    } catch (err) {
      throw toLevelError(err);
    }
    this.checkAborted();
    return out;
  }

  async all(): Promise<Entry[]> {
    const out: Entry[] = [];
    for (;;) {
      const step = await this.nextv(ALL_STEP);
      for (const e of step) out.push(e);
      if (step.length < ALL_STEP) return out;
    }
  }

  seek(target: Encoded): void {
    try {
      this.it.seek(target);
    } catch (err) {
      throw toLevelError(err);
    }
  }

  async close(): Promise<void> {
    await this.iter?.close();
  }
}

function cursorOf(it: EngineRangeIterator | null, options: PrivateRangeOptions): EngineCursor {
  return new EngineCursor(it, options.signal ?? null);
}

/** db.iterator(): [key, value] entries; a key or value is undefined when keys/values is false. */
export class EngineLevelIterator extends AbstractIterator<AnyLevel, Encoded, Encoded> {
  private readonly cursor: EngineCursor;
  private readonly keyFormat: string;
  private readonly valueFormat: string;
  private readonly keys: boolean;
  private readonly values: boolean;

  constructor(db: AnyLevel, options: PrivateRangeOptions, it: EngineRangeIterator | null) {
    super(db, options as AbstractIteratorOptions<Encoded, Encoded>);
    this.cursor = cursorOf(it, options);
    this.keyFormat = options.keyEncoding;
    this.valueFormat = options.valueEncoding ?? 'utf8';
    this.keys = options.keys !== false;
    this.values = options.values !== false;
  }

  private convert(e: Entry): [Encoded | undefined, Encoded | undefined] {
    return [
      this.keys ? fromBytes(e[0], this.keyFormat) : undefined,
      this.values ? fromBytes(e[1], this.valueFormat) : undefined,
    ];
  }

  async _next(): Promise<[Encoded | undefined, Encoded | undefined] | undefined> {
    const e = await this.cursor.next();
    return e === undefined ? undefined : this.convert(e);
  }

  async _nextv(size: number): Promise<Array<[Encoded | undefined, Encoded | undefined]>> {
    return (await this.cursor.nextv(size)).map((e) => this.convert(e));
  }

  async _all(): Promise<Array<[Encoded | undefined, Encoded | undefined]>> {
    return (await this.cursor.all()).map((e) => this.convert(e));
  }

  _seek(target: Encoded): void {
    this.cursor.seek(target);
  }

  async _close(): Promise<void> {
    await this.cursor.close();
  }
}

/** db.keys(): keys only. */
export class EngineLevelKeyIterator extends AbstractKeyIterator<AnyLevel, Encoded> {
  private readonly cursor: EngineCursor;
  private readonly keyFormat: string;

  constructor(db: AnyLevel, options: PrivateRangeOptions, it: EngineRangeIterator | null) {
    super(db, options as AbstractIteratorOptions<Encoded, Encoded>);
    this.cursor = cursorOf(it, options);
    this.keyFormat = options.keyEncoding;
  }

  async _next(): Promise<Encoded | undefined> {
    const e = await this.cursor.next();
    return e === undefined ? undefined : fromBytes(e[0], this.keyFormat);
  }

  async _nextv(size: number): Promise<Encoded[]> {
    return (await this.cursor.nextv(size)).map((e) => fromBytes(e[0], this.keyFormat));
  }

  async _all(): Promise<Encoded[]> {
    return (await this.cursor.all()).map((e) => fromBytes(e[0], this.keyFormat));
  }

  _seek(target: Encoded): void {
    this.cursor.seek(target);
  }

  async _close(): Promise<void> {
    await this.cursor.close();
  }
}

/** db.values(): values only. */
export class EngineLevelValueIterator extends AbstractValueIterator<AnyLevel, Encoded, Encoded> {
  private readonly cursor: EngineCursor;
  private readonly valueFormat: string;

  constructor(db: AnyLevel, options: PrivateRangeOptions, it: EngineRangeIterator | null) {
    super(db, options as AbstractIteratorOptions<Encoded, Encoded>);
    this.cursor = cursorOf(it, options);
    this.valueFormat = options.valueEncoding ?? 'utf8';
  }

  async _next(): Promise<Encoded | undefined> {
    const e = await this.cursor.next();
    return e === undefined ? undefined : fromBytes(e[1], this.valueFormat);
  }

  async _nextv(size: number): Promise<Encoded[]> {
    return (await this.cursor.nextv(size)).map((e) => fromBytes(e[1], this.valueFormat));
  }

  async _all(): Promise<Encoded[]> {
    return (await this.cursor.all()).map((e) => fromBytes(e[1], this.valueFormat));
  }

  _seek(target: Encoded): void {
    this.cursor.seek(target);
  }

  async _close(): Promise<void> {
    await this.cursor.close();
  }
}

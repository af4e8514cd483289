// eau2/engine: the embedded LSM key/value engine.

export { Engine, EngineRangeIterator, Snapshot } from './engine.js';
/** The name EngineRangeIterator was first published under; kept so existing imports work. */
export { EngineRangeIterator as EngineIterator } from './engine.js';
export type { IteratorOptions, GetOptions } from './engine.js';
export type { EngineOptions } from './db/options.js';
export { MAX_KEY_BYTES } from './db/options.js';
export { EXPIRY_BYTES, EXPIRY_FLAG, expiryOf, putExpiry } from './format/value-expiry.js';
export type { ValueExpiry } from './format/value-expiry.js';
export type { EngineStats, LevelStats } from './stats.js';
export type { EngineHealth, HealthState } from './db/error-handler.js';
export type { DamagedTable } from './db/scrub.js';
export type {
  KvStore,
  KvIterator,
  KeyLike,
  ValueLike,
  BatchOp,
  Range,
  WriteOptions,
  ReadOptions,
} from '../kv/index.js';
export { Eau2Error, ErrorCode, isEau2Error } from '../kv/index.js';
export type { Vfs, RandomAccessFile, WritableFile } from './vfs/vfs.js';

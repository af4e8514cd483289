// The contract every layer shares: the KvStore interface, the one error class with its codes, the
// byte helpers, and the key-to-partition function. engine/, cluster/ and dataframe/ import this
// index; it imports nothing from them.

export type { BatchOp, KeyLike, KvIterator, KvStore, Range, ReadOptions, ValueLike, WriteOptions } from './kv-store.js';
export { getWith } from './kv-store.js';
export { corruption, Eau2Error, ErrorCode, ioError, isEau2Error } from './errors.js';
export { compareBytes, concatBytes, copyBytes, fromUtf8, utf8 } from './bytes.js';
export { hashKey, keyBytes, murmur3, partitionOf } from './partition.js';
export type { PartitionLeaders, Partitioned, TaskContext, TaskRunner } from './capabilities.js';
export { isTaskRunner, partitionLeadersOf } from './capabilities.js';
export { isReservedKey, RESERVED_KEY_BYTE } from './reserved.js';
export { startModuleWorker } from './worker-thread.js';
export { deepFreeze } from './freeze.js';

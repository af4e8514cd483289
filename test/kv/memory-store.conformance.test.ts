// The test double MemoryStore (test/support/memory-store.ts) keeps the KvStore contract.
import { kvStoreConformance } from './conformance.js';
import { MemoryStore } from '../support/memory-store.js';

kvStoreConformance('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, close: () => store.close() };
});

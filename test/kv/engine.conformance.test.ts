// The embedded Engine keeps the KvStore contract, on a real directory with its compaction worker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../engine/index.js';
import { kvStoreConformance } from './conformance.js';

kvStoreConformance('Engine', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eau2-conf-engine-'));
  const store = await Engine.open(dir, { memtableBytes: 64 * 1024 });
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

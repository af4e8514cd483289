// Node's filesystem with one fault a test can switch on from any thread: while the file `marker`
// exists, every append to a table file (.sst) fails with an IO error. It carries a WorkerVfsSpec
// naming this module, so the engine's compaction worker builds the same Vfs and the fault reaches
// the I/O it does there (engine/compaction/table-files.ts).

import { existsSync } from 'node:fs';
import { ErrorVfs } from '../../engine/vfs/error-vfs.js';
import { nodeVfs } from '../../engine/vfs/node-vfs.js';
import type { Vfs, WorkerVfsSpec } from '../../engine/vfs/vfs.js';

export interface FaultyNodeVfsArg {
  /** Table appends fail while this file exists. */
  marker: string;
}

export function createFaultyNodeVfs(arg: FaultyNodeVfsArg): ErrorVfs & { workerSpec: WorkerVfsSpec } {
  const vfs = new ErrorVfs(nodeVfs, (op, path) =>
    op === 'append' && path.endsWith('.sst') && existsSync(arg.marker)
      ? new Error(`injected write error on ${path}`)
      : undefined,
  );
  const workerSpec: WorkerVfsSpec = { module: import.meta.url, name: 'createFaultyNodeVfs', arg };
  return Object.assign(vfs, { workerSpec }) satisfies Vfs;
}

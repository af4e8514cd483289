// Registers tsx's loader in the thread that imports it. Node 20 gives a worker thread neither the
// loader hooks of its parent nor (tsx skips it there) those of `--import tsx`, so a process running
// the TypeScript sources names this file in EAU2_WORKER_LOADER and the engine's compaction worker
// imports it before its entry point (engine/compaction/compaction-runner.ts).
import { register } from 'tsx/esm/api';

register();

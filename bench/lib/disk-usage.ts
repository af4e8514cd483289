// Space a database takes on disk, for "space after the run" figures. We report allocated bytes
// (st_blocks * 512), not file lengths: lmdb grows its data file sparsely and LevelDB preallocates
// nothing, so only allocated bytes compare engines fairly; apparent size is kept alongside.

import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export interface DiskUsage {
  /** Bytes the filesystem has allocated for the files (what `du` reports). */
  allocatedBytes: number;
  /** Sum of file lengths (what `ls -l` reports). */
  apparentBytes: number;
  files: number;
}

/** Walks `dir` recursively; symlinks are counted as themselves, not followed. Missing dir = zeros. */
export function diskUsage(dir: string): DiskUsage {
  const total: DiskUsage = { allocatedBytes: 0, apparentBytes: 0, files: 0 };
  const walk = (path: string): void => {
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      return; // vanished while we walked (a compaction deleting its inputs): not ours to count
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) walk(join(path, name));
      return;
    }
    total.files++;
    total.apparentBytes += st.size;
    // st.blocks is in 512-byte units on Linux and macOS regardless of the filesystem block size.
    total.allocatedBytes += st.blocks * 512;
  };
  walk(dir);
  return total;
}

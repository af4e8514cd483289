// Disk faults for tests and the chaos harness: a node's data on a small filesystem that can be filled
// up and freed again (a real ENOSPC, not an injected one), and damage to its files on disk (a flipped
// bit in a table's data blocks; a WAL damaged in its middle). They take paths, not a cluster, so any
// harness can call them; they change nothing but the paths given.
//
// A small filesystem is a tmpfs mounted by the caller's process: that needs root (CAP_SYS_ADMIN), as
// the CI container has. The mount is left with unmount() (lazily: a node still holding files there
// keeps working on them until it exits).

import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export interface SmallDisk {
  /** Where it is mounted; give a node a data directory under it (e.g. join(mount, 'n1')). */
  readonly mount: string;
  /** Fills it (one filler file) until at most `leaveBytes` are free: the next writes meet ENOSPC. */
  fill(leaveBytes?: number): void;
  /** Frees what fill() took: space returns. */
  free(): void;
  /** Bytes free now (statfs). */
  freeBytes(): number;
  unmount(): void;
}

const FILLER = '.eau2-nemesis-filler';

/** Mounts a tmpfs of `sizeBytes` at `mount` (created if missing; must be empty). Throws without root. */
export function mountSmallDisk(mount: string, sizeBytes: number): SmallDisk {
  mkdirSync(mount, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil(sizeBytes / 4096) * 4096}`, 'tmpfs', mount]);
  const filler = join(mount, FILLER);
  const freeBytes = (): number => {
    const s = statfsSync(mount);
    return s.bavail * s.bsize;
  };
  let mounted = true;
  return {
    mount,
    fill(leaveBytes = 64 * 1024) {
      // Grown in steps, as the space the node writes meanwhile counts too; stops at ENOSPC.
      const chunk = Buffer.alloc(1024 * 1024, 0xee);
      while (freeBytes() > leaveBytes) {
        const n = Math.min(chunk.length, freeBytes() - leaveBytes);
        try {
          writeFileSync(filler, chunk.subarray(0, n), { flag: 'a' });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    freeBytes,
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', mount]);
    },
  };
}

export interface Damage {
  file: string;
  offset: number;
  bit: number;
}

/** A seeded source of randomness: next() in [0, 1). */
export interface DamageRng {
  next(): number;
}

function pickInt(rng: DamageRng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

/** Flips bit `bit` of the byte at `offset` of `file` in place, as a bad sector or cell would. */
function flipBit(file: string, offset: number, bit: number): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    b[0]! ^= 1 << bit;
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * Flips one bit in the data blocks of one table of the engine directory `dir` (chosen by `rng`):
 * the first half of a table is data (the index, filter and footer follow it). Only tables last
 * written at least `minAgeMs` ago are chosen (default 0: any): a running node may be writing the
 * newest one, and damage at rest is the fault modelled. A running node keeps serving from its block
 * cache what it already read; the scrub, a compaction or an uncached read finds the damage. Returns
 * where, or undefined if `dir` holds no such table.
 */
export function flipTableBit(dir: string, rng: DamageRng, minAgeMs = 0): Damage | undefined {
  const now = Date.now();
  const tables = readdirSync(dir)
    .filter((n) => n.endsWith('.sst'))
    .filter((n) => {
      if (minAgeMs === 0) return true;
      try {
        return now - statSync(join(dir, n)).mtimeMs >= minAgeMs;
      } catch {
        return false; // deleted meanwhile (compacted away)
      }
    })
    .sort();
  if (tables.length === 0) return undefined;
  const file = join(dir, tables[pickInt(rng, 0, tables.length - 1)]!);
  const size = statSync(file).size;
  const offset = pickInt(rng, 0, Math.max(0, Math.floor(size / 2) - 1));
  const bit = pickInt(rng, 0, 7);
  flipBit(file, offset, bit);
  return { file, offset, bit };
}

/**
 * Flips one bit a third of the way into the largest WAL of `dir` (the node must be stopped): damage
 * in the middle of a log, which stops the next start unless the node is started with
 * --drop-damaged-wal-tail. Returns where, or undefined if `dir` holds no non-empty log.
 */
export function damageWalMiddle(dir: string, rng: DamageRng): Damage | undefined {
  const logs = readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .map((n) => [n, statSync(join(dir, n)).size] as const)
    .filter(([, size]) => size > 0)
    .sort((a, b) => b[1] - a[1]);
  if (logs.length === 0) return undefined;
  const file = join(dir, logs[0]![0]);
  const offset = Math.floor(logs[0]![1] / 3);
  const bit = pickInt(rng, 0, 7);
  flipBit(file, offset, bit);
  return { file, offset, bit };
}

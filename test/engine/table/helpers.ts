// Test helpers for the table suites: a RandomAccessFile over a Uint8Array (independent of the
// engine's mem-vfs), a seeded PRNG, random table contents, and a sorted in-memory model that answers
// get / seek / seekForPrev the way a table must.

import type { RandomAccessFile } from '../../../engine/vfs/vfs.js';
import { compareBytes } from '../../../kv/index.js';
import { Kind } from '../../../engine/format/internal-key.js';
import { TableBuilder } from '../../../engine/table/table-builder.js';
import type { TableBuilderOptions } from '../../../engine/table/table-builder.js';
import { mulberry32 } from '../../../engine/util/random.js';

/**
 * A read-only file over bytes. readSync returns a copy, as pread would; readInto copies into the
 * caller's memory (the block cache's recycled slots). `withoutReadInto()` is the same file without
 * readInto, as a Vfs that does not offer it.
 */
export class BytesFile implements RandomAccessFile {
  readonly path: string;
  bytes: Uint8Array;
  reads = 0;
  closed = false;

  constructor(path: string, bytes: Uint8Array) {
    this.path = path;
    this.bytes = bytes;
  }

  size(): number {
    return this.bytes.length;
  }

  readSync(position: number, length: number): Uint8Array {
    this.reads++;
    const start = Math.max(0, Math.min(position, this.bytes.length));
    const end = Math.max(start, Math.min(position + length, this.bytes.length));
    return this.bytes.slice(start, end);
  }

  readInto(position: number, dest: Uint8Array): number {
    const got = this.readSync(position, dest.length);
    dest.set(got);
    return got.length;
  }

  read(position: number, length: number): Promise<Uint8Array> {
    return Promise.resolve(this.readSync(position, length));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  withoutReadInto(): RandomAccessFile {
    return {
      path: this.path,
      size: () => this.size(),
      readSync: (p, n) => this.readSync(p, n),
      read: (p, n) => this.read(p, n),
      close: () => this.close(),
    };
  }
}

/** Seeded generator (mulberry32). Returns floats in [0, 1). */
export const rng = mulberry32;

/** Seeds for randomized tests: EAU2_SEED=n reruns one failing seed; the seed is in every test name. */
export function seeds(defaults: number[]): number[] {
  const env = process.env.EAU2_SEED;
  return env ? [Number(env)] : defaults;
}

export interface Entry {
  key: Uint8Array;
  seq: number;
  kind: number;
  value: Uint8Array;
}

export function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/**
 * Random sorted entries: keys over a small alphabet so that prefixes are shared, some empty or long,
 * some with bytes 0x00 / 0xff; 1-4 versions each with distinct sequences; ~20 % tombstones; values of
 * 0-120 bytes, a few larger than a block.
 */
export function randomEntries(rand: () => number, distinctKeys: number): Entry[] {
  const alphabet = [0x00, 0x41, 0x42, 0x61, 0x62, 0x7a, 0xfe, 0xff];
  const keys = new Map<string, Uint8Array>();
  while (keys.size < distinctKeys) {
    const r = rand();
    const len = r < 0.02 ? 0 : r < 0.05 ? 40 + Math.floor(rand() * 60) : 1 + Math.floor(rand() * 12);
    const k = new Uint8Array(len);
    for (let i = 0; i < len; i++) k[i] = alphabet[Math.floor(rand() * alphabet.length)]!;
    keys.set(Buffer.from(k).toString('hex'), k);
  }
  const entries: Entry[] = [];
  let seq = 1 + Math.floor(rand() * 1000);
  for (const k of keys.values()) {
    const versions = 1 + Math.floor(rand() * rand() * 4);
    for (let v = 0; v < versions; v++) {
      seq += 1 + Math.floor(rand() * 5);
      const kind = rand() < 0.2 ? Kind.DELETE : Kind.VALUE;
      const r = rand();
      const vlen = kind === Kind.DELETE ? 0 : r < 0.03 ? 5000 + Math.floor(rand() * 3000) : Math.floor(rand() * 120);
      entries.push({ key: k, seq, kind, value: randomBytes(rand, vlen) });
    }
  }
  entries.sort(compareEntries);
  return entries;
}

function compareEntries(a: Entry, b: Entry): number {
  const c = compareBytes(a.key, b.key);
  if (c !== 0) return c;
  return b.seq - a.seq;
}

/** Compares (key, seq) of an entry with a target, in internal order. */
function compareTarget(e: Entry, key: Uint8Array, seq: number): number {
  const c = compareBytes(e.key, key);
  if (c !== 0) return c;
  return seq - e.seq;
}

export function buildTable(
  entries: Entry[],
  opts: TableBuilderOptions = {},
): { bytes: Uint8Array; builder: TableBuilder } {
  const b = new TableBuilder(opts);
  for (const e of entries) b.add(e.key, e.seq, e.kind, e.value);
  return { bytes: b.finish(), builder: b };
}

/** The newest entry for key with seq <= seq. */
export function modelGet(entries: Entry[], key: Uint8Array, seq: number): Entry | undefined {
  const i = modelSeek(entries, key, seq);
  const e = entries[i];
  return e !== undefined && compareBytes(e.key, key) === 0 ? e : undefined;
}

/** Index of the first entry >= (key, seq); entries.length if none. */
export function modelSeek(entries: Entry[], key: Uint8Array, seq: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareTarget(entries[mid]!, key, seq) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the last entry <= (key, seq); -1 if none. */
export function modelSeekForPrev(entries: Entry[], key: Uint8Array, seq: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareTarget(entries[mid]!, key, seq) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

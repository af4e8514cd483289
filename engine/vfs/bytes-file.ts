// A read-only RandomAccessFile over bytes already in memory: compaction workers read their input
// tables this way (the main thread hands them the files' contents, so workers need no Vfs).

import type { RandomAccessFile } from './vfs.js';

export class BytesFile implements RandomAccessFile {
  constructor(
    readonly path: string,
    private readonly bytes: Uint8Array,
  ) {}
  size(): number {
    return this.bytes.length;
  }
  readSync(position: number, length: number): Uint8Array {
    const start = Math.min(Math.max(0, position), this.bytes.length);
    return this.bytes.subarray(start, Math.min(this.bytes.length, start + Math.max(0, length)));
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
    return Promise.resolve();
  }
}

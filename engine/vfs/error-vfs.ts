// A Vfs wrapper that injects I/O errors by operation and path, and counts operations by kind
// (pebble's vfs/errorfs is the model). Tests use it to prove that every failing write path ends in
// an error rather than silent loss, and to assert I/O budgets ("a sync:true put did one fdatasync").
//
// Every call first counts its operation, then asks the current rule; if the rule returns an error
// the call throws it without touching the wrapped Vfs (except an append error carrying `written`: a
// partial write, see writtenBefore). An Eau2Error is thrown as is (so a test can
// inject e.g. LOCKED); any other Error is wrapped as Eau2Error code IO with the original as cause.

import { Eau2Error, ioError } from '../../kv/index.js';
import type { FileLock, RandomAccessFile, Vfs, WritableFile } from './vfs.js';

/**
 * The operations a rule sees. `open` is openRandom and openWritable (see `mode`); `read` is a
 * RandomAccessFile read or readSync, and readFile; `append` is append or appendSync; `truncate` is truncateSync; `close` is a file handle's close; `release` is
 * a lock's release.
 */
const VFS_OPS = [
  'mkdirp',
  'readdir',
  'exists',
  'fileSize',
  'open',
  'read',
  'append',
  'sync',
  'truncate',
  'close',
  'rename',
  'unlink',
  'syncDir',
  'lock',
  'release',
] as const;
export type VfsOp = (typeof VFS_OPS)[number];

export interface VfsOpInfo {
  /** rename: the destination. */
  to?: string;
  /** open: how the file is opened. */
  mode?: 'random' | 'write' | 'append';
  /** read, append: the byte count asked for / written. */
  length?: number;
}

/** Returns the error to inject for this call, or undefined to let it through. */
export type FaultRule = (op: VfsOp, path: string, info: VfsOpInfo) => Error | undefined;

export type OpCounts = Record<VfsOp, number>;

function zeroCounts(): OpCounts {
  return Object.fromEntries(VFS_OPS.map((op) => [op, 0])) as OpCounts;
}

export class ErrorVfs implements Vfs {
  /** The current rule; replace it at any time (undefined injects nothing). */
  rule: FaultRule | undefined;
  private counters = zeroCounts();
  /** Errors injected so far. */
  injected = 0;
  /** When set, every operation is appended here in call order (for asserting sequences). */
  trace: Array<{ op: VfsOp; path: string }> | undefined;

  constructor(
    readonly inner: Vfs,
    rule?: FaultRule,
  ) {
    this.rule = rule;
  }

  /** Sets the rule (undefined clears it). */
  setRule(rule: FaultRule | undefined): void {
    this.rule = rule;
  }

  /** Operations of `op` so far, including the ones that failed. */
  count(op: VfsOp): number {
    return this.counters[op];
  }

  /** A copy of all counters. */
  counts(): OpCounts {
    return { ...this.counters };
  }

  resetCounts(): void {
    this.counters = zeroCounts();
    this.injected = 0;
    if (this.trace) this.trace.length = 0;
  }

  /** Counts the operation and throws the injected error, if any. Used by the handle wrappers too. */
  check(op: VfsOp, path: string, info: VfsOpInfo = {}): void {
    this.counters[op]++;
    this.trace?.push({ op, path });
    const err = this.rule?.(op, path, info);
    if (err === undefined) return;
    this.injected++;
    throw err instanceof Eau2Error ? err : ioError(op, path, err);
  }

  /** Free space reported by freeBytes(); undefined asks the wrapped Vfs. Tests set it to act out a full disk. */
  freeSpace: number | undefined;

  async freeBytes(dir: string): Promise<number> {
    if (this.freeSpace !== undefined) return this.freeSpace;
    if (!this.inner.freeBytes) throw ioError('statfs', dir, new Error('not supported'));
    return this.inner.freeBytes(dir);
  }

  async mkdirp(dir: string): Promise<void> {
    this.check('mkdirp', dir);
    return this.inner.mkdirp(dir);
  }
  async readdir(dir: string): Promise<string[]> {
    this.check('readdir', dir);
    return this.inner.readdir(dir);
  }
  async exists(path: string): Promise<boolean> {
    this.check('exists', path);
    return this.inner.exists(path);
  }
  async fileSize(path: string): Promise<number> {
    this.check('fileSize', path);
    return this.inner.fileSize(path);
  }
  async openRandom(path: string): Promise<RandomAccessFile> {
    this.check('open', path, { mode: 'random' });
    return new ErrorRandomFile(this, await this.inner.openRandom(path));
  }
  async openWritable(path: string, opts: { append?: boolean } = {}): Promise<WritableFile> {
    this.check('open', path, { mode: opts.append ? 'append' : 'write' });
    return new ErrorWritableFile(this, await this.inner.openWritable(path, opts));
  }
  async readFile(path: string): Promise<Uint8Array> {
    this.check('read', path);
    return this.inner.readFile(path);
  }
  async rename(from: string, to: string): Promise<void> {
    this.check('rename', from, { to });
    return this.inner.rename(from, to);
  }
  async unlink(path: string): Promise<void> {
    this.check('unlink', path);
    return this.inner.unlink(path);
  }
  async syncDir(dir: string): Promise<void> {
    this.check('syncDir', dir);
    return this.inner.syncDir(dir);
  }
  async lock(path: string): Promise<FileLock> {
    this.check('lock', path);
    const held = await this.inner.lock(path);
    return {
      release: async () => {
        this.check('release', path);
        return held.release();
      },
    };
  }
}

class ErrorRandomFile implements RandomAccessFile {
  constructor(
    private readonly fs: ErrorVfs,
    private readonly file: RandomAccessFile,
  ) {}
  get path(): string {
    return this.file.path;
  }
  size(): number {
    return this.file.size();
  }
  async read(position: number, length: number): Promise<Uint8Array> {
    this.fs.check('read', this.file.path, { length });
    return this.file.read(position, length);
  }
  readSync(position: number, length: number): Uint8Array {
    this.fs.check('read', this.file.path, { length });
    return this.file.readSync(position, length);
  }
  readInto(position: number, dest: Uint8Array): number {
    this.fs.check('read', this.file.path, { length: dest.length });
    if (this.file.readInto) return this.file.readInto(position, dest);
    const got = this.file.readSync(position, dest.length);
    dest.set(got);
    return got.length;
  }
  async close(): Promise<void> {
    this.fs.check('close', this.file.path);
    return this.file.close();
  }
}

/**
 * A full disk fails a write part way: an injected append error with a `written` count (on the Error
 * the rule returned) lets that many bytes reach the file before it is thrown.
 */
function writtenBefore(e: unknown): number {
  const w = (e as { cause?: { written?: unknown } }).cause?.written ?? (e as { written?: unknown }).written;
  return typeof w === 'number' ? w : 0;
}

class ErrorWritableFile implements WritableFile {
  constructor(
    private readonly fs: ErrorVfs,
    private readonly file: WritableFile,
  ) {}
  get path(): string {
    return this.file.path;
  }
  size(): number {
    return this.file.size();
  }
  async append(data: Uint8Array): Promise<void> {
    try {
      this.fs.check('append', this.file.path, { length: data.length });
    } catch (e) {
      const n = writtenBefore(e);
      if (n) await this.file.append(data.subarray(0, Math.min(n, data.length)));
      throw e;
    }
    return this.file.append(data);
  }
  appendSync(data: Uint8Array): void {
    try {
      this.fs.check('append', this.file.path, { length: data.length });
    } catch (e) {
      const n = writtenBefore(e);
      if (n) this.file.appendSync(data.subarray(0, Math.min(n, data.length)));
      throw e;
    }
    this.file.appendSync(data);
  }
  truncateSync(size: number): void {
    this.fs.check('truncate', this.file.path, { length: size });
    if (!this.file.truncateSync) throw ioError('truncate', this.file.path, new Error('not supported'));
    this.file.truncateSync(size);
  }
  async sync(): Promise<void> {
    this.fs.check('sync', this.file.path);
    return this.file.sync();
  }
  async close(): Promise<void> {
    this.fs.check('close', this.file.path);
    return this.file.close();
  }
}

/**
 * A rule that fails calls of `op` whose path matches `match` (all paths if omitted): it lets the
 * first `after` matching calls through, then fails the next `times` of them (default: all).
 */
export function failOn(
  op: VfsOp | readonly VfsOp[],
  match?: string | RegExp | ((path: string) => boolean),
  opts: { after?: number; times?: number; error?: () => Error } = {},
): FaultRule {
  const ops = typeof op === 'string' ? [op] : op;
  const test =
    match === undefined
      ? () => true
      : typeof match === 'string'
        ? (p: string) => p === match || p.endsWith(`/${match}`)
        : match instanceof RegExp
          ? (p: string) => match.test(p)
          : match;
  const after = opts.after ?? 0;
  const times = opts.times ?? Infinity;
  let seen = 0;
  return (o, path) => {
    if (!ops.includes(o) || !test(path)) return undefined;
    seen++;
    if (seen <= after || seen > after + times) return undefined;
    return opts.error?.() ?? new Error(`injected ${o} failure`);
  };
}

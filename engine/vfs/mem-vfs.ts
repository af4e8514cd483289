// An in-memory Vfs that models what a real disk keeps after a power cut, so crash safety can be
// tested rather than hoped for (pebble's crashable MemFS is the model).
//
// Durability model:
// - A file (inode) has its current bytes and its durable bytes. `WritableFile.sync()` makes the
//   current bytes durable. Truncation by re-opening without `append` is undone by a crash unless
//   the file is synced afterwards.
// - A directory has its current entries and its durable entries; `syncDir(dir)` makes the current
//   entries durable. A create, rename or unlink is undone by a crash unless the directory holding
//   the entry was synced afterwards (a rename across directories needs both synced).
// - Directories themselves (mkdirp) are durable at once: the engine never depends on creating one.
// - `crash()` keeps only durable state: the durable entries, each with its inode's durable bytes.
//   In torn-write mode a crash also keeps a random (seeded) prefix of each file's unsynced appended
//   tail, as a real disk may persist part of an unsynced append.
// - A crash releases every lock, and every handle opened before it fails with an IO error from then
//   on, so a stale writer cannot write into the recovered state.
//
// Paths are normalized POSIX paths; '.' and '/' always exist.

import * as posix from 'node:path/posix';
import { Eau2Error, ErrorCode, ioError } from '../../kv/index.js';
import type { FileLock, RandomAccessFile, Vfs, WritableFile } from './vfs.js';
import { mulberry32 } from '../util/random.js';

export interface MemVfsOptions {
  /** Default for crash(): keep a random prefix of each file's unsynced tail. */
  tornWrites?: boolean;
  /** Seed of the generator that chooses torn prefixes (default 1). */
  seed?: number;
}

interface Inode {
  buf: Uint8Array;
  len: number;
  /** Durable bytes are buf[0, durLen) unless durData is set (after an unsynced truncation). */
  durLen: number;
  durData: Uint8Array | null;
}

interface Life {
  generation: number;
}

/** Throws unless a handle opened in generation `gen` is still live. */
function checkLive(life: Life, gen: number, op: string, path: string): void {
  if (gen !== life.generation) throw ioError(op, path, errno('ESTALE', 'file handle opened before a crash'));
}

interface Dir {
  cur: Map<string, Inode>;
  dur: Map<string, Inode>;
}

function newInode(data: Uint8Array = new Uint8Array(0)): Inode {
  return { buf: data, len: data.length, durLen: data.length, durData: null };
}

function durableBytes(ino: Inode): Uint8Array {
  return ino.durData ?? ino.buf.subarray(0, ino.durLen);
}

function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

function norm(p: string): string {
  if (p === '') return '.';
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

export class MemVfs implements Vfs {
  private dirs = new Map<string, Dir>();
  private locks = new Map<string, object>();
  /** Bumped by every crash; handles from an older generation are dead. Shared with the handles. */
  private readonly life: Life = { generation: 0 };
  private tornWrites: boolean;
  private readonly rng: () => number;
  readonly seed: number;

  constructor(opts: MemVfsOptions = {}) {
    this.tornWrites = opts.tornWrites ?? false;
    this.seed = opts.seed ?? 1;
    this.rng = mulberry32(this.seed);
    this.dirs.set('.', { cur: new Map(), dur: new Map() });
    this.dirs.set('/', { cur: new Map(), dur: new Map() });
  }

  // ---- crash simulation -------------------------------------------------------------------

  /**
   * Simulates a power cut in place: only durable state remains, all locks are released, and every
   * handle opened before now fails with an IO error. `torn` overrides the constructor's tornWrites.
   */
  crash(opts: { torn?: boolean } = {}): void {
    this.dirs = this.durableImage(opts.torn ?? this.tornWrites);
    this.locks = new Map();
    this.life.generation++;
  }

  /**
   * A new, independent MemVfs holding what a crash right now would leave; this one is untouched.
   * Lets a test take a crash image at many points of one workload.
   */
  crashImage(opts: { torn?: boolean; seed?: number } = {}): MemVfs {
    const img = new MemVfs({ tornWrites: this.tornWrites, seed: opts.seed ?? this.seed });
    img.dirs = this.durableImage(opts.torn ?? this.tornWrites);
    return img;
  }

  private durableImage(torn: boolean): Map<string, Dir> {
    const fresh = new Map<Inode, Inode>();
    const survivor = (ino: Inode): Inode => {
      let n = fresh.get(ino);
      if (n) return n;
      let keep = durableBytes(ino);
      if (torn && ino.durData === null && ino.len > ino.durLen) {
        const extra = Math.floor(this.rng() * (ino.len - ino.durLen + 1));
        keep = ino.buf.subarray(0, ino.durLen + extra);
      }
      n = newInode(keep.slice());
      fresh.set(ino, n);
      return n;
    };
    const out = new Map<string, Dir>();
    for (const [name, dir] of this.dirs) {
      const entries = new Map<string, Inode>();
      for (const [e, ino] of dir.dur) entries.set(e, survivor(ino));
      out.set(name, { cur: entries, dur: new Map(entries) });
    }
    return out;
  }

  /** Switches torn-write mode for later crashes. */
  setTornWrites(on: boolean): void {
    this.tornWrites = on;
  }

  // ---- internals --------------------------------------------------------------------------

  private split(p: string): { dir: string; name: string; path: string } {
    const path = norm(p);
    return { dir: posix.dirname(path), name: posix.basename(path), path };
  }

  private dirOf(op: string, p: string): { d: Dir; name: string; path: string } {
    const { dir, name, path } = this.split(p);
    const d = this.dirs.get(dir);
    if (!d) throw ioError(op, p, errno('ENOENT', `no such directory ${dir}`));
    return { d, name, path };
  }

  private lookup(p: string): Inode | undefined {
    const { dir, name } = this.split(p);
    return this.dirs.get(dir)?.cur.get(name);
  }

  // ---- Vfs --------------------------------------------------------------------------------

  async mkdirp(dir: string): Promise<void> {
    let p = norm(dir);
    const chain: string[] = [];
    while (!this.dirs.has(p)) {
      if (this.lookup(p)) throw ioError('mkdir', dir, errno('EEXIST', `${p} is a file`));
      chain.push(p);
      p = posix.dirname(p);
    }
    for (const d of chain) this.dirs.set(d, { cur: new Map(), dur: new Map() });
  }

  async readdir(dir: string): Promise<string[]> {
    const p = norm(dir);
    const d = this.dirs.get(p);
    if (!d) return [];
    const names = [...d.cur.keys()];
    for (const sub of this.dirs.keys()) {
      if (sub !== p && posix.dirname(sub) === p) names.push(posix.basename(sub));
    }
    return names.sort();
  }

  async exists(path: string): Promise<boolean> {
    return this.dirs.has(norm(path)) || this.lookup(path) !== undefined;
  }

  async fileSize(path: string): Promise<number> {
    if (this.dirs.has(norm(path))) return 0;
    return this.lookup(path)?.len ?? -1;
  }

  async openRandom(path: string): Promise<RandomAccessFile> {
    const ino = this.lookup(path);
    if (!ino) {
      const why = this.dirs.has(norm(path)) ? errno('EISDIR', 'is a directory') : errno('ENOENT', 'no such file');
      throw ioError('open', path, why);
    }
    return new MemRandomFile(this.life, path, ino);
  }

  async openWritable(path: string, opts: { append?: boolean } = {}): Promise<WritableFile> {
    const { d, name } = this.dirOf('open', path);
    if (this.dirs.has(norm(path))) throw ioError('open', path, errno('EISDIR', 'is a directory'));
    let ino = d.cur.get(name);
    if (!ino) {
      ino = newInode();
      d.cur.set(name, ino);
    } else if (!opts.append && ino.len > 0) {
      // Truncation is metadata the next sync makes durable; until then a crash restores the old bytes.
      if (ino.durData === null) ino.durData = ino.buf.subarray(0, ino.durLen);
      ino.buf = new Uint8Array(0);
      ino.len = 0;
    }
    return new MemWritableFile(this.life, path, ino);
  }

  async readFile(path: string): Promise<Uint8Array> {
    const ino = this.lookup(path);
    if (!ino) throw ioError('read', path, errno('ENOENT', 'no such file'));
    return ino.buf.slice(0, ino.len);
  }

  async rename(from: string, to: string): Promise<void> {
    const src = this.dirOf('rename', from);
    const ino = src.d.cur.get(src.name);
    if (!ino) {
      const why = this.dirs.has(src.path)
        ? errno('EISDIR', 'cannot rename a directory')
        : errno('ENOENT', 'no such file');
      throw ioError('rename', from, why);
    }
    const dst = this.dirOf('rename', to);
    if (this.dirs.has(dst.path)) throw ioError('rename', from, errno('EISDIR', `${to} is a directory`));
    src.d.cur.delete(src.name);
    dst.d.cur.set(dst.name, ino);
  }

  async unlink(path: string): Promise<void> {
    const { dir, name, path: p } = this.split(path);
    if (this.dirs.has(p)) throw ioError('unlink', path, errno('EISDIR', 'is a directory'));
    this.dirs.get(dir)?.cur.delete(name);
  }

  async syncDir(dir: string): Promise<void> {
    const d = this.dirs.get(norm(dir));
    if (!d) throw ioError('fsync', dir, errno('ENOENT', 'no such directory'));
    d.dur = new Map(d.cur);
  }

  async lock(path: string): Promise<FileLock> {
    const { path: key } = this.dirOf('lock', path);
    if (this.locks.has(key)) {
      throw new Eau2Error(ErrorCode.LOCKED, `database is already open (${path})`, { details: { path } });
    }
    const token = {};
    this.locks.set(key, token);
    return {
      // A release after a crash must not free a lock taken since.
      release: async () => {
        if (this.locks.get(key) === token) this.locks.delete(key);
      },
    };
  }
}

class MemRandomFile implements RandomAccessFile {
  private readonly length: number;
  private closed = false;
  private readonly gen: number;
  constructor(
    private readonly life: Life,
    readonly path: string,
    private readonly ino: Inode,
  ) {
    this.gen = life.generation;
    this.length = ino.len;
  }
  size(): number {
    return this.length;
  }
  readSync(position: number, length: number): Uint8Array {
    checkLive(this.life, this.gen, 'read', this.path);
    if (this.closed) throw ioError('read', this.path, errno('EBADF', 'file is closed'));
    const end = Math.min(position + length, this.length, this.ino.len);
    return this.ino.buf.slice(Math.min(position, end), end);
  }
  readInto(position: number, dest: Uint8Array): number {
    checkLive(this.life, this.gen, 'read', this.path);
    if (this.closed) throw ioError('read', this.path, errno('EBADF', 'file is closed'));
    const end = Math.min(position + dest.length, this.length, this.ino.len);
    const start = Math.min(position, end);
    dest.set(this.ino.buf.subarray(start, end));
    return end - start;
  }
  async read(position: number, length: number): Promise<Uint8Array> {
    return this.readSync(position, length);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

class MemWritableFile implements WritableFile {
  private closed = false;
  private readonly gen: number;
  constructor(
    private readonly life: Life,
    readonly path: string,
    private readonly ino: Inode,
  ) {
    this.gen = life.generation;
  }
  size(): number {
    return this.ino.len;
  }
  private check(op: string): void {
    checkLive(this.life, this.gen, op, this.path);
    if (this.closed) throw ioError(op, this.path, errno('EBADF', 'file is closed'));
  }
  async append(data: Uint8Array): Promise<void> {
    this.appendSync(data);
  }
  appendSync(data: Uint8Array): void {
    this.check('write');
    const ino = this.ino;
    const need = ino.len + data.length;
    if (need > ino.buf.length) {
      // Grow into a new buffer: bytes below len never change in place, so views handed out stay valid.
      const next = new Uint8Array(Math.max(need, ino.buf.length * 2, 256));
      next.set(ino.buf.subarray(0, ino.len));
      ino.buf = next;
    }
    ino.buf.set(data, ino.len);
    ino.len = need;
  }
  truncateSync(size: number): void {
    this.check('ftruncate');
    const ino = this.ino;
    if (size > ino.len) throw new TypeError(`truncateSync(${size}) past the end (${ino.len})`);
    // As in openWritable: the cut is undone by a crash until the next sync. A new buffer, as bytes
    // below len never change in place (views handed out stay valid).
    if (ino.durData === null && ino.durLen > size) ino.durData = ino.buf.subarray(0, ino.durLen);
    ino.buf = ino.buf.slice(0, size);
    ino.len = size;
  }
  async sync(): Promise<void> {
    this.check('fdatasync');
    this.ino.durLen = this.ino.len;
    this.ino.durData = null;
  }
  /** Closing a handle from before a crash is allowed (it writes nothing); other calls on it fail. */
  async close(): Promise<void> {
    this.closed = true;
  }
}

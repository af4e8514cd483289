// The production Vfs over node:fs. Errors become Eau2Error code IO naming the operation and path.
//
// Locking: Node has no flock() (and packages offering it need native builds, which are not built
// here), so LOCK holds the owner's pid and its start time, created with O_EXCL. A LOCK whose owner no
// longer runs is taken over: on Linux that is decided from /proc/<pid>/stat (no such process, a
// zombie — killed but not yet reaped by its parent, as right after a SIGKILL — or a process with
// another start time, the pid reused); elsewhere from kill(pid, 0). Within one process a registry of
// held locks refuses a second open of the same directory.

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Eau2Error, ErrorCode, ioError } from '../../kv/index.js';
import type { FileLock, RandomAccessFile, Vfs, WorkerVfsSpec, WritableFile } from './vfs.js';

class NodeRandomFile implements RandomAccessFile {
  constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly length: number,
  ) {}
  size(): number {
    return this.length;
  }
  readSync(position: number, length: number): Uint8Array {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, this.length - position)));
    const got = this.readInto(position, buf);
    return got === buf.length ? buf : buf.subarray(0, got);
  }
  readInto(position: number, dest: Uint8Array): number {
    const n = Math.max(0, Math.min(dest.length, this.length - position));
    let got = 0;
    try {
      while (got < n) {
        const r = fs.readSync(this.fd, dest, got, n - got, position + got);
        if (r === 0) break;
        got += r;
      }
    } catch (e) {
      throw ioError('read', this.path, e);
    }
    return got;
  }
  read(position: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, this.length - position));
    const buf = Buffer.allocUnsafe(n);
    return new Promise((resolve, reject) => {
      let got = 0;
      const step = (): void => {
        if (got >= n) return resolve(buf);
        fs.read(this.fd, buf, got, n - got, position + got, (err, r) => {
          if (err) return reject(ioError('read', this.path, err));
          if (r === 0) return resolve(buf.subarray(0, got));
          got += r;
          step();
        });
      };
      step();
    });
  }
  async close(): Promise<void> {
    await new Promise<void>((resolve) => fs.close(this.fd, () => resolve()));
  }
}

class NodeWritableFile implements WritableFile {
  private length: number;
  constructor(
    readonly path: string,
    private readonly fd: number,
    initialSize: number,
  ) {
    this.length = initialSize;
  }
  size(): number {
    return this.length;
  }
  append(data: Uint8Array): Promise<void> {
    const start = this.length;
    this.length += data.length;
    return new Promise((resolve, reject) => {
      let done = 0;
      const step = (): void => {
        if (done >= data.length) return resolve();
        fs.write(this.fd, data, done, data.length - done, start + done, (err, w) => {
          if (err) return reject(ioError('write', this.path, err));
          done += w;
          step();
        });
      };
      step();
    });
  }
  appendSync(data: Uint8Array): void {
    let done = 0;
    try {
      while (done < data.length) {
        done += fs.writeSync(this.fd, data, done, data.length - done, this.length + done);
      }
    } catch (e) {
      throw ioError('write', this.path, e);
    } finally {
      this.length += done;
    }
  }
  truncateSync(size: number): void {
    if (size > this.length) throw new TypeError(`truncateSync(${size}) past the end (${this.length})`);
    try {
      fs.ftruncateSync(this.fd, size);
    } catch (e) {
      throw ioError('ftruncate', this.path, e);
    }
    this.length = size;
  }
  sync(): Promise<void> {
    return new Promise((resolve, reject) =>
      fs.fdatasync(this.fd, (err) => (err ? reject(ioError('fdatasync', this.path, err)) : resolve())),
    );
  }
  close(): Promise<void> {
    return new Promise((resolve, reject) =>
      fs.close(this.fd, (err) => (err ? reject(ioError('close', this.path, err)) : resolve())),
    );
  }
}

const heldLocks = new Set<string>();

/** The state letter and start time (clock ticks since boot) of a process; null if there is none; undefined without /proc. */
function procStat(pid: number): { state: string; start: string } | null | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return fs.existsSync('/proc/self/stat') ? null : undefined;
    return undefined;
  }
  // "pid (comm) state ppid ... starttime ...": comm may hold spaces and parentheses, so fields are
  // counted from the last ')'; starttime is field 22 of proc(5), the 20th after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', start: fields[19] ?? '' };
}

/**
 * Whether the process that wrote a LOCK still runs. `start`: the start time it recorded (absent in
 * a LOCK written before start times were recorded). A zombie (Z) or dead (X) process holds nothing.
 */
function ownerAlive(pid: number, start: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const st = procStat(pid);
  if (st === null) return false;
  if (st !== undefined) {
    if (st.state === 'Z' || st.state === 'X' || st.state === 'x') return false;
    return start === undefined || start === st.start;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function wrap<T>(op: string, p: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Eau2Error) throw e;
    throw ioError(op, p, e);
  }
}

export class NodeVfs implements Vfs {
  /** The compaction worker opens the same files through its own nodeVfs. */
  readonly workerSpec: WorkerVfsSpec = { module: import.meta.url, name: 'workerNodeVfs' };

  mkdirp(dir: string): Promise<void> {
    return wrap('mkdir', dir, async () => {
      await fsp.mkdir(dir, { recursive: true });
    });
  }
  async readdir(dir: string): Promise<string[]> {
    try {
      return await fsp.readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError('readdir', dir, e);
    }
  }
  async exists(p: string): Promise<boolean> {
    return (await this.fileSize(p)) >= 0;
  }
  async fileSize(p: string): Promise<number> {
    try {
      return (await fsp.stat(p)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return -1;
      throw ioError('stat', p, e);
    }
  }
  openRandom(p: string): Promise<RandomAccessFile> {
    return wrap('open', p, async () => {
      const fd = fs.openSync(p, 'r');
      const size = fs.fstatSync(fd).size;
      return new NodeRandomFile(p, fd, size);
    });
  }
  openWritable(p: string, opts: { append?: boolean } = {}): Promise<WritableFile> {
    return wrap('open', p, async () => {
      const fd = fs.openSync(p, opts.append ? 'a+' : 'w');
      const size = opts.append ? fs.fstatSync(fd).size : 0;
      return new NodeWritableFile(p, fd, size);
    });
  }
  readFile(p: string): Promise<Uint8Array> {
    return wrap('read', p, () => fsp.readFile(p));
  }
  rename(from: string, to: string): Promise<void> {
    return wrap('rename', from, () => fsp.rename(from, to));
  }
  unlink(p: string): Promise<void> {
    return wrap('unlink', p, async () => {
      try {
        await fsp.unlink(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    });
  }
  syncDir(dir: string): Promise<void> {
    return wrap('fsync', dir, async () => {
      const h = await fsp.open(dir, 'r');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    });
  }
  freeBytes(dir: string): Promise<number> {
    return wrap('statfs', dir, async () => {
      const s = await fsp.statfs(dir);
      return s.bavail * s.bsize;
    });
  }
  async lock(p: string): Promise<FileLock> {
    const key = path.resolve(p);
    if (heldLocks.has(key)) {
      throw new Eau2Error(ErrorCode.LOCKED, `database is already open in this process (${p})`, {
        details: { path: p },
      });
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(p, 'wx');
        const start = procStat(process.pid)?.start;
        fs.writeSync(fd, start ? `${process.pid} ${start}\n` : `${process.pid}\n`);
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        heldLocks.add(key);
        return {
          release: async () => {
            heldLocks.delete(key);
            await fsp.unlink(p).catch(() => undefined);
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('lock', p, e);
      }
      let text = '';
      try {
        text = fs.readFileSync(p, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw ioError('lock', p, e);
      }
      const [pidText, start] = text.trim().split(' ');
      const owner = Number.parseInt(pidText ?? '', 10);
      if (ownerAlive(owner, start) && owner !== process.pid) {
        throw new Eau2Error(ErrorCode.LOCKED, `database is locked by process ${owner} (${p})`, {
          details: { path: p, pid: owner },
        });
      }
      // The owner is gone (crashed, or this process after a crash of an earlier open): take it over.
      fs.rmSync(p, { force: true });
    }
    throw new Eau2Error(ErrorCode.LOCKED, `could not take lock ${p}`, { details: { path: p } });
  }
}

export const nodeVfs = new NodeVfs();

/**
 * The worker side of NodeVfs.workerSpec: the compaction worker imports this module and calls this
 * export by name, which no static analysis sees.
 * @public
 */
export function workerNodeVfs(): Vfs {
  return nodeVfs;
}

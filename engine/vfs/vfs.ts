// All engine file I/O goes through this interface, so tests can substitute an in-memory filesystem
// that loses unsynced data on a simulated power cut (mem-vfs.ts) or one that injects I/O errors
// (error-vfs.ts). Paths are plain strings joined with '/'.

/** A file opened for positional reads. Sync reads exist so a get can be served without a promise. */
export interface RandomAccessFile {
  readonly path: string;
  /** Current size in bytes. */
  size(): number;
  /** Reads exactly `length` bytes at `position`, or fewer at end of file. */
  read(position: number, length: number): Promise<Uint8Array>;
  readSync(position: number, length: number): Uint8Array;
  /**
   * Reads `dest.length` bytes at `position` into `dest` (fewer at end of file) and returns how many
   * were read. Optional: the block cache reads into memory it recycles when a file offers this
   * (no allocation per read), and falls back to readSync otherwise.
   */
  readInto?(position: number, dest: Uint8Array): number;
  close(): Promise<void>;
}

/** A file opened for appending. Nothing is durable until `sync()` resolves. */
export interface WritableFile {
  readonly path: string;
  /** Bytes appended so far (including any existing content when opened for append). */
  size(): number;
  append(data: Uint8Array): Promise<void>;
  /**
   * Appends synchronously. The WAL uses this: a write(2) into the page cache costs a few
   * microseconds, far less than a round trip through libuv's thread pool, and the data then
   * survives a crash of the process (not of the machine) without an fsync.
   */
  appendSync(data: Uint8Array): void;
  /** fdatasync: everything appended before the call is durable when it resolves. */
  sync(): Promise<void>;
  /**
   * Cuts the file back to `size` bytes (no larger than size()); later appends go there. The WAL
   * uses it to take back a record a failed append left half-written (a full disk), so that the log
   * can go on. Optional: without it such a failure is final for the database.
   */
  truncateSync?(size: number): void;
  close(): Promise<void>;
}

export interface FileLock {
  release(): Promise<void>;
}

/**
 * How a worker thread gets a Vfs equivalent to this one: it imports `module` (a URL) and calls its
 * exported function `name` with `arg` (which must survive structured cloning). A Vfs whose state
 * lives in this thread's memory (MemVfs) has none, and the engine then runs its flushes and
 * compactions in this thread, through the Vfs itself.
 */
export interface WorkerVfsSpec {
  module: string;
  name: string;
  arg?: unknown;
}

export interface Vfs {
  /** Set when a worker thread can open the same files (see WorkerVfsSpec). */
  readonly workerSpec?: WorkerVfsSpec;
  mkdirp(dir: string): Promise<void>;
  /** Names (not paths) of the entries of `dir`; [] if it does not exist. */
  readdir(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  /** Size in bytes, or -1 if the file does not exist. */
  fileSize(path: string): Promise<number>;
  openRandom(path: string): Promise<RandomAccessFile>;
  /** Creates the file (truncating it) unless `append` is set, in which case writes go at the end. */
  openWritable(path: string, opts?: { append?: boolean }): Promise<WritableFile>;
  readFile(path: string): Promise<Uint8Array>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes the directory's entries (creations, renames, deletions) durable. */
  syncDir(dir: string): Promise<void>;
  /**
   * Takes the database lock file at `path`, or throws an Eau2Error with code LOCKED if another
   * open database (in this process or another live one) holds it.
   */
  lock(path: string): Promise<FileLock>;
  /** Bytes an unprivileged writer can still allocate on the filesystem holding `dir`; optional. */
  freeBytes?(dir: string): Promise<number>;
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Creates `path` holding `bytes`, fdatasynced and closed (its directory entry is the caller's). */
export async function writeFileSynced(vfs: Vfs, path: string, bytes: Uint8Array): Promise<void> {
  const file = await vfs.openWritable(path);
  try {
    await file.append(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}

// An import's input stream by path. A FIFO (a named pipe: `mkfifo`, `/dev/stdin` on a pipe, a shell's
// `<(...)`) is read through a pipe handle on the event loop, not by fs.ReadStream: a ReadStream reads
// on libuv's thread pool, a read of a FIFO whose writer stays open never returns, and a process
// cannot exit while a thread of its pool is blocked (libuv joins the pool's threads at exit), so an
// import stopped by a signal hung in process.exit() after its cleanup.

import { createReadStream, open, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';

/** A readable stream with the bytes read from its source so far, as fs.ReadStream's `bytesRead`. */
export type InputStream = Readable & { readonly bytesRead: number };

/**
 * The bytes of the file at `path`. A FIFO is opened on the thread pool (the open waits for a writer,
 * as a reader's must) and then read from the event loop; anything else through fs.ReadStream. Errors
 * (a missing file, a refused open) come as the stream's 'error'.
 */
export function openInput(path: string): InputStream {
  let fifo = false;
  try {
    fifo = statSync(path).isFIFO();
  } catch {
    // The ReadStream reports it.
  }
  if (!fifo) return createReadStream(path);
  let bytes = 0;
  const out = new PassThrough() as PassThrough & { bytesRead: number };
  Object.defineProperty(out, 'bytesRead', { get: () => bytes });
  open(path, 'r', (err, fd) => {
    if (err) {
      out.destroy(err);
      return;
    }
    // A pipe handle (libuv makes the descriptor non-blocking and polls it): no thread waits on it.
    const pipe = new Socket({ fd, readable: true, writable: false });
    pipe.on('data', (b: Buffer) => {
      bytes += b.length;
    });
    pipe.on('error', (e) => out.destroy(e));
    pipe.pipe(out);
    out.on('close', () => pipe.destroy());
    if (out.destroyed) pipe.destroy();
  });
  return out;
}

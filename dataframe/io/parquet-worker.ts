// The Parquet decoder's thread (parquet.ts starts one, and keeps it for the next import a while). parquet-wasm runs here, not in
// the importing thread, for two reasons: a damaged file can make the Rust decoder panic, which in
// WebAssembly aborts without settling the read's promise (an uncaught error here ends this worker,
// which the importer turns into a clear error, instead of hanging or crashing the process); and a row
// group decodes here while the importer converts and stores the previous one.
//
// The file stays with the importer: every byte range the decoder asks for is requested from it (so
// its progress count and its bounded-memory guarantee cover every read), and each decoded row group
// goes back as Arrow IPC stream bytes, moved, not copied.

import { parentPort } from 'node:worker_threads';

type FromImporter =
  | { t: 'open'; size: number }
  | { t: 'bytes'; id: number; buf: ArrayBuffer }
  | { t: 'group'; g: number; rows: number };

const port = parentPort!;
const waiting = new Map<number, (b: ArrayBuffer) => void>();
let nextId = 1;

function read(start: number, end: number): Promise<ArrayBuffer> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    port.postMessage({ t: 'read', id, start, end });
  });
}

/** What parquet-wasm uses of a Blob: its size, slices, and a slice's bytes. */
function remoteBlob(start: number, end: number): Blob {
  return {
    size: end - start,
    slice: (a = 0, b = end - start) => remoteBlob(start + a, start + Math.min(b, end - start)),
    arrayBuffer: () => read(start, end),
  } as Blob;
}

const { ParquetFile } = await import('parquet-wasm/node');
let file: Awaited<ReturnType<typeof ParquetFile.fromFile>> | undefined;

port.on('message', (m: FromImporter) => {
  if (m.t === 'bytes') {
    const r = waiting.get(m.id);
    waiting.delete(m.id);
    r?.(m.buf);
    return;
  }
  void (async () => {
    try {
      if (m.t === 'open') {
        file?.free();
        file = undefined;
        file = await ParquetFile.fromFile(remoteBlob(0, m.size));
        port.postMessage({ t: 'opened' });
      } else {
        const table = await file!.read({ rowGroups: [m.g], batchSize: Math.max(1, m.rows) });
        const ipc = table.intoIPCStream();
        const buf = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength ? ipc.buffer : ipc.slice().buffer;
        port.postMessage({ t: 'group', g: m.g, ipc: buf }, [buf as ArrayBuffer]);
      }
    } catch (e) {
      port.postMessage({ t: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  })();
});
port.postMessage({ t: 'ready' });

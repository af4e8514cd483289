// The SQL parser's thread, for statements a node parses for HTTP clients (parse-thread.ts starts it).
// pgsql-ast-parser is an Earley parser: some statements of the accepted length cost it seconds to
// minutes (a chain of 1,000 UNIONs, 26 kB, took 7.8 s; one of 100 kB would take minutes), which on a
// node's event loop would stall its replication and heartbeats until its peers took it for dead.

import { parentPort } from 'node:worker_threads';
import { isEau2Error } from '../../kv/index.js';
import { parseOne } from './parse.js';

const port = parentPort!;
port.on('message', (m: { id: number; text: string }) => {
  try {
    port.postMessage({ id: m.id, statement: parseOne(m.text) });
  } catch (e) {
    port.postMessage({
      id: m.id,
      error: isEau2Error(e)
        ? { code: e.code, message: e.message, details: e.details }
        : { message: (e as Error)?.message ?? String(e) },
    });
  }
});
port.postMessage({ ready: true });

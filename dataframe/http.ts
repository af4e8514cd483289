// The dataframe HTTP routes, mounted on every node by the cluster's composition root
// (cluster/cli/dataframe-hooks.ts) with a store that sees the whole cluster. Read-only:
//   GET /df                                  list of frames
//   GET /df/<name>                           one frame's metadata
//   GET /df/<name>/rows?offset=&limit=       rows as JSON (limit default 100, at most 10,000)
// Errors use the API's JSON shape {code, message} (docs/api.md) with a matching status. See
// docs/dataframe.md "HTTP".

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KvStore } from '../kv/index.js';
import { Eau2Error, ErrorCode } from '../kv/index.js';
import { DataFrame } from './dataframe.js';
import type { Value } from './schema.js';

export const DEFAULT_ROW_LIMIT = 100;
export const MAX_ROW_LIMIT = 10_000;

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const bad = (msg: string): HttpProblem => new HttpProblem(400, ErrorCode.INVALID, msg);

const STATUS: Partial<Record<string, number>> = {
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.INVALID]: 400,
  [ErrorCode.TIMEOUT]: 504,
  [ErrorCode.UNAVAILABLE]: 503,
  [ErrorCode.NOT_LEADER]: 503,
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // JSON has no NaN or Infinity; such doubles are sent as null.
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  if (e instanceof HttpProblem) return send(res, e.status, { code: e.code, message: e.message });
  if (e instanceof Eau2Error) return send(res, STATUS[e.code] ?? 500, { code: e.code, message: e.message });
  if (e instanceof TypeError || e instanceof RangeError)
    return send(res, 400, { code: ErrorCode.INVALID, message: e.message });
  send(res, 500, { code: ErrorCode.INTERNAL, message: (e as Error)?.message ?? String(e) });
}

function queryInt(q: URLSearchParams, name: string, dflt: number, max: number): number {
  const all = q.getAll(name);
  if (all.length > 1) throw bad(`option "${name}" given twice`);
  if (all.length === 0) return dflt;
  const n = Number(all[0]);
  if (all[0] === '' || !Number.isSafeInteger(n) || n < 0) throw bad(`${name} must be an integer >= 0`);
  if (n > max) throw bad(`${name} must be at most ${max}`);
  return n;
}

function checkOptions(q: URLSearchParams, allowed: string[]): void {
  for (const k of q.keys()) {
    if (!allowed.includes(k))
      throw bad(`unknown option "${k.slice(0, 64)}"${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`);
  }
}

function segment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad(`bad percent-escape in "${s.slice(0, 64)}"`);
  }
}

/** Serves /df routes; resolves false (untouched response) for any other path. */
export async function handleDfHttp(req: IncomingMessage, res: ServerResponse, store: KvStore): Promise<boolean> {
  const raw = req.url ?? '/';
  const qAt = raw.indexOf('?');
  const path = qAt < 0 ? raw : raw.slice(0, qAt);
  if (path !== '/df' && path !== '/df/' && !path.startsWith('/df/')) return false;
  const q = new URLSearchParams(qAt < 0 ? '' : raw.slice(qAt + 1));
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new HttpProblem(405, 'METHOD_NOT_ALLOWED', `method ${String(req.method)} not allowed here (allowed: GET)`);
    }
    if (path === '/df' || path === '/df/') {
      checkOptions(q, []);
      send(res, 200, { frames: await DataFrame.list(store) });
      return true;
    }
    // Frame names cannot contain '/', so the path splits cleanly: /df/<name>[/rows].
    const parts = path.slice('/df/'.length).split('/');
    const name = segment(parts[0]!);
    if (parts.length === 1) {
      checkOptions(q, []);
      const lf = await DataFrame.get(store, name);
      send(res, 200, lf.info());
      return true;
    }
    if (parts.length === 2 && parts[1] === 'rows') {
      checkOptions(q, ['offset', 'limit']);
      const offset = queryInt(q, 'offset', 0, Number.MAX_SAFE_INTEGER);
      const limit = queryInt(q, 'limit', DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT);
      const lf = await DataFrame.get(store, name, { cacheBytes: 0 });
      const page = await lf.slice(offset, limit);
      const rows: Value[][] = [...page.rows()];
      send(res, 200, {
        name: lf.name,
        version: lf.version,
        nrows: lf.nrows,
        offset,
        limit,
        columns: lf.fields.map((f) => ({ name: f.name, type: f.type })),
        rows,
      });
      return true;
    }
    throw new HttpProblem(
      404,
      ErrorCode.NOT_FOUND,
      `no route ${path.slice(0, 200)} (try /df, /df/<name>, /df/<name>/rows)`,
    );
  } catch (e) {
    if (e instanceof HttpProblem && e.status === 405) {
      send(res, 405, { code: e.code, message: e.message }, { allow: 'GET' });
    } else sendError(res, e);
    return true;
  }
}

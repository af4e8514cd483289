// The dataframe HTTP routes, mounted on every node by the application (app/dataframe-hooks.ts) with a
// store that sees the whole cluster and the node's HTTP helpers. Read-only:
//   GET /df                                  list of frames
//   GET /df/<name>                           one frame's metadata
//   GET /df/<name>/rows?offset=&limit=       rows as JSON (limit default 100, at most 10,000)
//   POST /df/sql  {"sql": "SELECT ...", "params": [..]}  a SQL query's result as JSON (at most 10,000 rows)
// Errors use the API's JSON shape {code, message} (docs/api.md) with the API's status mapping, through
// the helpers the caller passes; a RangeError (a bad argument to the frame) is a 400. See
// docs/dataframe.md "HTTP". NaN and infinite doubles are sent as null, as JSON.stringify does.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KvStore } from '../kv/index.js';
import { ErrorCode } from '../kv/index.js';
import { DataFrame, type SqlParam } from './dataframe.js';
import { jsonCell } from './cell-text.js';
import { parseOffThread } from './sql/parse-thread.js';
import type { Value } from './schema.js';

const DEFAULT_ROW_LIMIT = 100;
const MAX_ROW_LIMIT = 10_000;
/**
 * Groups a GROUP BY run for an HTTP client may gather (DfHttpOptions.maxGroups): the node holds them
 * while it merges, a few hundred bytes each.
 */
export const DEFAULT_HTTP_MAX_GROUPS = 1_000_000;
/** Rows a POST /df/sql gathers at the node for window functions (SqlOptions.maxGatheredRows). */
const DEFAULT_HTTP_MAX_GATHERED_ROWS = 1_000_000;

/**
 * The HTTP helpers of the node serving these routes (cluster's httpHelpers, passed in by the
 * application): one JSON error shape and status mapping for every route, /df included.
 */
export interface HttpHelpers {
  sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void;
  sendError(res: ServerResponse, e: unknown): number;
  httpError(status: number, code: string, message: string, headers?: Record<string, string>): Error;
}

type Bad = (msg: string) => Error;

function queryInt(q: URLSearchParams, name: string, dflt: number, max: number, bad: Bad): number {
  const all = q.getAll(name);
  if (all.length > 1) throw bad(`option "${name}" given twice`);
  if (all.length === 0) return dflt;
  const n = Number(all[0]);
  if (all[0] === '' || !Number.isSafeInteger(n) || n < 0) throw bad(`${name} must be an integer >= 0`);
  if (n > max) throw bad(`${name} must be at most ${max}`);
  return n;
}

function checkOptions(q: URLSearchParams, allowed: string[], bad: Bad): void {
  for (const k of q.keys()) {
    if (!allowed.includes(k))
      throw bad(`unknown option "${k.slice(0, 64)}"${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`);
  }
}

function segment(s: string, bad: Bad): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw bad(`bad percent-escape in "${s.slice(0, 64)}"`);
  }
}

/** Largest POST /df/sql body accepted. */
const MAX_SQL_BODY = 1024 * 1024;

async function readBody(req: IncomingMessage, max: number, tooLarge: Bad): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) throw tooLarge(`request body larger than ${max} bytes`);
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

let sqlModule: Promise<typeof import('./sql/run.js')> | undefined;

/** POST /df/sql: {"sql": text, "params"?: [...]} -> {columns, rows, truncated} or, for EXPLAIN, {explain}. */
async function sqlRoute(
  req: IncomingMessage,
  storeFor: () => Promise<KvStore>,
  bad: Bad,
  tooLarge: Bad,
  maxGroups: number,
): Promise<unknown> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req, MAX_SQL_BODY, tooLarge));
  } catch (e) {
    if (e instanceof SyntaxError) throw bad(`body must be JSON: ${e.message}`);
    throw e;
  }
  const { sql, params } = (body ?? {}) as { sql?: unknown; params?: unknown };
  if (typeof sql !== 'string') throw bad('body must be {"sql": "SELECT ...", "params": [...]}');
  for (const k of Object.keys(body as object))
    if (k !== 'sql' && k !== 'params') throw bad(`unknown body field ${JSON.stringify(k.slice(0, 64))}`);
  if (params !== undefined) {
    if (!Array.isArray(params)) throw bad('params must be an array of values ($1 is the first)');
    const i = params.findIndex((v) => v !== null && typeof v === 'object');
    // JSON's scalars are the values a parameter takes here; an int64 past 2^53 goes as a string and
    // a cast in the statement ($1::bigint), since JSON numbers are doubles.
    if (i >= 0) throw bad(`params[${i}] is not a number, string, boolean or null`);
  }
  // Loaded on first use, as DataFrame.sql does, and imported once (each import() is a module resolution).
  const { runSql } = await (sqlModule ??= import('./sql/run.js'));
  // Parsed on a thread of its own, within EAU2_SQL_PARSE_MS: some statements take the parser seconds
  // or minutes, which on this thread would stall the node's replication and heartbeats.
  const r = await runSql(
    await storeFor(),
    sql,
    {
      params: params as SqlParam[] | undefined,
      maxRows: MAX_ROW_LIMIT,
      maxGroups,
      maxGatheredRows: DEFAULT_HTTP_MAX_GATHERED_ROWS,
    },
    parseOffThread,
  );
  if (r.explain !== undefined) return { explain: r.explain };
  const df = r.frame!;
  const truncated = df.nrows > MAX_ROW_LIMIT;
  const types = df.fields.map((f) => f.type);
  const rows: Value[][] = [...df.slice(0, Math.min(df.nrows, MAX_ROW_LIMIT)).rows()].map((r) =>
    r.map((v, i) => jsonCell(types[i]!, v)),
  );
  return { columns: df.fields.map((f) => ({ name: f.name, type: f.type })), rows, truncated };
}

export interface DfHttpOptions {
  /**
   * The store POST /df/sql runs its plans on, for this request: a node passes a client of its own
   * cluster (a TaskRunner acting with the caller's token), so the stages run on the nodes holding
   * the chunks, as they do from any client. Default: `store`, where the plans run in this process.
   */
  sqlStore?: (req: IncomingMessage) => Promise<KvStore>;
  /** Groups a POST /df/sql may gather (SqlOptions.maxGroups); default DEFAULT_HTTP_MAX_GROUPS. */
  maxGroups?: number;
}

/** Serves /df routes; resolves false (untouched response) for any other path. */
export async function handleDfHttp(
  req: IncomingMessage,
  res: ServerResponse,
  store: KvStore,
  http: HttpHelpers,
  opts: DfHttpOptions = {},
): Promise<boolean> {
  const raw = req.url ?? '/';
  const qAt = raw.indexOf('?');
  const path = qAt < 0 ? raw : raw.slice(0, qAt);
  if (path !== '/df' && path !== '/df/' && !path.startsWith('/df/')) return false;
  const q = new URLSearchParams(qAt < 0 ? '' : raw.slice(qAt + 1));
  const bad: Bad = (msg) => http.httpError(400, ErrorCode.INVALID, msg);
  const send = (status: number, body: unknown): void => http.sendJson(res, status, body);
  try {
    if (path === '/df/sql') {
      if (req.method !== 'POST')
        throw http.httpError(
          405,
          'METHOD_NOT_ALLOWED',
          `method ${String(req.method)} not allowed here (allowed: POST)`,
          {
            allow: 'POST',
          },
        );
      checkOptions(q, [], bad);
      const storeFor = async (): Promise<KvStore> => (opts.sqlStore ? opts.sqlStore(req) : store);
      send(
        200,
        await sqlRoute(
          req,
          storeFor,
          bad,
          (m) => http.httpError(413, ErrorCode.TOO_LARGE, m),
          opts.maxGroups ?? DEFAULT_HTTP_MAX_GROUPS,
        ),
      );
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw http.httpError(405, 'METHOD_NOT_ALLOWED', `method ${String(req.method)} not allowed here (allowed: GET)`, {
        allow: 'GET',
      });
    }
    if (path === '/df' || path === '/df/') {
      checkOptions(q, [], bad);
      send(200, { frames: await DataFrame.list(store) });
      return true;
    }
    // Frame names cannot contain '/', so the path splits cleanly: /df/<name>[/rows].
    const parts = path.slice('/df/'.length).split('/');
    const name = segment(parts[0]!, bad);
    if (parts.length === 1) {
      checkOptions(q, [], bad);
      const lf = await DataFrame.get(store, name);
      send(200, lf.info());
      return true;
    }
    if (parts.length === 2 && parts[1] === 'rows') {
      checkOptions(q, ['offset', 'limit'], bad);
      const offset = queryInt(q, 'offset', 0, Number.MAX_SAFE_INTEGER, bad);
      const limit = queryInt(q, 'limit', DEFAULT_ROW_LIMIT, MAX_ROW_LIMIT, bad);
      const lf = await DataFrame.get(store, name, { cacheBytes: 0 });
      const page = await lf.slice(offset, limit);
      const types = lf.fields.map((f) => f.type);
      const rows: Value[][] = [...page.rows()].map((r) => r.map((v, i) => jsonCell(types[i]!, v)));
      send(200, {
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
    throw http.httpError(
      404,
      ErrorCode.NOT_FOUND,
      `no route ${path.slice(0, 200)} (try /df, /df/<name>, /df/<name>/rows)`,
    );
  } catch (e) {
    http.sendError(res, e instanceof RangeError ? bad(e.message) : e);
    return true;
  }
}

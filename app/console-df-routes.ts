// The two dataframe routes the web console needs beyond the layer's own /df routes (docs/api.md,
// "Console"): where a frame's row-chunks live and how big they are, and a query (filter, group by,
// aggregate) described as JSON in the URL. Queries run where the data is: through a ClusterClient
// connected to this same node with the caller's token, which sends each node the chunks it leads, as
// `eau2 df` and programs do. Both are GETs, so a `read` token may use them (a query changes nothing).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClusterClient, httpHelpers, type NodeServer } from '../cluster/index.js';
import {
  and,
  chunkHashTag,
  col,
  DataFrame,
  DEFAULT_HTTP_MAX_GROUPS,
  eq,
  ge,
  gt,
  isNull,
  jsonCell,
  le,
  lit,
  lt,
  ne,
  not,
  type AggFn,
  type Expr,
  type Field,
  type FrameMeta,
  type LazyFrame,
  type Literal,
  parseChunkKey,
  type Value,
  versionChunkEnd,
  versionChunkPrefix,
} from '../dataframe/index.js';
import { ErrorCode, partitionOf, utf8 } from '../kv/index.js';

/** Rows a query answer carries at most (the rest is counted in `nrows`). */
const MAX_RESULT_ROWS = 10_000;
/** Rows a row query (no aggregate) returns when it names no limit. */
const DEFAULT_ROW_LIMIT = 100;

const OPS = { eq, ne, lt, le, gt, ge } as const;
type CondOp = keyof typeof OPS | 'isNull' | 'notNull';
const AGG_FNS: readonly AggFn[] = ['sum', 'mean', 'min', 'max', 'count'];

/** The JSON a console query is: conditions ANDed, then groups and aggregates, or a row selection. */
interface ConsoleQuery {
  filter?: { col: string; op: CondOp; value?: Literal }[];
  groupBy?: string[];
  aggs?: { col: string; fn: AggFn }[];
  select?: string[];
  limit?: number;
}

const bad = (msg: string): Error => httpHelpers.httpError(400, ErrorCode.INVALID, msg);

function field(fields: readonly Field[], name: unknown): Field {
  const f = fields.find((x) => x.name === name);
  if (!f) throw bad(`no column ${JSON.stringify(name)} (columns: ${fields.map((x) => x.name).join(', ')})`);
  return f;
}

/** A condition's value as the column's type: the console sends what the user typed, as text. */
function literalFor(f: Field, v: unknown): Literal {
  if (v === null) return null;
  if (f.type === 'I' || f.type === 'D') {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw bad(`column ${f.name} is numeric: ${JSON.stringify(v)} is not a number`);
    return n;
  }
  if (f.type === 'B') {
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw bad(`column ${f.name} is boolean: use true or false`);
  }
  if (typeof v !== 'string') throw bad(`column ${f.name} is text: give a string`);
  return v;
}

function strings(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw bad(`${what} must be an array of column names`);
  return v as string[];
}

/** Parses and checks `q` against the frame's columns; a mistake is a 400 naming it. */
function parseConsoleQuery(text: string, fields: readonly Field[]): ConsoleQuery & { where?: Expr } {
  let q: unknown;
  try {
    q = JSON.parse(text);
  } catch (e) {
    throw bad(`q is not JSON: ${(e as Error).message}`);
  }
  if (q === null || typeof q !== 'object' || Array.isArray(q)) throw bad('q must be a JSON object');
  const o = q as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['filter', 'groupBy', 'aggs', 'select', 'limit'].includes(k))
      throw bad(`unknown field ${JSON.stringify(k.slice(0, 64))} in q (allowed: filter, groupBy, aggs, select, limit)`);
  const conds: Expr[] = [];
  const filter = o.filter ?? [];
  if (!Array.isArray(filter)) throw bad('filter must be an array of {col, op, value}');
  for (const c of filter as { col?: unknown; op?: unknown; value?: unknown }[]) {
    if (c === null || typeof c !== 'object') throw bad('filter must be an array of {col, op, value}');
    const f = field(fields, c.col);
    if (c.op === 'isNull') conds.push(isNull(col(f.name)));
    else if (c.op === 'notNull') conds.push(not(isNull(col(f.name))));
    else if (typeof c.op === 'string' && c.op in OPS)
      conds.push(OPS[c.op as keyof typeof OPS](col(f.name), lit(literalFor(f, c.value))));
    else throw bad(`unknown filter op ${JSON.stringify(c.op)} (eq, ne, lt, le, gt, ge, isNull, notNull)`);
  }
  const groupBy = strings(o.groupBy, 'groupBy');
  for (const g of groupBy) field(fields, g);
  const select = strings(o.select, 'select');
  for (const s of select) field(fields, s);
  const aggsIn = o.aggs ?? [];
  if (!Array.isArray(aggsIn)) throw bad('aggs must be an array of {col, fn}');
  const aggs = (aggsIn as { col?: unknown; fn?: unknown }[]).map((a) => {
    if (a === null || typeof a !== 'object' || !AGG_FNS.includes(a.fn as AggFn))
      throw bad(`each aggregate is {col, fn} with fn one of ${AGG_FNS.join(', ')}`);
    if (a.col !== '*') field(fields, a.col);
    else if (a.fn !== 'count') throw bad('column "*" only counts');
    return { col: a.col as string, fn: a.fn as AggFn };
  });
  if (groupBy.length > 0 && aggs.length === 0) aggs.push({ col: '*', fn: 'count' });
  const limit = o.limit ?? DEFAULT_ROW_LIMIT;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_RESULT_ROWS)
    throw bad(`limit must be an integer in [1, ${MAX_RESULT_ROWS}]`);
  const out: ConsoleQuery & { where?: Expr } = { groupBy, aggs, select, limit: limit as number };
  if (conds.length > 0) out.where = conds.length === 1 ? conds[0]! : and(...conds);
  return out;
}

/** Runs a parsed query on a frame; the result as columns and rows. */
async function runConsoleQuery(
  lf: LazyFrame,
  q: ConsoleQuery & { where?: Expr },
  maxGroups: number,
): Promise<{ columns: { name: string; type: string }[]; rows: Value[][]; nrows: number; truncated: boolean }> {
  let query = lf.query();
  if (q.where) query = query.filter(q.where);
  let df: DataFrame;
  if (q.aggs && q.aggs.length > 0) {
    if (q.groupBy && q.groupBy.length > 0) query = query.groupBy(q.groupBy);
    const spec: Record<string, AggFn[]> = {};
    for (const a of q.aggs) (spec[a.col] ??= []).push(a.fn);
    df = await query.agg(spec, { maxGroups });
  } else {
    if (q.select && q.select.length > 0) query = query.select(q.select);
    df = await query.limit(q.limit ?? DEFAULT_ROW_LIMIT).collect();
  }
  const n = Math.min(df.nrows, MAX_RESULT_ROWS);
  const rows: Value[][] = [];
  // JSON cannot carry a bigint, and timestamps/dates are numbers inside: cells go out as /df's do.
  const types = df.fields.map((f) => f.type);
  for (let i = 0; i < n; i++) rows.push(df.row(i).map((v, j) => jsonCell(types[j]!, v)));
  return {
    columns: df.fields.map((f) => ({ name: f.name, type: f.type })),
    rows,
    nrows: df.nrows,
    truncated: df.nrows > n,
  };
}

/** Row-chunk i's key slot (docs/format.md 7.3: `slots` when the writer balanced chunks, else i). */
function slotOf(m: FrameMeta, i: number): number {
  return m.slots ? m.slots[i]! : i;
}

/** Where each row-chunk of a frame lives and how many bytes its columns take. */
async function placement(node: NodeServer, lf: LazyFrame): Promise<unknown> {
  const t = node.topology();
  const m = lf.meta;
  const chunks = Array.from({ length: m.nchunks }, (_, i) => {
    const slot = slotOf(m, i);
    const p = partitionOf(utf8(`{${chunkHashTag(m.name, m.version, slot)}}`), t.partitions);
    const pl = t.placement[p]!;
    return { chunk: i, rows: lf.rowsInChunk(i), partition: p, leader: pl.leader, followers: pl.followers, bytes: 0 };
  });
  const bySlot = new Map<number, (typeof chunks)[number]>();
  for (const c of chunks) bySlot.set(slotOf(m, c.chunk), c);
  // Every column of every row-chunk of this version, in one range (docs/format.md 7.4).
  let total = 0;
  const text = new TextDecoder();
  const range = { gte: versionChunkPrefix(m.name, m.version), lt: versionChunkEnd(m.name, m.version) };
  // Chunks are never rewritten under their keys: any replica's copy will do (a dead leader's too).
  for await (const [k, v] of node.store.scan(range, { read: 'leader-first' })) {
    const parsed = parseChunkKey(text.decode(k));
    const c = parsed && bySlot.get(parsed.chunk);
    if (c) c.bytes += v.length;
    total += v.length;
  }
  const perNode: Record<string, { chunks: number; bytes: number }> = {};
  for (const c of chunks) {
    const e = (perNode[c.leader] ??= { chunks: 0, bytes: 0 });
    e.chunks++;
    e.bytes += c.bytes;
  }
  return { name: m.name, version: m.version, bytes: total, nodes: perNode, chunks };
}

/**
 * ClusterClients of the node's own cluster by token, kept a minute after their last query so a
 * session's queries reuse one: the console's query route and POST /df/sql run their plans through
 * one, so the stages run on the nodes holding the chunks.
 */
export class Clients {
  private readonly open = new Map<string, { client: Promise<ClusterClient>; used: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly node: NodeServer) {
    this.timer = setInterval(() => this.sweep(60_000), 10_000);
    this.timer.unref();
  }

  get(token: string | undefined): Promise<ClusterClient> {
    const key = token ?? '';
    const hit = this.open.get(key);
    if (hit) {
      hit.used = Date.now();
      return hit.client;
    }
    if (this.open.size >= 8) this.sweep(0);
    const { host, port } = this.node.self;
    const tls = this.node.config.security.tls;
    const client = ClusterClient.connect([`${tls ? 'https' : 'http'}://${host}:${port}`], {
      ...(token ? { token } : {}),
      ...(tls ? { ca: tls.ca } : {}),
    });
    client.catch(() => this.open.delete(key));
    this.open.set(key, { client, used: Date.now() });
    return client;
  }

  private sweep(idleMs: number): void {
    const now = Date.now();
    for (const [k, e] of this.open) {
      if (now - e.used >= idleMs) {
        this.open.delete(k);
        e.client.then((c) => c.close()).catch(() => {});
      }
    }
  }
}

export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m ? m[1] : undefined;
}

/** The handler for GET /df/<name>/placement and GET /df/<name>/query?q=<json>; false for other paths. */
export function consoleDfHandler(
  node: NodeServer,
  clients = new Clients(node),
  maxGroups = DEFAULT_HTTP_MAX_GROUPS,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const raw = req.url ?? '/';
    const qAt = raw.indexOf('?');
    const path = qAt < 0 ? raw : raw.slice(0, qAt);
    const m = /^\/df\/([^/]+)\/(placement|query)$/.exec(path);
    if (!m) return false;
    try {
      if (req.method !== 'GET')
        throw httpHelpers.httpError(405, 'METHOD_NOT_ALLOWED', `method ${String(req.method)} not allowed here`, {
          allow: 'GET',
        });
      const params = new URLSearchParams(qAt < 0 ? '' : raw.slice(qAt + 1));
      let name: string;
      try {
        name = decodeURIComponent(m[1]!);
      } catch {
        throw bad('bad percent-escape in the frame name');
      }
      if (m[2] === 'placement') {
        const extra = [...params.keys()][0];
        if (extra !== undefined) throw bad(`unknown option "${extra.slice(0, 64)}" (this route takes none)`);
        const lf = await DataFrame.get(node.store, name, { cacheBytes: 0 });
        httpHelpers.sendJson(res, 200, await placement(node, lf));
        return true;
      }
      for (const k of params.keys()) if (k !== 'q') throw bad(`unknown option "${k.slice(0, 64)}" (allowed: q)`);
      if (params.getAll('q').length !== 1) throw bad('give the query once, as q=<JSON>');
      const client = await clients.get(bearer(req));
      const lf = await DataFrame.get(client, name, { cacheBytes: 0 });
      const q = parseConsoleQuery(params.get('q')!, lf.fields);
      const t0 = performance.now();
      const result = await runConsoleQuery(lf, q, maxGroups);
      const ms = performance.now() - t0;
      httpHelpers.sendJson(res, 200, { name: lf.name, version: lf.version, ms, ...result });
    } catch (e) {
      // A plan the query layer refuses (a type mismatch) is a TypeError or RangeError: the caller's mistake.
      httpHelpers.sendError(res, e instanceof TypeError || e instanceof RangeError ? bad(e.message) : e);
    }
    return true;
  };
}

// The key/value routes of the HTTP API (docs/api.md): /kv/<percent-encoded key> with PUT, GET and
// DELETE, ordered listing GET /kv, and the seeds' JSON API (PUT / with a hex key, POST / with the raw
// key as body). Everything is parsed and validated before anything is written, so a bad request
// changes nothing. Writes whose outcome depends on the current value (If-Match / If-None-Match, a
// `ttl`, POST ?incr) and leader reads (for their ETag) run at the leader as one read-modify-write
// (cluster/node/rmw.ts).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { fromUtf8, isReservedKey, utf8 } from '../../kv/index.js';
import { ErrorCode, isEau2Error } from '../../kv/index.js';
import { MAX_REQUEST_ID_BYTES, READ_MODES, type ReadMode, type WriteConcern } from '../protocol/messages.js';
import type { ClusterConfig } from '../config.js';
import type { Router } from '../node/router.js';
import { rmw, type RmwHost, type RmwOp, type RmwResult } from '../node/rmw.js';
import { unwrapValue, wrapValue, type ValueMeta } from '../protocol/stored-value.js';
import { MAX_KEY_BYTES } from '../node/stored-format.js';
import type { ByteBudget } from '../security/limits.js';
import { checkValueMeta } from '../security/value-meta.js';
import {
  allow,
  badRequest,
  HttpError,
  parseQuery,
  percentDecode,
  percentEncode,
  readBody,
  sendJson,
} from './http-util.js';

const MAX_LIST = 10_000;
const DEFAULT_LIST = 100;

/** What the key/value routes need of the node: its router and the body limit. */
export interface KvRoutesHost extends RmwHost {
  readonly router: Router;
  readonly config: Pick<ClusterConfig, 'maxBodyBytes' | 'security'>;
  /** Request bodies being received count against it (limits.maxBodyBytesInFlight). */
  readonly security: { readonly bodyBudget: ByteBudget };
}

function parseKey(raw: Uint8Array): Uint8Array {
  if (raw.length === 0) throw badRequest('the key is empty');
  if (raw.length > MAX_KEY_BYTES) throw badRequest(`the key is ${raw.length} bytes; at most ${MAX_KEY_BYTES}`);
  return raw;
}

/** A key a client may write or delete: not in eau2's reserved namespace (kv/reserved.ts). */
function writableKey(key: Uint8Array): Uint8Array {
  if (isReservedKey(key))
    throw badRequest(
      "keys beginning with the byte 0x00 are reserved for eau2's own data (dataframes); choose another first byte",
    );
  return key;
}

function parseW(q: Map<string, string>): WriteConcern | undefined {
  const v = q.get('w');
  if (v === undefined) return undefined;
  if (v === 'all') return 'all';
  if (!/^[1-9][0-9]{0,4}$/.test(v)) throw badRequest(`w must be a positive integer or "all", got "${v.slice(0, 32)}"`);
  return Number(v);
}

function parseRead(q: Map<string, string>): ReadMode {
  const v = q.get('read');
  if (v === undefined) return 'leader';
  if (!(READ_MODES as readonly string[]).includes(v)) throw badRequest(`read must be one of ${READ_MODES.join(', ')}`);
  return v as ReadMode;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `ttl` in seconds (up to 3 decimals) as milliseconds, or undefined. */
function parseTtl(q: Map<string, string>): number | undefined {
  const v = q.get('ttl');
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,10}(\.[0-9]{1,3})?$/.test(v)) throw badRequest('ttl must be a number of seconds (up to 3 decimals)');
  const ms = Math.round(Number(v) * 1000);
  if (ms <= 0) throw badRequest('ttl must be positive');
  return ms;
}

function parseIncr(q: Map<string, string>): string {
  const v = q.get('incr') || '1';
  if (!/^-?[0-9]{1,18}$/.test(v)) throw badRequest('incr must be an integer');
  return v;
}

/** If-Match / If-None-Match: an ETag list or "*" (at most 1 KiB). */
function condition(req: IncomingMessage, name: string): string | undefined {
  const v = header(req, name);
  if (v === undefined) return undefined;
  if (v.length > 1024) throw badRequest(`${name} is too long`);
  return v.trim();
}

async function leaderGet(node: KvRoutesHost, key: Uint8Array): Promise<RmwResult | undefined> {
  try {
    return await rmw(node, { t: 'get', k: key });
  } catch (e) {
    if (isEau2Error(e, ErrorCode.CORRUPTION)) return undefined;
    throw e;
  }
}

/**
 * The write's request id (docs/api.md, "Retrying writes"): header Idempotency-Key, 1 to
 * MAX_REQUEST_ID_BYTES printable ASCII characters; 400 INVALID otherwise.
 */
function requestIdOf(req: IncomingMessage): string | undefined {
  const v = header(req, 'idempotency-key');
  if (v === undefined) return undefined;
  if (!/^[\x21-\x7e]+$/.test(v) || v.length > MAX_REQUEST_ID_BYTES)
    throw badRequest(`Idempotency-Key must be 1 to ${MAX_REQUEST_ID_BYTES} printable ASCII characters`);
  return v;
}

export async function handleKv(
  node: KvRoutesHost,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  rawKey: string,
  qs: string,
): Promise<number> {
  allow(method, ['GET', 'PUT', 'DELETE', 'POST']);
  const key = parseKey(percentDecode(rawKey));
  if (method === 'GET' || method === 'HEAD') {
    // HEAD answers with GET's status and headers; Node sends no body for it.
    const q = parseQuery(qs, ['read']);
    const read = parseRead(q);
    // A leader read carries the version's ETag, read at the leader with the value; if the leader's
    // copy meets a damaged table, the router's read answers from another replica (without an ETag).
    const r = read === 'leader' ? await leaderGet(node, key) : undefined;
    if (r) {
      if (!r.v) throw new HttpError(404, ErrorCode.NOT_FOUND, 'no such key');
      const headers: Record<string, string | number> = {
        'content-type': r.m?.t ?? 'application/octet-stream',
        'content-length': r.v.length,
      };
      if (r.m?.e !== undefined) headers['content-encoding'] = r.m.e;
      if (r.etag !== undefined) headers.etag = r.etag;
      res.writeHead(200, headers);
      res.end(r.v);
      return 200;
    }
    const stored = await node.router.get(key, read);
    if (stored === undefined) throw new HttpError(404, ErrorCode.NOT_FOUND, 'no such key');
    const v = unwrapValue(stored);
    const headers: Record<string, string | number> = {
      'content-type': v.contentType ?? 'application/octet-stream',
      'content-length': v.value.length,
    };
    if (v.contentEncoding !== undefined) headers['content-encoding'] = v.contentEncoding;
    res.writeHead(200, headers);
    res.end(v.value);
    return 200;
  }
  if (method === 'POST') {
    const q = parseQuery(qs, ['w', 'incr']);
    if (!q.has('incr')) throw badRequest('POST /kv/<key> needs ?incr=<n>');
    writableKey(key);
    const r = await rmw(node, { t: 'incr', k: key, by: parseIncr(q) }, parseW(q));
    sendJson(res, 200, { value: r.n });
    return 200;
  }
  const q = parseQuery(qs, ['w', 'ttl']);
  const w = parseW(q);
  writableKey(key);
  const ifMatch = condition(req, 'if-match');
  const rid = requestIdOf(req);
  if (method === 'PUT') {
    const ttl = parseTtl(q);
    const ifNone = condition(req, 'if-none-match');
    const meta: ValueMeta = {};
    const ct = header(req, 'content-type');
    const ce = header(req, 'content-encoding');
    if (ct !== undefined) meta.contentType = ct;
    if (ce !== undefined) meta.contentEncoding = ce;
    checkValueMeta(meta);
    const body = await readBody(req, node.config.maxBodyBytes, node.security.bodyBudget);
    if (ct !== undefined && isCurlFormDefault(ct, body)) delete meta.contentType;
    if (ttl === undefined && ifMatch === undefined && ifNone === undefined) {
      await node.router.writeMany([[key, wrapValue(body, meta)]], w, rid);
    } else {
      const op: RmwOp = { t: 'set', k: key, v: body };
      if (meta.contentType !== undefined || meta.contentEncoding !== undefined) {
        op.m = {};
        if (meta.contentType !== undefined) op.m.t = meta.contentType;
        if (meta.contentEncoding !== undefined) op.m.e = meta.contentEncoding;
      }
      if (ttl !== undefined) op.px = ttl;
      if (ifMatch !== undefined) op.match = ifMatch;
      if (ifNone !== undefined) op.none = ifNone;
      await rmw(node, op, w);
    }
    res.writeHead(204).end();
    return 204;
  }
  if (q.has('ttl')) throw badRequest('ttl applies to PUT only');
  if (ifMatch !== undefined) {
    await rmw(node, { t: 'del', ks: [key], match: ifMatch }, w);
    res.writeHead(204).end();
    return 204;
  }
  await node.router.writeMany([[key, null]], w, rid);
  res.writeHead(204).end();
  return 204;
}

/**
 * curl sends `Content-Type: application/x-www-form-urlencoded` with every -d/--data-binary upload
 * unless told otherwise, so a value uploaded by curl would come back typed as a form. That type is
 * dropped (GET then answers application/octet-stream) unless the body is a form: name=value pairs
 * joined by "&" in the form encoding's characters.
 */
function isCurlFormDefault(contentType: string, body: Uint8Array): boolean {
  if (contentType.trim().toLowerCase() !== 'application/x-www-form-urlencoded') return false;
  if (body.length === 0) return true;
  const pair = '[A-Za-z0-9*._~+%-]+=[A-Za-z0-9*._~+%-]*';
  return !new RegExp(`^${pair}(?:&${pair})*$`).test(Buffer.from(body).toString('latin1'));
}

export async function handleKvList(node: KvRoutesHost, res: ServerResponse, qs: string): Promise<number> {
  const q = parseQuery(qs, ['prefix', 'start', 'end', 'limit', 'read', 'reverse', 'values']);
  const read = parseRead(q);
  const bytesOpt = (n: string): Uint8Array | undefined => (q.has(n) ? percentDecode(q.get(n)!, true) : undefined);
  const prefix = bytesOpt('prefix');
  const start = bytesOpt('start');
  const end = bytesOpt('end');
  const limitText = q.get('limit');
  if (limitText !== undefined && !/^[0-9]{1,6}$/.test(limitText)) throw badRequest('limit must be an integer');
  const limit = limitText === undefined ? DEFAULT_LIST : Number(limitText);
  if (limit < 1 || limit > MAX_LIST) throw badRequest(`limit must be in [1, ${MAX_LIST}]`);
  const flag = (n: string): boolean => {
    const v = q.get(n);
    if (v === undefined || v === 'false' || v === '0') return false;
    if (v === 'true' || v === '1' || v === '') return true;
    throw badRequest(`${n} must be true or false`);
  };
  const reverse = flag('reverse');
  const values = flag('values');
  // The range is the intersection of [start, end) and the keys beginning with prefix.
  let gte = start;
  let lt = end;
  if (prefix && prefix.length > 0) {
    if (!gte || compare(prefix, gte) > 0) gte = prefix;
    const after = prefixEnd(prefix);
    if (after && (!lt || compare(after, lt) < 0)) lt = after;
  }
  const range: { gte?: Uint8Array; lt?: Uint8Array; reverse: boolean; limit: number } = { reverse, limit: limit + 1 };
  if (gte) range.gte = gte;
  if (lt) range.lt = lt;
  const it = node.router.scan(range, read);
  const items: Record<string, unknown>[] = [];
  let next: string | null = null;
  let last: Uint8Array | undefined;
  // A page also ends once its keys and values pass limits.maxListBytes (always at least one item),
  // so a listing of large values answers with a bounded page and a `next` to go on from.
  const maxBytes = node.config.security.limits.maxListBytes;
  let bytes = 0;
  try {
    for (let e = await it.next(); e !== undefined; e = await it.next()) {
      if (items.length === limit || (items.length > 0 && bytes >= maxBytes)) {
        // The next page starts just after the last key returned (forward) or before it (reverse).
        next = reverse ? percentEncode(last!) : percentEncode(Uint8Array.from([...last!, 0]));
        break;
      }
      const [k, stored] = e;
      last = k;
      const item: Record<string, unknown> = { key: fromUtf8(k), hex: Buffer.from(k).toString('hex') };
      const v = unwrapValue(stored);
      item.size = v.value.length;
      if (values) item.value64 = Buffer.from(v.value).toString('base64');
      bytes += 2 * k.length + (values ? Math.ceil(v.value.length / 3) * 4 : 0);
      items.push(item);
    }
  } finally {
    await it.close();
  }
  sendJson(res, 200, reverse ? { items, nextEnd: next } : { items, next });
  return 200;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** The smallest key greater than every key starting with `prefix`, or undefined if none exists. */
function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const out = Uint8Array.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

const SEED_FIELDS = new Set(['key', 'content_type', 'encoding', 'value']);

/** The seeds' PUT /: {"key": "<hex>", "content_type", "encoding", "value": "<text>"}. */
export async function handleSeedPut(
  node: KvRoutesHost,
  req: IncomingMessage,
  res: ServerResponse,
  qs: string,
): Promise<number> {
  const w = parseW(parseQuery(qs, ['w']));
  const body = await readBody(req, node.config.maxBodyBytes, node.security.bodyBudget);
  let o: unknown;
  try {
    o = JSON.parse(fromUtf8(body));
  } catch (e) {
    throw badRequest(`body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw badRequest('body must be a JSON object');
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!SEED_FIELDS.has(k)) throw badRequest(`unknown field "${k.slice(0, 64)}"`);
  if (typeof r.key !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(r.key))
    throw badRequest('key must be a non-empty string of hex digit pairs');
  if (typeof r.value !== 'string') throw badRequest('value must be a string');
  const meta: ValueMeta = {};
  for (const [f, m] of [
    ['content_type', 'contentType'],
    ['encoding', 'contentEncoding'],
  ] as const) {
    if (r[f] === undefined || r[f] === null) continue;
    if (typeof r[f] !== 'string') throw badRequest(`${f} must be a string`);
    meta[m] = r[f] as string;
  }
  checkValueMeta(meta);
  const key = writableKey(parseKey(Uint8Array.from(Buffer.from(r.key, 'hex'))));
  await node.router.writeMany([[key, wrapValue(utf8(r.value), meta)]], w);
  sendJson(res, 200, { key: r.key.toLowerCase(), stored: true });
  return 200;
}

/** The seeds' POST /: the raw key as the body; answers {"<key>": {content_type, encoding, value}}. */
export async function handleSeedGet(
  node: KvRoutesHost,
  req: IncomingMessage,
  res: ServerResponse,
  qs: string,
): Promise<number> {
  const read = parseRead(parseQuery(qs, ['read']));
  const key = parseKey(await readBody(req, MAX_KEY_BYTES));
  const stored = await node.router.get(key, read);
  if (stored === undefined) throw new HttpError(404, ErrorCode.NOT_FOUND, 'no such key');
  const v = unwrapValue(stored);
  const text = new TextDecoder('utf-8', { fatal: true });
  const entry: Record<string, unknown> = {
    content_type: v.contentType ?? 'application/octet-stream',
    encoding: v.contentEncoding ?? null,
  };
  try {
    entry.value = text.decode(v.value);
  } catch {
    entry.value = Buffer.from(v.value).toString('base64');
    entry.value_encoding = 'base64';
  }
  sendJson(res, 200, { [fromUtf8(key)]: entry });
  return 200;
}

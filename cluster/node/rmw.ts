// Read-modify-write at the partition leader: the operations whose result depends on the key's
// current value (INCR, APPEND, SET NX/XX/GET, GETDEL, EXPIRE, conditional HTTP writes, ...) and the
// relative TTLs (SET EX, HTTP ttl), which the leader turns into absolute expiry times with its own
// clock so every replica stores the same instant (docs/api.md, "TTLs and clocks").
//
// Atomicity: the leader reads the key's newest value (the partition writer's overlay of writes not
// yet committed, else its engine, both synchronous), computes the new value and issues the write
// through LeaderPartition.write, whose synchronous prefix takes the LSN and hands the ops to the
// writer; all in one synchronous step of the event loop, so no other write of the key (plain or
// read-modify-write, from any connection) can fall between the read and the write. The write is
// then replicated and acknowledged like any other. A non-leader forwards the request (peer message
// RMW, docs/format.md 8.3) to the leader, as the router does for plain writes.

import { Eau2Error, ErrorCode, partitionOf } from '../../kv/index.js';
import type { Logger } from '../log.js';
import { MsgType, type WireOp, type WriteConcern } from '../protocol/messages.js';
import { writeError } from '../protocol/outcome.js';
import type { PeerPool } from '../protocol/peer-pool.js';
import { storedExpiry, unwrapValue, wrapValue, type ValueMeta } from '../protocol/stored-value.js';
import type { Topology } from '../topology.js';
import type { EngineLike } from './engine-api.js';
import type { LeaderPartition } from './leader-partition.js';
import type { PartitionWriter } from './partition-writer.js';
import { notLeader, opening, type Router } from './router.js';
import { MAX_KEY_BYTES, storedKey } from './stored-format.js';

export interface RmwHost {
  readonly selfId: string;
  readonly engine: EngineLike;
  readonly writer: PartitionWriter;
  readonly router: Router;
  readonly pool: PeerPool;
  readonly writeTimeoutMs: number;
  readonly log: Logger;
  topology(): Topology;
  leaderOf(p: number): LeaderPartition | undefined;
  opening(p: number): boolean;
}

/** Content type and encoding as the envelope's msgpack holds them. */
interface WireMeta {
  t?: string;
  e?: string;
}

/** An operation as it travels (msgpack): `k`/`ks` user keys, times in ms. */
export type RmwOp =
  | { t: 'get'; k: Uint8Array }
  | { t: 'ttl'; k: Uint8Array }
  | {
      t: 'set';
      k: Uint8Array;
      v: Uint8Array;
      m?: WireMeta;
      /** Expire `px` ms after the leader's now, or at `at`; `keep`: keep the current expiry. */
      px?: number;
      at?: number;
      keep?: boolean;
      /** Redis NX / XX. */
      cond?: 'nx' | 'xx';
      /** HTTP If-Match / If-None-Match: an ETag or "*". */
      match?: string;
      none?: string;
      /** Return the previous value (SET ... GET). */
      get?: boolean;
    }
  | { t: 'getdel'; k: Uint8Array }
  | { t: 'getex'; k: Uint8Array; px?: number; at?: number; persist?: boolean }
  | { t: 'incr'; k: Uint8Array; by: string }
  | { t: 'incrf'; k: Uint8Array; by: number }
  | { t: 'append'; k: Uint8Array; v: Uint8Array }
  | { t: 'expire'; k: Uint8Array; px?: number; at?: number; cond?: 'nx' | 'xx' | 'gt' | 'lt' }
  | { t: 'persist'; k: Uint8Array }
  | { t: 'del'; ks: Uint8Array[]; match?: string }
  | { t: 'msetnx'; kv: [Uint8Array, Uint8Array][] };

/** What an operation answers: `ok` for conditional ones, `v` a value (null: none), `n` a number. */
export interface RmwResult {
  ok?: boolean;
  v?: Uint8Array | null;
  /** Numbers; INCR's result as decimal text (64-bit integers do not fit a double). */
  n?: number | string;
  etag?: string;
  /** Content type and encoding of `v` (get). */
  m?: WireMeta;
}

export const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A Redis-visible failure: code INVALID with Redis's own message (without its "ERR " prefix). */
function redisError(message: string): Eau2Error {
  return new Eau2Error(ErrorCode.INVALID, message, { details: { resp: true } });
}

function crossSlot(): Eau2Error {
  return new Eau2Error(ErrorCode.INVALID, "CROSSSLOT Keys in request don't hash to the same slot", {
    details: { resp: true, prefix: 'CROSSSLOT' },
  });
}

function precondition(what: string): Eau2Error {
  return new Eau2Error(ErrorCode.PRECONDITION, what);
}

// ------------------------------------------------------------------ validation (untrusted bodies)

function protocol(msg: string): Eau2Error {
  return new Eau2Error(ErrorCode.PROTOCOL, `RMW: ${msg}`);
}

function key(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw protocol('key must be binary');
  if (v.length === 0) throw protocol('key is empty');
  if (v.length > MAX_KEY_BYTES)
    throw new Eau2Error(ErrorCode.TOO_LARGE, `the key is ${v.length} bytes; at most ${MAX_KEY_BYTES}`);
  return v;
}

function time(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw protocol(`${name} must be an integer`);
  return v;
}

function optText(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > 1024) throw protocol(`${name} must be a short string`);
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], name: string): T | undefined {
  if (v === undefined || v === null) return undefined;
  if (!(allowed as readonly unknown[]).includes(v)) throw protocol(`${name} must be one of ${allowed.join(', ')}`);
  return v as T;
}

/** Checks an operation from the wire; returns it typed. Throws PROTOCOL (or TOO_LARGE for a key). */
function checkOp(raw: unknown): RmwOp {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw protocol('op must be a map');
  const o = raw as Record<string, unknown>;
  const bin = (v: unknown, name: string): Uint8Array => {
    if (!(v instanceof Uint8Array)) throw protocol(`${name} must be binary`);
    return v;
  };
  switch (o.t) {
    case 'get':
    case 'ttl':
    case 'getdel':
    case 'persist':
      return { t: o.t, k: key(o.k) };
    case 'set': {
      const out: RmwOp = { t: 'set', k: key(o.k), v: bin(o.v, 'v') };
      if (o.m !== undefined && o.m !== null) {
        if (typeof o.m !== 'object') throw protocol('m must be a map');
        const m = o.m as Record<string, unknown>;
        out.m = {};
        const t = optText(m.t, 'm.t');
        const e = optText(m.e, 'm.e');
        if (t !== undefined) out.m.t = t;
        if (e !== undefined) out.m.e = e;
      }
      const px = time(o.px, 'px');
      const at = time(o.at, 'at');
      if (px !== undefined) out.px = px;
      if (at !== undefined) out.at = at;
      if (o.keep === true) out.keep = true;
      const cond = oneOf(o.cond, ['nx', 'xx'] as const, 'cond');
      if (cond) out.cond = cond;
      const match = optText(o.match, 'match');
      const none = optText(o.none, 'none');
      if (match !== undefined) out.match = match;
      if (none !== undefined) out.none = none;
      if (o.get === true) out.get = true;
      return out;
    }
    case 'getex': {
      const out: RmwOp = { t: 'getex', k: key(o.k) };
      const px = time(o.px, 'px');
      const at = time(o.at, 'at');
      if (px !== undefined) out.px = px;
      if (at !== undefined) out.at = at;
      if (o.persist === true) out.persist = true;
      return out;
    }
    case 'incr':
      if (typeof o.by !== 'string' || !/^-?[0-9]{1,19}$/.test(o.by)) throw protocol('by must be a decimal integer');
      return { t: 'incr', k: key(o.k), by: o.by };
    case 'incrf':
      if (typeof o.by !== 'number' || !Number.isFinite(o.by)) throw protocol('by must be a finite number');
      return { t: 'incrf', k: key(o.k), by: o.by };
    case 'append':
      return { t: 'append', k: key(o.k), v: bin(o.v, 'v') };
    case 'expire': {
      const out: RmwOp = { t: 'expire', k: key(o.k) };
      const px = time(o.px, 'px');
      const at = time(o.at, 'at');
      if (px !== undefined) out.px = px;
      if (at !== undefined) out.at = at;
      if (px === undefined && at === undefined) throw protocol('expire needs px or at');
      const cond = oneOf(o.cond, ['nx', 'xx', 'gt', 'lt'] as const, 'cond');
      if (cond) out.cond = cond;
      return out;
    }
    case 'del': {
      if (!Array.isArray(o.ks) || o.ks.length === 0 || o.ks.length > 100_000) throw protocol('ks must be keys');
      const out: RmwOp = { t: 'del', ks: o.ks.map(key) };
      const match = optText(o.match, 'match');
      if (match !== undefined) out.match = match;
      return out;
    }
    case 'msetnx': {
      if (!Array.isArray(o.kv) || o.kv.length === 0 || o.kv.length > 100_000) throw protocol('kv must be pairs');
      return {
        t: 'msetnx',
        kv: o.kv.map((x: unknown): [Uint8Array, Uint8Array] => {
          if (!Array.isArray(x) || x.length !== 2) throw protocol('kv entries must be [key, value]');
          return [key(x[0]), bin(x[1], 'value')];
        }),
      };
    }
    default:
      throw protocol(`unknown operation ${String(o.t).slice(0, 32)}`);
  }
}

function keysOf(op: RmwOp): Uint8Array[] {
  if (op.t === 'del') return op.ks;
  if (op.t === 'msetnx') return op.kv.map((x) => x[0]);
  return [op.k];
}

/** Operations that only read (answered by the leader, nothing written). */
function readOnly(op: RmwOp): boolean {
  return op.t === 'get' || op.t === 'ttl';
}

// ------------------------------------------------------------------ routing

/** The partition of the operation's keys; CROSSSLOT when they are in different partitions. */
function partitionOfOp(op: RmwOp, partitions: number): number {
  const ks = keysOf(op);
  const p = partitionOf(ks[0]!, partitions);
  for (let i = 1; i < ks.length; i++) if (partitionOf(ks[i]!, partitions) !== p) throw crossSlot();
  return p;
}

/**
 * Runs `op` at its partition's leader: here, or forwarded to the leader over the peer protocol. A
 * write whose outcome is unknown (its leader applied it and followers did not acknowledge in time;
 * the forwarded request's connection closed or timed out) fails with UNKNOWN_OUTCOME (outcome.ts).
 */
export async function rmw(host: RmwHost, op: RmwOp, w?: WriteConcern): Promise<RmwResult> {
  try {
    return await rmwAtLeader(host, op, w);
  } catch (e) {
    throw readOnly(op) ? e : writeError(e);
  }
}

async function rmwAtLeader(host: RmwHost, op: RmwOp, w: WriteConcern | undefined): Promise<RmwResult> {
  const p = partitionOfOp(op, host.topology().partitions);
  if (host.leaderOf(p)) return runHere(host, p, op, w);
  if (host.opening(p)) throw opening(p);
  const leader = host.topology().placement[p]!.leader;
  const body: Record<string, unknown> = { op };
  if (w !== undefined) body.w = w;
  const r = await host.pool.request(leader, MsgType.RMW, body, host.writeTimeoutMs + 5_000);
  return (r ?? {}) as RmwResult;
}

/** A peer's RMW request: this node must lead the partition (else NOT_LEADER, as for BATCH). */
export function rmwFromPeer(host: RmwHost, body: unknown, w: WriteConcern | undefined): Promise<RmwResult> {
  const op = checkOp((body as { op?: unknown } | null)?.op);
  const p = partitionOfOp(op, host.topology().partitions);
  if (!host.leaderOf(p)) {
    if (host.opening(p)) throw opening(p);
    throw notLeader(p, host.selfId, host.topology().placement[p]!.leader);
  }
  return runHere(host, p, op, w);
}

// ------------------------------------------------------------------ execution at the leader

interface Current {
  stored: Uint8Array;
  /** The engine's version of the value; undefined while its write is not committed. */
  etag: string | undefined;
}

function etagOf(node: string, seq: number): string {
  return `"${seq.toString(36)}.${encodeURIComponent(node).replace(/"/g, '%22')}"`;
}

/** The key's newest value at the leader, synchronously (see the header); undefined when absent. */
function current(host: RmwHost, sk: Uint8Array, now: number): Current | undefined {
  const pending = host.writer.latest(sk);
  if (pending === null) return undefined;
  if (pending !== undefined) {
    const at = storedExpiry(pending);
    return at !== undefined && at <= now ? undefined : { stored: pending, etag: undefined };
  }
  const getVersion = host.engine.getVersionSync;
  if (!getVersion) throw new Eau2Error(ErrorCode.INVALID, 'this engine cannot serve read-modify-write operations');
  const r = getVersion.call(host.engine, sk);
  if (r === undefined) return undefined;
  // The engine hides what its own clock says is expired; this check uses the same clock (Date.now).
  const at = storedExpiry(r.value);
  if (at !== undefined && at <= now) return undefined;
  return { stored: r.value, etag: etagOf(host.selfId, r.seq) };
}

function metaOf(u: ValueMeta): WireMeta | undefined {
  if (u.contentType === undefined && u.contentEncoding === undefined) return undefined;
  const m: WireMeta = {};
  if (u.contentType !== undefined) m.t = u.contentType;
  if (u.contentEncoding !== undefined) m.e = u.contentEncoding;
  return m;
}

function envelope(value: Uint8Array, m: WireMeta | undefined, expiresAt: number | undefined): Uint8Array {
  const meta: ValueMeta = {};
  if (m?.t !== undefined) meta.contentType = m.t;
  if (m?.e !== undefined) meta.contentEncoding = m.e;
  return wrapValue(value, meta, expiresAt);
}

/** HTTP If-Match / If-None-Match against the current version ("*": any). */
function matches(tag: string, cur: Current | undefined): boolean {
  if (!cur) return false;
  if (tag === '*') return true;
  return cur.etag !== undefined && tag.split(',').some((t) => t.trim() === cur.etag);
}

function parseInt64(text: string): bigint | undefined {
  if (!/^-?(0|[1-9][0-9]{0,18})$/.test(text)) return undefined;
  const n = BigInt(text);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function parseFloatStrict(text: string): number | undefined {
  // Redis takes what strtold takes, without surrounding spaces, and refuses NaN and infinities.
  if (text.length === 0 || text.length > 5000 || /^\s|\s$/.test(text)) return undefined;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** A double as Redis's INCRBYFLOAT writes it: plain decimal digits, no exponent. */
function formatFloat(n: number): string {
  if (Object.is(n, -0)) return '0';
  let s = String(n);
  if (!/e/i.test(s)) return s;
  s = n.toFixed(Math.min(100, Math.max(0, 17 - Math.floor(Math.log10(Math.abs(n))))));
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** The ops one operation writes and its answer, computed from the current values. */
function plan(host: RmwHost, p: number, op: RmwOp, now: number): { ops: WireOp[]; result: RmwResult } {
  const cur = (k: Uint8Array) => current(host, storedKey(p, k), now);
  switch (op.t) {
    case 'get': {
      const c = cur(op.k);
      if (!c) return { ops: [], result: { v: null } };
      const u = unwrapValue(c.stored);
      const result: RmwResult = { v: u.value };
      if (c.etag !== undefined) result.etag = c.etag;
      const m = metaOf(u);
      if (m) result.m = m;
      return { ops: [], result };
    }
    case 'ttl': {
      const c = cur(op.k);
      if (!c) return { ops: [], result: { n: -2 } };
      const at = storedExpiry(c.stored);
      return { ops: [], result: { n: at === undefined ? -1 : Math.max(0, at - now) } };
    }
    case 'set': {
      const c = cur(op.k);
      const prev = op.get ? (c ? unwrapValue(c.stored).value : null) : undefined;
      const refuse = (): { ops: WireOp[]; result: RmwResult } => ({
        ops: [],
        result: prev === undefined ? { ok: false } : { ok: false, v: prev },
      });
      if (op.cond === 'nx' && c) return refuse();
      if (op.cond === 'xx' && !c) return refuse();
      if (op.match !== undefined && !matches(op.match, c))
        throw precondition('If-Match does not match the current version');
      if (op.none !== undefined && matches(op.none, c)) throw precondition('If-None-Match matches the current version');
      let at = op.at ?? (op.px !== undefined ? now + op.px : undefined);
      if (at === undefined && op.keep && c) at = storedExpiry(c.stored);
      // An expiry already past (EXAT in the past) stores nothing: the key is gone at once, as in Redis.
      const write: WireOp = at !== undefined && at <= now ? [op.k, null] : [op.k, envelope(op.v, op.m, at)];
      return { ops: [write], result: prev === undefined ? { ok: true } : { ok: true, v: prev } };
    }
    case 'getdel': {
      const c = cur(op.k);
      if (!c) return { ops: [], result: { v: null } };
      return { ops: [[op.k, null]], result: { v: unwrapValue(c.stored).value } };
    }
    case 'getex': {
      const c = cur(op.k);
      if (!c) return { ops: [], result: { v: null } };
      const u = unwrapValue(c.stored);
      let at: number | undefined;
      if (op.persist) at = undefined;
      else if (op.at !== undefined || op.px !== undefined) at = op.at ?? now + op.px!;
      else return { ops: [], result: { v: u.value } };
      if (op.persist && u.expiresAt === undefined) return { ops: [], result: { v: u.value } };
      const write: WireOp = at !== undefined && at <= now ? [op.k, null] : [op.k, envelope(u.value, metaOf(u), at)];
      return { ops: [write], result: { v: u.value } };
    }
    case 'incr': {
      const c = cur(op.k);
      const u = c ? unwrapValue(c.stored) : undefined;
      const base = u ? parseInt64(text(u.value)) : 0n;
      if (base === undefined) throw redisError('value is not an integer or out of range');
      const next = base + BigInt(op.by);
      if (next < INT64_MIN || next > INT64_MAX) throw redisError('increment or decrement would overflow');
      const s = next.toString();
      return {
        ops: [[op.k, envelope(Buffer.from(s, 'latin1'), u && metaOf(u), u?.expiresAt)]],
        result: { n: s },
      };
    }
    case 'incrf': {
      const c = cur(op.k);
      const u = c ? unwrapValue(c.stored) : undefined;
      const base = u ? parseFloatStrict(text(u.value)) : 0;
      if (base === undefined) throw redisError('value is not a valid float');
      const next = base + op.by;
      if (!Number.isFinite(next)) throw redisError('increment would produce NaN or Infinity');
      const s = formatFloat(next);
      return {
        ops: [[op.k, envelope(Buffer.from(s, 'latin1'), u && metaOf(u), u?.expiresAt)]],
        result: { n: s },
      };
    }
    case 'append': {
      const c = cur(op.k);
      const u = c ? unwrapValue(c.stored) : undefined;
      const value = u ? Buffer.concat([u.value, op.v]) : op.v;
      return { ops: [[op.k, envelope(value, u && metaOf(u), u?.expiresAt)]], result: { n: value.length } };
    }
    case 'expire': {
      const c = cur(op.k);
      if (!c) return { ops: [], result: { n: 0 } };
      const u = unwrapValue(c.stored);
      const at = op.at ?? now + op.px!;
      const old = u.expiresAt; // undefined: never expires (an infinite TTL for GT/LT, as in Redis)
      const skip =
        (op.cond === 'nx' && old !== undefined) ||
        (op.cond === 'xx' && old === undefined) ||
        (op.cond === 'gt' && (old === undefined || at <= old)) ||
        (op.cond === 'lt' && old !== undefined && at >= old);
      if (skip) return { ops: [], result: { n: 0 } };
      const write: WireOp = at <= now ? [op.k, null] : [op.k, envelope(u.value, metaOf(u), at)];
      return { ops: [write], result: { n: 1 } };
    }
    case 'persist': {
      const c = cur(op.k);
      if (!c) return { ops: [], result: { n: 0 } };
      const u = unwrapValue(c.stored);
      if (u.expiresAt === undefined) return { ops: [], result: { n: 0 } };
      return { ops: [[op.k, envelope(u.value, metaOf(u), undefined)]], result: { n: 1 } };
    }
    case 'del': {
      const ops: WireOp[] = [];
      const seen = new Set<string>();
      for (const k of op.ks) {
        const id = text(k);
        if (seen.has(id)) continue;
        seen.add(id);
        const c = cur(k);
        if (op.match !== undefined && !matches(op.match, c))
          throw precondition('If-Match does not match the current version');
        if (c) ops.push([k, null]);
      }
      return { ops, result: { n: ops.length } };
    }
    case 'msetnx': {
      for (const [k] of op.kv) if (cur(k)) return { ops: [], result: { n: 0 } };
      return { ops: op.kv.map(([k, v]) => [k, envelope(v, undefined, undefined)]), result: { n: 1 } };
    }
  }
}

async function runHere(host: RmwHost, p: number, op: RmwOp, w: WriteConcern | undefined): Promise<RmwResult> {
  const lp = host.leaderOf(p)!;
  const need = readOnly(op) ? 0 : host.router.followersNeeded(p, w);
  if (op.t === 'get') {
    // A version still being committed has no ETag yet: wait for it, so every answer carries one.
    for (let i = 0; i < 100; i++) {
      const s = host.writer.settled(storedKey(p, op.k));
      if (!s) break;
      await s;
    }
    if (!host.leaderOf(p)) throw notLeader(p, host.selfId, host.topology().placement[p]!.leader);
  }
  const now = Date.now();
  const { ops, result } = plan(host, p, op, now);
  if (ops.length === 0) return result;
  const done = lp.write(ops, need, host.writeTimeoutMs);
  // The read above and this write must be one synchronous step: the writer must already hold it.
  const [k0, v0] = ops[0]!;
  const issued = host.writer.latest(storedKey(p, k0)) === v0;
  await done;
  if (!issued) {
    host.log.error({ p }, 'read-modify-write was not issued synchronously: it may not be atomic');
    if (process.env.EAU2_INVARIANTS === '1')
      throw new Eau2Error(ErrorCode.INVALID, 'invariant violated: LeaderPartition.write awaited before issuing');
  }
  return result;
}

/** Parses an int64 given as text (RESP arguments), or undefined. */
export function int64(text: string): bigint | undefined {
  return parseInt64(text);
}

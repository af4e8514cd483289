// The Redis commands eau2 serves (docs/api.md, "Redis protocol"): string keys, counters, expiry,
// SCAN/KEYS, and the connection commands clients send on their own (HELLO, AUTH, CLIENT, COMMAND,
// INFO, SELECT 0). Replies have Redis's types and error texts, so redis-cli, redis-benchmark and
// ioredis work unchanged. Plain reads and writes go through the node's router (forwarded to the
// partition's leader, as HTTP requests are); everything that reads before it writes, and every
// relative TTL, is one read-modify-write at the leader (cluster/node/rmw.ts).

import { ErrorCode, isEau2Error, isReservedKey, partitionOf } from '../../kv/index.js';
import { groupByPartition } from '../routing.js';
import { rmw, type RmwOp, type RmwResult, INT64_MIN, int64 } from '../node/rmw.js';
import { storedValueOf, wrapValue } from '../protocol/stored-value.js';
import type { Role } from '../security/tokens.js';
import { arr, bulk, bulkOrNull, err, int, NULL, OK, type Reply, simple, textMap } from './resp-reply.js';
import { commandCount, commandDocs, commandInfo } from './resp-command-docs.js';
import { globMatch, literalPrefix } from './resp-glob.js';
import { infoText } from './resp-info.js';
import type { RespClient, RespContext } from './resp-context.js';

/** Who may run a command: `conn` commands need no role, the others the role named. */
type Need = 'conn' | Role;

export interface CommandSpec {
  /** Redis arity: n = exactly n arguments (the name included), -n = at least n. */
  arity: number;
  need: Need;
  /** May run before AUTH when auth is on (Redis: AUTH, HELLO, QUIT, RESET). */
  preAuth?: boolean;
  run(ctx: RespContext, c: RespClient, a: Buffer[]): Reply | Promise<Reply>;
}

// ------------------------------------------------------------------ argument helpers

const upper = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('latin1').toUpperCase());
const NOT_INT = 'ERR value is not an integer or out of range';
const SYNTAX = 'ERR syntax error';

class ReplyError extends Error {}
/** Ends a command with this error reply (thrown from argument parsing). */
function fail(text: string): never {
  throw new ReplyError(text);
}

function argInt(b: Buffer): bigint {
  const n = int64(b.toString('latin1'));
  if (n === undefined) fail(NOT_INT);
  return n;
}

function argSafeInt(b: Buffer): number {
  const n = argInt(b);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) fail(NOT_INT);
  return Number(n);
}

/** An expiry argument in `unit` ms per step, checked as Redis does (positive, no overflow). */
function expiryArg(b: Buffer, unitMs: number, cmd: string, allowNonPositive = false): number {
  const n = argInt(b);
  if (!allowNonPositive && n <= 0n) fail(`ERR invalid expire time in '${cmd}' command`);
  const ms = n * BigInt(unitMs);
  if (ms > BigInt(Number.MAX_SAFE_INTEGER) - BigInt(Date.now()) || ms < -BigInt(Number.MAX_SAFE_INTEGER) / 2n)
    fail(`ERR invalid expire time in '${cmd}' command`);
  return Number(ms);
}

// ------------------------------------------------------------------ data access

function getValue(ctx: RespContext, k: Buffer): Promise<Uint8Array | undefined> {
  return ctx.host.router.get(k, 'leader').then((v) => {
    if (v === undefined) {
      ctx.stats.misses++;
      return undefined;
    }
    ctx.stats.hits++;
    return storedValueOf(v);
  });
}

const RESERVED =
  "ERR keys beginning with the byte 0x00 are reserved for eau2's own data (dataframes); choose another first byte";

/** Every write passes here first: refuses reserved keys, notes the partitions for WAIT. */
function noteWrite(ctx: RespContext, c: RespClient, keys: Buffer[]): void {
  for (const k of keys) if (isReservedKey(k)) fail(RESERVED);
  const parts = ctx.host.topology().partitions;
  for (const k of keys) c.wrote.add(partitionOf(k, parts));
}

/** noteWrite for one key; returns its partition. */
function noteWriteOne(ctx: RespContext, c: RespClient, k: Buffer): number {
  if (isReservedKey(k)) fail(RESERVED);
  const p = partitionOf(k, ctx.host.topology().partitions);
  c.wrote.add(p);
  return p;
}

const okReply = (): Reply => OK;

async function runRmw(ctx: RespContext, c: RespClient, op: RmwOp, keys: Buffer[]): Promise<RmwResult> {
  noteWrite(ctx, c, keys);
  return rmw(ctx.host, op);
}

// ------------------------------------------------------------------ SET and friends

interface SetOptions {
  cond?: 'nx' | 'xx';
  get?: boolean;
  px?: number;
  at?: number;
  keep?: boolean;
}

function parseSetOptions(a: Buffer[], from: number): SetOptions {
  const o: SetOptions = {};
  let expiry = false;
  for (let i = from; i < a.length; i++) {
    const opt = upper(a[i]);
    const next = a[i + 1];
    if (opt === 'NX' && o.cond !== 'xx') o.cond = 'nx';
    else if (opt === 'XX' && o.cond !== 'nx') o.cond = 'xx';
    else if (opt === 'GET') o.get = true;
    else if (opt === 'KEEPTTL' && !expiry) {
      o.keep = true;
      expiry = true;
    } else if ((opt === 'EX' || opt === 'PX' || opt === 'EXAT' || opt === 'PXAT') && !expiry && next !== undefined) {
      expiry = true;
      i++;
      if (opt === 'EX') o.px = expiryArg(next, 1000, 'set');
      else if (opt === 'PX') o.px = expiryArg(next, 1, 'set');
      else if (opt === 'EXAT') o.at = expiryArg(next, 1000, 'set');
      else o.at = expiryArg(next, 1, 'set');
    } else fail(SYNTAX);
  }
  return o;
}

/** A plain `SET k v`: one write of one partition, no read first. */
function plainSet(ctx: RespContext, c: RespClient, k: Buffer, v: Buffer): Promise<Reply> {
  const p = noteWriteOne(ctx, c, k);
  return ctx.host.router.write(p, [[k, wrapValue(v)]]).then(okReply);
}

async function set(ctx: RespContext, c: RespClient, k: Buffer, v: Buffer, o: SetOptions): Promise<Reply> {
  if (o.cond === undefined && !o.get && o.px === undefined && o.at === undefined && !o.keep)
    return plainSet(ctx, c, k, v);
  const op: RmwOp = { t: 'set', k, v };
  if (o.cond) op.cond = o.cond;
  if (o.get) op.get = true;
  if (o.px !== undefined) op.px = o.px;
  if (o.at !== undefined) op.at = o.at;
  if (o.keep) op.keep = true;
  const r = await runRmw(ctx, c, op, [k]);
  if (o.get) return bulkOrNull(r.v);
  return r.ok ? OK : NULL;
}

function getexOptions(a: Buffer[]): { px?: number; at?: number; persist?: boolean } {
  if (a.length === 2) return {};
  const opt = upper(a[2]);
  if (opt === 'PERSIST' && a.length === 3) return { persist: true };
  if (a.length !== 4) fail(SYNTAX);
  const v = a[3]!;
  if (opt === 'EX') return { px: expiryArg(v, 1000, 'getex') };
  if (opt === 'PX') return { px: expiryArg(v, 1, 'getex') };
  if (opt === 'EXAT') return { at: expiryArg(v, 1000, 'getex') };
  if (opt === 'PXAT') return { at: expiryArg(v, 1, 'getex') };
  return fail(SYNTAX);
}

async function incrBy(ctx: RespContext, c: RespClient, k: Buffer, by: bigint): Promise<Reply> {
  const r = await runRmw(ctx, c, { t: 'incr', k, by: by.toString() }, [k]);
  return int(String(r.n));
}

async function expire(ctx: RespContext, c: RespClient, a: Buffer[], unitMs: number, absolute: boolean, cmd: string) {
  const ms = expiryArg(a[2]!, unitMs, cmd, true);
  let cond: 'nx' | 'xx' | 'gt' | 'lt' | undefined;
  for (const x of a.slice(3)) {
    const o = upper(x);
    const want = o === 'NX' ? 'nx' : o === 'XX' ? 'xx' : o === 'GT' ? 'gt' : o === 'LT' ? 'lt' : undefined;
    if (!want) fail(`ERR Unsupported option ${x.toString('latin1').slice(0, 64)}`);
    if (cond && cond !== want)
      fail(
        (cond === 'nx') !== (want === 'nx') && (cond === 'nx' || want === 'nx')
          ? 'ERR NX and XX, GT or LT options at the same time are not compatible'
          : 'ERR GT and LT options at the same time are not compatible',
      );
    cond = want;
  }
  const op: RmwOp = absolute ? { t: 'expire', k: a[1]!, at: ms } : { t: 'expire', k: a[1]!, px: ms };
  if (cond) op.cond = cond;
  const r = await runRmw(ctx, c, op, [a[1]!]);
  return int(Number(r.n));
}

// ------------------------------------------------------------------ multi-key

/** Runs `op(group)` for each partition's keys at once; sums the numbers. */
async function perPartition(ctx: RespContext, keys: Buffer[], op: (g: Buffer[]) => Promise<number>): Promise<number> {
  const groups = groupByPartition(keys, (k) => k, ctx.host.topology().partitions);
  const counts = await Promise.all([...groups.values()].map(op));
  return counts.reduce((x, y) => x + y, 0);
}

async function del(ctx: RespContext, c: RespClient, keys: Buffer[]): Promise<Reply> {
  noteWrite(ctx, c, keys);
  return int(await perPartition(ctx, keys, async (g) => Number((await rmw(ctx.host, { t: 'del', ks: g })).n)));
}

// ------------------------------------------------------------------ SCAN / KEYS

async function scan(ctx: RespContext, a: Buffer[]): Promise<Reply> {
  const cursorText = a[1]!.toString('latin1');
  if (!/^[0-9]{1,20}$/.test(cursorText)) fail('ERR invalid cursor');
  let pattern: Buffer | undefined;
  let count = 10;
  let typeOk = true;
  for (let i = 2; i < a.length; i += 2) {
    const opt = upper(a[i]);
    const v = a[i + 1];
    if (v === undefined) fail(SYNTAX);
    if (opt === 'MATCH') pattern = v;
    else if (opt === 'COUNT') {
      const n = argInt(v);
      if (n < 1n) fail(SYNTAX);
      count = Number(n > 100_000n ? 100_000n : n);
    } else if (opt === 'TYPE') typeOk = upper(v) === 'STRING';
    else fail(SYNTAX);
  }
  let after: Buffer | undefined;
  if (cursorText !== '0') {
    after = ctx.cursors.take(cursorText);
    if (after === undefined) fail('ERR invalid cursor');
  }
  const prefix = pattern ? literalPrefix(pattern) : undefined;
  const range: { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; limit: number } = { limit: count + 1 };
  if (after) range.gt = after;
  if (prefix && prefix.length > 0) {
    if (!after || Buffer.compare(after, prefix) < 0) {
      range.gte = prefix;
      range.gt = undefined;
    }
    const end = prefixEnd(prefix);
    if (end) range.lt = end;
  }
  const it = ctx.host.router.scan(range, 'leader');
  const found: Reply[] = [];
  let last: Buffer | undefined;
  let seen = 0;
  let more = false;
  try {
    for (let e = await it.next(); e !== undefined; e = await it.next()) {
      if (seen === count) {
        more = true;
        break;
      }
      seen++;
      last = Buffer.from(e[0]);
      if (typeOk && (!pattern || globMatch(pattern, last))) found.push(bulk(last));
    }
  } finally {
    await it.close();
  }
  return arr([bulk(more && last ? ctx.cursors.put(last) : '0'), arr(found)]);
}

/** Every key matching, up to maxKeys (beyond: an error rather than an unbounded reply). */
async function keys(ctx: RespContext, pattern: Buffer): Promise<Reply> {
  const prefix = literalPrefix(pattern);
  const range: { gte?: Uint8Array; lt?: Uint8Array } = {};
  if (prefix.length > 0) {
    range.gte = prefix;
    const end = prefixEnd(prefix);
    if (end) range.lt = end;
  }
  const out: Reply[] = [];
  const it = ctx.host.router.scan(range, 'leader');
  try {
    for (let e = await it.next(); e !== undefined; e = await it.next()) {
      const k = Buffer.from(e[0]);
      if (!globMatch(pattern, k)) continue;
      if (out.length === ctx.limits.maxKeysReply)
        fail(`ERR KEYS would return more than ${ctx.limits.maxKeysReply} keys; use SCAN`);
      out.push(bulk(k));
    }
  } finally {
    await it.close();
  }
  return arr(out);
}

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

// ------------------------------------------------------------------ connection commands

function clientInfoLine(ctx: RespContext, c: RespClient): string {
  const now = Date.now();
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=-1 name=${c.name} age=${Math.floor((now - c.createdAt) / 1000)} ` +
    `idle=${Math.floor((now - c.lastAt) / 1000)} flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 ` +
    `argv-mem=0 multi-mem=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=${c.lastCmd} user=${c.user} redir=-1 ` +
    `resp=${c.proto} lib-name=${c.libName} lib-ver=${c.libVer} eau2-node=${ctx.host.selfId}\n`
  );
}

function validName(b: Buffer): boolean {
  for (const x of b) if (x < 0x21 || x > 0x7e) return false;
  return true;
}

function client(ctx: RespContext, c: RespClient, a: Buffer[]): Reply {
  const sub = upper(a[1]);
  const wrongArgs = () => err(`ERR wrong number of arguments for 'client|${sub.toLowerCase()}' command`);
  switch (sub) {
    case 'SETNAME':
      if (a.length !== 3) return wrongArgs();
      if (!validName(a[2]!)) return err('ERR Client names cannot contain spaces, newlines or special characters.');
      c.name = a[2]!.toString('latin1');
      return OK;
    case 'GETNAME':
      return a.length === 2 ? bulkOrNull(c.name || null) : wrongArgs();
    case 'ID':
      return a.length === 2 ? int(c.id) : wrongArgs();
    case 'INFO':
      return a.length === 2 ? { k: 'verb', fmt: 'txt', s: clientInfoLine(ctx, c) } : wrongArgs();
    case 'LIST':
      return { k: 'verb', fmt: 'txt', s: [...ctx.clients.values()].map((x) => clientInfoLine(ctx, x)).join('') };
    case 'SETINFO': {
      if (a.length !== 4) return wrongArgs();
      const what = upper(a[2]);
      if (!validName(a[3]!) && a[3]!.length > 0)
        return err(
          `ERR ${what === 'LIB-NAME' ? 'lib-name' : 'lib-ver'} cannot contain spaces, newlines or special characters.`,
        );
      if (what === 'LIB-NAME') c.libName = a[3]!.toString('latin1');
      else if (what === 'LIB-VER') c.libVer = a[3]!.toString('latin1');
      else return err(`ERR Unrecognized option '${a[2]!.toString('latin1').slice(0, 64)}'`);
      return OK;
    }
    default:
      return err(
        `ERR unknown subcommand '${(a[1] ?? Buffer.alloc(0)).toString('latin1').slice(0, 128)}'. Try CLIENT HELP.`,
      );
  }
}

/** AUTH / HELLO AUTH: the token is the password; a username, if given, is not checked. */
function authenticate(ctx: RespContext, c: RespClient, token: Buffer): Reply | undefined {
  if (!ctx.host.security.authEnabled)
    return err(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  const who = ctx.host.security.tokens.verify(token.toString('utf8'));
  if (!who) {
    ctx.stats.authFailures++;
    return err('WRONGPASS invalid username-password pair or user is disabled.');
  }
  c.role = who.role;
  c.user = who.name;
  return undefined;
}

function hello(ctx: RespContext, c: RespClient, a: Buffer[]): Reply {
  let proto = c.proto;
  if (a.length >= 2) {
    const n = int64(a[1]!.toString('latin1'));
    if (n === undefined) return err('ERR Protocol version is not an integer or out of range');
    if (n !== 2n && n !== 3n) return err('NOPROTO unsupported protocol version');
    proto = Number(n) as 2 | 3;
  }
  let name: string | undefined;
  for (let i = 2; i < a.length; i++) {
    const opt = upper(a[i]);
    if (opt === 'AUTH' && i + 2 < a.length) {
      const e = authenticate(ctx, c, a[i + 2]!);
      if (e) return e;
      i += 2;
    } else if (opt === 'SETNAME' && i + 1 < a.length) {
      if (!validName(a[i + 1]!)) return err('ERR Client names cannot contain spaces, newlines or special characters.');
      name = a[i + 1]!.toString('latin1');
      i++;
    } else return err(`ERR Syntax error in HELLO option '${a[i]!.toString('latin1').slice(0, 64)}'`);
  }
  if (ctx.host.security.authEnabled && c.role === undefined)
    return err(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  if (name !== undefined) c.name = name;
  c.proto = proto;
  return textMap({
    server: bulk('redis'),
    version: bulk(ctx.redisVersion),
    proto: int(proto),
    id: int(c.id),
    mode: bulk('standalone'),
    role: bulk('master'),
    modules: arr([]),
  });
}

async function wait(ctx: RespContext, c: RespClient, a: Buffer[]): Promise<Reply> {
  const want = argSafeInt(a[1]!);
  const timeout = argSafeInt(a[2]!);
  if (timeout < 0) return err('ERR timeout is negative');
  return int(await ctx.waitReplicas(c, want, timeout));
}

// ------------------------------------------------------------------ the table

const r = (arity: number, need: Need, run: CommandSpec['run'], preAuth = false): CommandSpec => ({
  arity,
  need,
  run,
  preAuth,
});

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  [
    'PING',
    r(-1, 'conn', (_x, _c, a) =>
      a.length > 2 ? err("ERR wrong number of arguments for 'ping' command") : a[1] ? bulk(a[1]) : simple('PONG'),
    ),
  ],
  ['ECHO', r(2, 'conn', (_x, _c, a) => bulk(a[1]!))],
  ['HELLO', r(-1, 'conn', hello, true)],
  [
    'AUTH',
    r(
      -2,
      'conn',
      (ctx, c, a) => {
        if (a.length > 3) return err(SYNTAX);
        return authenticate(ctx, c, a[a.length - 1]!) ?? OK;
      },
      true,
    ),
  ],
  [
    'SELECT',
    r(2, 'conn', (_x, _c, a) => {
      const n = argInt(a[1]!);
      return n === 0n ? OK : err('ERR DB index is out of range');
    }),
  ],
  ['CLIENT', r(-2, 'conn', client)],
  [
    'COMMAND',
    r(-1, 'conn', (_x, _c, a) => {
      const sub = upper(a[1]);
      if (a.length === 1) return commandInfo();
      if (sub === 'COUNT') return int(commandCount());
      if (sub === 'DOCS') return commandDocs(a.slice(2).map((x) => x.toString('latin1').toLowerCase()));
      if (sub === 'INFO') return commandInfo(a.slice(2).map((x) => x.toString('latin1').toLowerCase()));
      return err(`ERR unknown subcommand '${a[1]!.toString('latin1').slice(0, 128)}'. Try COMMAND HELP.`);
    }),
  ],
  [
    'CONFIG',
    r(-2, 'read', (_x, _c, a) => {
      if (upper(a[1]) !== 'GET')
        return err(`ERR unknown subcommand '${a[1]!.toString('latin1').slice(0, 128)}'. Try CONFIG HELP.`);
      // Only what tools ask for (redis-benchmark: save, appendonly); eau2 is configured by its own file.
      const known: Record<string, string> = { save: '', appendonly: 'no', databases: '1' };
      const out: Reply[] = [];
      for (const p of a.slice(2)) {
        const name = p.toString('latin1').toLowerCase();
        for (const [k, v] of Object.entries(known))
          if (globMatch(Buffer.from(name), Buffer.from(k))) out.push(bulk(k), bulk(v));
      }
      return _c.proto === 3 ? { k: 'map', m: pairs(out) } : arr(out);
    }),
  ],
  [
    'INFO',
    r(-1, 'read', async (ctx, c, a) => ({
      k: 'verb',
      fmt: 'txt',
      s: await infoText(
        ctx,
        c,
        a.slice(1).map((x) => x.toString('latin1').toLowerCase()),
      ),
    })),
  ],
  ['DBSIZE', r(1, 'read', async (ctx, c) => int((await ctx.countKeys(c)).keys))],
  [
    'QUIT',
    r(
      -1,
      'conn',
      (_x, c) => {
        c.closeAfterReply = true;
        return OK;
      },
      true,
    ),
  ],
  [
    'RESET',
    r(
      1,
      'conn',
      (ctx, c) => {
        c.proto = 2;
        c.name = '';
        c.wrote.clear();
        if (ctx.host.security.authEnabled) {
          c.role = undefined;
          c.user = 'default';
        }
        return simple('RESET');
      },
      true,
    ),
  ],
  ['WAIT', r(3, 'read', wait)],
  // strings
  ['GET', r(2, 'read', (ctx, _c, a) => getValue(ctx, a[1]!).then(bulkOrNull))],
  [
    'SET',
    r(-3, 'write', (ctx, c, a) =>
      a.length === 3 ? plainSet(ctx, c, a[1]!, a[2]!) : set(ctx, c, a[1]!, a[2]!, parseSetOptions(a, 3)),
    ),
  ],
  [
    'SETNX',
    r(3, 'write', async (ctx, c, a) => {
      const res = await runRmw(ctx, c, { t: 'set', k: a[1]!, v: a[2]!, cond: 'nx' }, [a[1]!]);
      return int(res.ok ? 1 : 0);
    }),
  ],
  [
    'GETDEL',
    r(2, 'write', async (ctx, c, a) => bulkOrNull((await runRmw(ctx, c, { t: 'getdel', k: a[1]! }, [a[1]!])).v)),
  ],
  [
    'GETEX',
    r(-2, 'write', async (ctx, c, a) => {
      const o = getexOptions(a);
      if (o.px === undefined && o.at === undefined && !o.persist) return bulkOrNull(await getValue(ctx, a[1]!));
      return bulkOrNull((await runRmw(ctx, c, { t: 'getex', k: a[1]!, ...o }, [a[1]!])).v);
    }),
  ],
  [
    'MGET',
    r(-2, 'read', async (ctx, _c, a) =>
      arr((await Promise.all(a.slice(1).map((k) => getValue(ctx, k)))).map(bulkOrNull)),
    ),
  ],
  [
    'MSET',
    r(-3, 'write', async (ctx, c, a) => {
      if (a.length % 2 === 0) return err("ERR wrong number of arguments for 'mset' command");
      const ops: [Uint8Array, Uint8Array][] = [];
      for (let i = 1; i < a.length; i += 2) ops.push([a[i]!, wrapValue(a[i + 1]!)]);
      noteWrite(
        ctx,
        c,
        ops.map((o) => o[0] as Buffer),
      );
      await ctx.host.router.writeMany(ops);
      return OK;
    }),
  ],
  [
    'MSETNX',
    r(-3, 'write', async (ctx, c, a) => {
      if (a.length % 2 === 0) return err("ERR wrong number of arguments for 'msetnx' command");
      const kv: [Uint8Array, Uint8Array][] = [];
      for (let i = 1; i < a.length; i += 2) kv.push([a[i]!, a[i + 1]!]);
      const res = await runRmw(
        ctx,
        c,
        { t: 'msetnx', kv },
        kv.map((x) => x[0] as Buffer),
      );
      return int(Number(res.n));
    }),
  ],
  ['DEL', r(-2, 'write', (ctx, c, a) => del(ctx, c, a.slice(1)))],
  ['UNLINK', r(-2, 'write', (ctx, c, a) => del(ctx, c, a.slice(1)))],
  [
    'EXISTS',
    r(-2, 'read', async (ctx, _c, a) => {
      const found = await Promise.all(a.slice(1).map((k) => ctx.host.router.get(k, 'leader')));
      return int(found.filter((v) => v !== undefined).length);
    }),
  ],
  ['STRLEN', r(2, 'read', async (ctx, _c, a) => int((await getValue(ctx, a[1]!))?.length ?? 0))],
  [
    'APPEND',
    r(3, 'write', async (ctx, c, a) =>
      int(Number((await runRmw(ctx, c, { t: 'append', k: a[1]!, v: a[2]! }, [a[1]!])).n)),
    ),
  ],
  ['INCR', r(2, 'write', (ctx, c, a) => incrBy(ctx, c, a[1]!, 1n))],
  ['DECR', r(2, 'write', (ctx, c, a) => incrBy(ctx, c, a[1]!, -1n))],
  ['INCRBY', r(3, 'write', (ctx, c, a) => incrBy(ctx, c, a[1]!, argInt(a[2]!)))],
  [
    'DECRBY',
    r(3, 'write', (ctx, c, a) => {
      const n = argInt(a[2]!);
      if (n === INT64_MIN) fail('ERR decrement would overflow');
      return incrBy(ctx, c, a[1]!, -n);
    }),
  ],
  [
    'INCRBYFLOAT',
    r(3, 'write', async (ctx, c, a) => {
      const t = a[2]!.toString('latin1');
      const by = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : Number.NaN;
      if (!Number.isFinite(by)) fail('ERR value is not a valid float');
      return bulk(String((await runRmw(ctx, c, { t: 'incrf', k: a[1]!, by }, [a[1]!])).n));
    }),
  ],
  // expiry
  ['EXPIRE', r(-3, 'write', (ctx, c, a) => expire(ctx, c, a, 1000, false, 'expire'))],
  ['PEXPIRE', r(-3, 'write', (ctx, c, a) => expire(ctx, c, a, 1, false, 'pexpire'))],
  ['EXPIREAT', r(-3, 'write', (ctx, c, a) => expire(ctx, c, a, 1000, true, 'expireat'))],
  ['PEXPIREAT', r(-3, 'write', (ctx, c, a) => expire(ctx, c, a, 1, true, 'pexpireat'))],
  [
    'TTL',
    r(2, 'read', async (ctx, _c, a) => {
      const n = Number((await rmw(ctx.host, { t: 'ttl', k: a[1]! })).n);
      return int(n < 0 ? n : Math.floor((n + 500) / 1000));
    }),
  ],
  ['PTTL', r(2, 'read', async (ctx, _c, a) => int(Number((await rmw(ctx.host, { t: 'ttl', k: a[1]! })).n)))],
  [
    'PERSIST',
    r(2, 'write', async (ctx, c, a) => int(Number((await runRmw(ctx, c, { t: 'persist', k: a[1]! }, [a[1]!])).n))),
  ],
  // keyspace
  ['SCAN', r(-2, 'read', (ctx, _c, a) => scan(ctx, a))],
  ['KEYS', r(2, 'read', (ctx, _c, a) => keys(ctx, a[1]!))],
]);

function pairs(flat: Reply[]): [Reply, Reply][] {
  const out: [Reply, Reply][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/** The reply for an error thrown by a command. */
export function errorReply(e: unknown): Reply {
  if (e instanceof ReplyError) return err(e.message);
  if (isEau2Error(e)) {
    const m = e.message;
    switch (e.code) {
      case ErrorCode.INVALID:
        return err(m.startsWith('CROSSSLOT ') ? m : `ERR ${m}`);
      case ErrorCode.UNAVAILABLE:
      case ErrorCode.NOT_LEADER:
      case ErrorCode.BUSY:
        return err(`TRYAGAIN ${m}`);
      case ErrorCode.FORBIDDEN:
        return err(`NOPERM ${m}`);
      default:
        return err(`ERR ${e.code} ${m}`);
    }
  }
  if (e instanceof TypeError) return err(`ERR ${e.message}`);
  return err(`ERR internal error: ${e instanceof Error ? e.message : String(e)}`);
}

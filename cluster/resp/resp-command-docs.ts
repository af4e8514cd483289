// COMMAND, COMMAND INFO, COMMAND COUNT and COMMAND DOCS for the commands eau2 serves: enough for
// redis-cli's hints and for clients that look up key positions. The table states each command's
// arity and key positions as Redis does (COMMAND's reply, Redis 7 layout), and its arguments in the
// shape of COMMAND DOCS.

import { arr, bulk, int, map, type Reply, simple } from './resp-reply.js';

interface Arg {
  name: string;
  type: 'key' | 'string' | 'integer' | 'double' | 'pattern' | 'unix-time' | 'pure-token' | 'oneof' | 'block';
  token?: string;
  optional?: boolean;
  multiple?: boolean;
  args?: Arg[];
}

interface Doc {
  arity: number;
  flags: string[];
  keys: [first: number, last: number, step: number];
  group: string;
  since: string;
  summary: string;
  complexity: string;
  args: Arg[];
}

const key: Arg = { name: 'key', type: 'key' };
const keys: Arg = { name: 'key', type: 'key', multiple: true };
const value: Arg = { name: 'value', type: 'string' };
const tok = (t: string): Arg => ({ name: t.toLowerCase(), type: 'pure-token', token: t });
const opt = (a: Arg): Arg => ({ ...a, optional: true });
const oneof = (name: string, args: Arg[], optional = true): Arg => ({ name, type: 'oneof', optional, args });
const tokArg = (t: string, name: string, type: Arg['type']): Arg => ({ name, type, token: t });
const expiryChoice = (withKeep: boolean, persist = false): Arg =>
  oneof('expiration', [
    tokArg('EX', 'seconds', 'integer'),
    tokArg('PX', 'milliseconds', 'integer'),
    tokArg('EXAT', 'unix-time-seconds', 'unix-time'),
    tokArg('PXAT', 'unix-time-milliseconds', 'unix-time'),
    ...(withKeep ? [tok('KEEPTTL')] : []),
    ...(persist ? [tok('PERSIST')] : []),
  ]);
const condition = oneof('condition', [tok('NX'), tok('XX'), tok('GT'), tok('LT')]);

const d = (
  arity: number,
  flags: string[],
  k: [number, number, number],
  group: string,
  since: string,
  summary: string,
  complexity: string,
  args: Arg[],
): Doc => ({ arity, flags, keys: k, group, since, summary, complexity, args });

const NOKEY: [number, number, number] = [0, 0, 0];
const ONE: [number, number, number] = [1, 1, 1];
const ALL: [number, number, number] = [1, -1, 1];
const PAIRS: [number, number, number] = [1, -1, 2];
const W = ['write', 'denyoom'];
const R = ['readonly', 'fast'];
const C = ['fast', 'stale', 'loading'];

const DOCS: Record<string, Doc> = {
  ping: d(-1, C, NOKEY, 'connection', '1.0.0', "Returns the server's liveliness response.", 'O(1)', [
    opt({ name: 'message', type: 'string' }),
  ]),
  echo: d(2, C, NOKEY, 'connection', '1.0.0', 'Returns the given string.', 'O(1)', [
    { name: 'message', type: 'string' },
  ]),
  hello: d(-1, C, NOKEY, 'connection', '6.0.0', 'Handshakes with the server (RESP2 or RESP3).', 'O(1)', [
    opt({ name: 'arguments', type: 'block', args: [{ name: 'protover', type: 'integer' }] }),
  ]),
  auth: d(-2, C, NOKEY, 'connection', '1.0.0', 'Authenticates the connection with an eau2 token.', 'O(1)', [
    opt({ name: 'username', type: 'string' }),
    { name: 'password', type: 'string' },
  ]),
  select: d(2, C, NOKEY, 'connection', '1.0.0', 'Selects database 0 (the only one).', 'O(1)', [
    { name: 'index', type: 'integer' },
  ]),
  client: d(-2, ['slow'], NOKEY, 'connection', '2.4.0', 'SETNAME, GETNAME, ID, INFO, LIST, SETINFO.', 'O(1)', [
    { name: 'subcommand', type: 'string' },
  ]),
  command: d(
    -1,
    ['slow', 'loading', 'stale'],
    NOKEY,
    'server',
    '2.8.13',
    'Describes the commands (COUNT, DOCS, INFO).',
    'O(N)',
    [],
  ),
  config: d(-2, ['slow'], NOKEY, 'server', '2.0.0', 'CONFIG GET of the few parameters tools ask for.', 'O(1)', [
    { name: 'subcommand', type: 'string' },
  ]),
  info: d(
    -1,
    ['slow', 'loading', 'stale'],
    NOKEY,
    'server',
    '1.0.0',
    'Node and cluster figures in Redis sections.',
    'O(N) for keyspace',
    [opt({ name: 'section', type: 'string', multiple: true })],
  ),
  dbsize: d(1, ['readonly'], NOKEY, 'server', '1.0.0', 'Counts the keys (a full scan in eau2).', 'O(N)', []),
  quit: d(-1, C, NOKEY, 'connection', '1.0.0', 'Closes the connection.', 'O(1)', []),
  reset: d(1, C, NOKEY, 'connection', '6.2.0', 'Resets the connection.', 'O(1)', []),
  wait: d(
    3,
    ['slow'],
    NOKEY,
    'generic',
    '3.0.0',
    "Waits for the followers to acknowledge this connection's writes.",
    'O(1)',
    [
      { name: 'numreplicas', type: 'integer' },
      { name: 'timeout', type: 'integer' },
    ],
  ),
  get: d(2, R, ONE, 'string', '1.0.0', 'Returns the string value of a key.', 'O(1)', [key]),
  set: d(-3, W, ONE, 'string', '1.0.0', 'Sets the string value of a key, with expiry and conditions.', 'O(1)', [
    key,
    value,
    oneof('condition', [tok('NX'), tok('XX')]),
    opt(tok('GET')),
    expiryChoice(true),
  ]),
  setnx: d(3, [...W, 'fast'], ONE, 'string', '1.0.0', 'Sets a key only if it does not exist.', 'O(1)', [key, value]),
  getdel: d(2, ['write', 'fast'], ONE, 'string', '6.2.0', 'Returns a key and deletes it.', 'O(1)', [key]),
  getex: d(-2, ['write', 'fast'], ONE, 'string', '6.2.0', 'Returns a key and sets or clears its expiry.', 'O(1)', [
    key,
    expiryChoice(false, true),
  ]),
  mget: d(-2, R, ALL, 'string', '1.0.0', 'Returns the values of keys.', 'O(N)', [keys]),
  mset: d(-3, W, PAIRS, 'string', '1.0.1', 'Sets keys (atomic per partition).', 'O(N)', [
    { name: 'data', type: 'block', multiple: true, args: [key, value] },
  ]),
  msetnx: d(-3, W, PAIRS, 'string', '1.0.1', 'Sets keys of one partition only if none exists.', 'O(N)', [
    { name: 'data', type: 'block', multiple: true, args: [key, value] },
  ]),
  del: d(-2, ['write'], ALL, 'generic', '1.0.0', 'Deletes keys.', 'O(N)', [keys]),
  unlink: d(-2, ['write', 'fast'], ALL, 'generic', '4.0.0', 'Deletes keys.', 'O(N)', [keys]),
  exists: d(-2, R, ALL, 'generic', '1.0.0', 'Counts the keys that exist.', 'O(N)', [keys]),
  strlen: d(2, R, ONE, 'string', '2.2.0', 'Returns the length of a value.', 'O(1)', [key]),
  append: d(3, [...W, 'fast'], ONE, 'string', '2.0.0', 'Appends to a value.', 'O(1)', [key, value]),
  incr: d(2, [...W, 'fast'], ONE, 'string', '1.0.0', 'Increments an integer value by one.', 'O(1)', [key]),
  decr: d(2, [...W, 'fast'], ONE, 'string', '1.0.0', 'Decrements an integer value by one.', 'O(1)', [key]),
  incrby: d(3, [...W, 'fast'], ONE, 'string', '1.0.0', 'Increments an integer value.', 'O(1)', [
    key,
    { name: 'increment', type: 'integer' },
  ]),
  decrby: d(3, [...W, 'fast'], ONE, 'string', '1.0.0', 'Decrements an integer value.', 'O(1)', [
    key,
    { name: 'decrement', type: 'integer' },
  ]),
  incrbyfloat: d(3, [...W, 'fast'], ONE, 'string', '2.6.0', 'Increments a floating point value.', 'O(1)', [
    key,
    { name: 'increment', type: 'double' },
  ]),
  expire: d(-3, ['write', 'fast'], ONE, 'generic', '1.0.0', "Sets a key's time to live in seconds.", 'O(1)', [
    key,
    { name: 'seconds', type: 'integer' },
    condition,
  ]),
  pexpire: d(-3, ['write', 'fast'], ONE, 'generic', '2.6.0', "Sets a key's time to live in milliseconds.", 'O(1)', [
    key,
    { name: 'milliseconds', type: 'integer' },
    condition,
  ]),
  expireat: d(
    -3,
    ['write', 'fast'],
    ONE,
    'generic',
    '1.2.0',
    "Sets a key's expiry as a Unix time in seconds.",
    'O(1)',
    [key, { name: 'unix-time-seconds', type: 'unix-time' }, condition],
  ),
  pexpireat: d(
    -3,
    ['write', 'fast'],
    ONE,
    'generic',
    '2.6.0',
    "Sets a key's expiry as a Unix time in milliseconds.",
    'O(1)',
    [key, { name: 'unix-time-milliseconds', type: 'unix-time' }, condition],
  ),
  ttl: d(2, R, ONE, 'generic', '1.0.0', "Returns a key's time to live in seconds (the leader's clock).", 'O(1)', [key]),
  pttl: d(2, R, ONE, 'generic', '2.6.0', "Returns a key's time to live in milliseconds.", 'O(1)', [key]),
  persist: d(2, ['write', 'fast'], ONE, 'generic', '2.2.0', "Removes a key's expiry.", 'O(1)', [key]),
  scan: d(-2, ['readonly'], NOKEY, 'generic', '2.8.0', 'Iterates over the keys, in key order.', 'O(1) per call', [
    { name: 'cursor', type: 'integer' },
    opt(tokArg('MATCH', 'pattern', 'pattern')),
    opt(tokArg('COUNT', 'count', 'integer')),
    opt(tokArg('TYPE', 'type', 'string')),
  ]),
  keys: d(
    2,
    ['readonly'],
    NOKEY,
    'generic',
    '1.0.0',
    'Returns the keys matching a pattern (slow: a full scan).',
    'O(N)',
    [{ name: 'pattern', type: 'pattern' }],
  ),
};

export function commandCount(): number {
  return Object.keys(DOCS).length;
}

const ACL_GROUP: Record<string, string> = {
  string: '@string',
  generic: '@keyspace',
  connection: '@connection',
  server: '@admin',
};

function infoOf(name: string, doc: Doc): Reply {
  return arr([
    bulk(name),
    int(doc.arity),
    { k: 'set', a: doc.flags.map(simple) },
    int(doc.keys[0]),
    int(doc.keys[1]),
    int(doc.keys[2]),
    { k: 'set', a: [simple(ACL_GROUP[doc.group] ?? '@slow')] },
    arr([]),
    arr([]),
    arr([]),
  ]);
}

/** COMMAND (all) or COMMAND INFO names (a null for an unknown name). */
export function commandInfo(names?: string[]): Reply {
  if (names === undefined) return arr(Object.entries(DOCS).map(([n, doc]) => infoOf(n, doc)));
  return arr(names.map((n) => (DOCS[n] ? infoOf(n, DOCS[n]) : { k: 'nullarr' })));
}

function argDoc(a: Arg): Reply {
  const m: [Reply, Reply][] = [
    [bulk('name'), bulk(a.name)],
    [bulk('type'), bulk(a.type)],
  ];
  if (a.token) m.push([bulk('token'), bulk(a.token)]);
  const flags = [...(a.optional ? ['optional'] : []), ...(a.multiple ? ['multiple'] : [])];
  if (flags.length > 0) m.push([bulk('flags'), { k: 'set', a: flags.map(simple) }]);
  if (a.args) m.push([bulk('arguments'), arr(a.args.map(argDoc))]);
  return map(m);
}

/** COMMAND DOCS [names]: every command when none is named; unknown names are left out. */
export function commandDocs(names: string[]): Reply {
  const chosen = names.length === 0 ? Object.keys(DOCS) : names.filter((n) => DOCS[n]);
  return map(
    chosen.map((n) => {
      const doc = DOCS[n]!;
      return [
        bulk(n),
        map([
          [bulk('summary'), bulk(doc.summary)],
          [bulk('since'), bulk(doc.since)],
          [bulk('group'), bulk(doc.group)],
          [bulk('complexity'), bulk(doc.complexity)],
          [bulk('arguments'), arr(doc.args.map(argDoc))],
        ]),
      ];
    }),
  );
}

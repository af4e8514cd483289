// The RESP request decoder (cluster/resp/resp-decoder.ts): a pipelined stream of array and inline
// commands decodes to the same commands however TCP splits it (every single split offset, and
// seeded random splits of a long stream); random bytes only ever end in RespProtocolError (never
// another exception, never more memory than the limits); each limit is refused with Redis's text.
// EAU2_SEED=<n> replays a failing seed (printed on failure).

import { describe, expect, it } from 'vitest';
import { RespDecoder, RespProtocolError, splitInline } from '../../../cluster/resp/resp-decoder.js';
import { seededRng } from '../../engine/vfs/seeded-random.js';

const LIMITS = { maxBulkBytes: 1 << 20, maxArgs: 1000, maxCommandBytes: 2 << 20, maxInlineBytes: 1024 };
const SEED = Number(process.env.EAU2_SEED ?? 1706);

function encode(args: (string | Buffer)[]): Buffer {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function decodeAll(chunks: Buffer[], limits = LIMITS): string[][] {
  const d = new RespDecoder(limits);
  const out: string[][] = [];
  for (const c of chunks) d.push(c, (args) => out.push(args.map((a) => a.toString('latin1'))));
  expect(d.buffered).toBe(0);
  return out;
}

const COMMANDS: (string | Buffer)[][] = [
  ['SET', 'key', 'value'],
  ['GET', 'key'],
  ['SET', 'bin', Buffer.from([0, 13, 10, 255, 36, 42])],
  ['SET', 'empty', ''],
  ['MSET', 'a', '1', 'b', '2'],
  ['PING'],
];
const STREAM = Buffer.concat([
  ...COMMANDS.map(encode),
  Buffer.from('PING\r\n'),
  Buffer.from('set "a b" \'c d\' "x\\x41\\n"\n'),
  Buffer.from('\r\n'), // an empty inline line is ignored
  Buffer.from('*0\r\n*-1\r\n'), // empty and null arrays are ignored
  encode(['ECHO', 'x'.repeat(70_000)]), // gathered from its chunks
]);
const EXPECTED = [
  ...COMMANDS.map((c) => c.map((a) => Buffer.from(a).toString('latin1'))),
  ['PING'],
  ['set', 'a b', 'c d', 'xA\n'],
  ['ECHO', 'x'.repeat(70_000)],
];

describe('RESP decoder', () => {
  it('decodes a pipeline in one piece', () => {
    expect(decodeAll([STREAM])).toEqual(EXPECTED);
  });

  it('decodes the same at every single split offset', () => {
    for (let i = 0; i <= STREAM.length; i += i < 200 || i > STREAM.length - 200 ? 1 : 97) {
      expect(decodeAll([STREAM.subarray(0, i), STREAM.subarray(i)]), `split at ${i}`).toEqual(EXPECTED);
    }
  });

  it('decodes the same one byte at a time and under seeded random splits', () => {
    const head = Buffer.concat(COMMANDS.map(encode));
    const bytes = [...head].map((b) => Buffer.of(b));
    expect(decodeAll(bytes)).toEqual(decodeAll([head]));
    const r = seededRng(SEED);
    const rng = () => r.next();
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < STREAM.length; ) {
        const n = 1 + Math.floor(rng() * (rng() < 0.5 ? 16 : 9000));
        chunks.push(STREAM.subarray(at, at + n));
        at += n;
      }
      expect(decodeAll(chunks), `seed ${SEED} round ${round}`).toEqual(EXPECTED);
    }
  });

  it('refuses each limit and malformed frame with Redis text, then refuses everything', () => {
    const cases: [string, string][] = [
      ['*1001\r\n', 'Protocol error: invalid multibulk length'],
      ['*abc\r\n', 'Protocol error: invalid multibulk length'],
      ['*2\r\n$3\r\nGET\r\n+x\r\n', "Protocol error: expected '$', got '+'"],
      [`*1\r\n$${(1 << 20) + 1}\r\n`, 'Protocol error: invalid bulk length'],
      ['*1\r\n$-1\r\n', 'Protocol error: invalid bulk length'],
      ['*1\r\n$3\r\nGETxx', 'Protocol error: expected CRLF after a bulk string'],
      [`*${'9'.repeat(1100)}`, 'Protocol error: too big mbulk count string'],
      [`GET ${'k'.repeat(1100)}`, 'Protocol error: too big inline request'],
      ['GET "unterminated\r\n', 'Protocol error: unbalanced quotes in request'],
      ['GET "a"b\r\n', 'Protocol error: unbalanced quotes in request'],
    ];
    for (const [input, message] of cases) {
      const d = new RespDecoder(LIMITS);
      expect(() => d.push(Buffer.from(input), () => {}), input.slice(0, 40)).toThrow(message);
      expect(() => d.push(Buffer.from('PING\r\n'), () => {})).toThrow(RespProtocolError);
    }
    // The sum of a command's arguments is capped too.
    const d = new RespDecoder({ ...LIMITS, maxCommandBytes: 100 });
    expect(() => d.push(encode(['SET', 'k', 'v'.repeat(101)]), () => {})).toThrow('command larger than 100 bytes');
  });

  it('random bytes end in a protocol error or commands, never another failure, within the limits', () => {
    const r = seededRng(SEED + 1);
    const rng = () => r.next();
    const alphabet = Buffer.from('*$\r\n0123456789-+ "\'\\xabGETSET');
    let errors = 0;
    for (let round = 0; round < 2000; round++) {
      const d = new RespDecoder(LIMITS);
      const n = 1 + Math.floor(rng() * 300);
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++)
        b[i] = rng() < 0.7 ? alphabet[Math.floor(rng() * alphabet.length)]! : Math.floor(rng() * 256);
      try {
        for (let at = 0; at < n; ) {
          const k = 1 + Math.floor(rng() * 40);
          d.push(b.subarray(at, at + k), (args) => expect(args.length).toBeGreaterThan(0));
          at += k;
          expect(d.buffered).toBeLessThanOrEqual(LIMITS.maxCommandBytes + LIMITS.maxInlineBytes + 40);
        }
      } catch (e) {
        if (!(e instanceof RespProtocolError)) throw new Error(`seed ${SEED + 1} round ${round}: ${String(e)}`);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(100);
  });

  it('splits inline commands as Redis does', () => {
    const s = (t: string) => splitInline(Buffer.from(t)).map((b) => b.toString('latin1'));
    expect(s('  SET  k   v ')).toEqual(['SET', 'k', 'v']);
    expect(s('SET k "a\\tb\\\\c\\"d"')).toEqual(['SET', 'k', 'a\tb\\c"d']);
    expect(s("SET k 'it\\'s'")).toEqual(['SET', 'k', "it's"]);
    expect(s('SET k ""')).toEqual(['SET', 'k', '']);
    expect(s('SET k "\\xff\\x00"')).toEqual(['SET', 'k', '\xff\x00']);
    expect(s('')).toEqual([]);
  });
});

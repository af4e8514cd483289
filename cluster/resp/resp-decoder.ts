// The Redis protocol's request side (RESP, https://redis.io/docs/reference/protocol-spec/): commands
// arrive as arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or as inline lines (`GET k`,
// what telnet users type), pipelined, split anywhere by TCP. The decoder resumes mid-frame, holds at
// most one command's bytes (the limits below, as Redis's proto-max-bulk-len and multibulk caps) and
// answers a malformed frame with Redis's own "Protocol error" text, after which the connection is
// closed, as Redis does.
//
// Written here rather than taken from `redis-parser` (3.0.0, last published 2017): that parser reads
// replies, keeps whatever a bulk length announces without a cap, and knows no inline commands. This
// one is tested by splitting valid streams at every offset and by seeded random bytes
// (test/cluster/resp/resp-decoder.test.ts).

export interface RespDecoderLimits {
  /** Largest bulk string (one argument), bytes. Redis: proto-max-bulk-len, 512 MiB. */
  maxBulkBytes: number;
  /** Most arguments in one command. Redis: 1,048,576. */
  maxArgs: number;
  /** Sum of one command's argument bytes. */
  maxCommandBytes: number;
  /** Longest inline command line (and array/bulk header line), bytes. Redis: 64 KiB. */
  maxInlineBytes: number;
}

/** Malformed input: the text Redis sends after "-ERR " before closing the connection. */
export class RespProtocolError extends Error {
  constructor(what: string) {
    super(`Protocol error: ${what}`);
    this.name = 'RespProtocolError';
  }
}

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);
/** A bulk this large is gathered from its chunks once, instead of re-joining the buffer on each. */
const GATHER_BYTES = 64 * 1024;

export class RespDecoder {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** The command being read: its arguments so far, how many remain, their bytes. */
  private args: Buffer[] | null = null;
  private argsLeft = 0;
  private argBytes = 0;
  /** Length of the bulk being read (-1: expecting its `$` header). */
  private bulkLen = -1;
  /** A large bulk's chunks (their bytes include the trailing CRLF once complete). */
  private parts: Buffer[] = [];
  private partBytes = 0;
  private failed = false;

  constructor(private readonly limits: RespDecoderLimits) {}

  /** Bytes held: unparsed input and the current command's arguments. */
  get buffered(): number {
    return this.buf.length - this.pos + this.partBytes + this.argBytes;
  }

  /**
   * Feeds bytes; calls `onCommand` for each complete command, in order. Throws RespProtocolError
   * on malformed input; the decoder then refuses everything (the connection is to be closed).
   */
  push(chunk: Buffer, onCommand: (args: Buffer[]) => void): void {
    if (this.failed) throw new RespProtocolError('connection already failed');
    try {
      this.feed(chunk, onCommand);
    } catch (e) {
      this.failed = true;
      this.buf = EMPTY;
      this.parts = [];
      this.args = null;
      throw e;
    }
  }

  private feed(chunk: Buffer, onCommand: (args: Buffer[]) => void): void {
    let data = chunk;
    if (this.parts.length > 0) {
      const need = this.bulkLen + 2 - this.partBytes;
      if (data.length < need) {
        this.parts.push(data);
        this.partBytes += data.length;
        return;
      }
      this.parts.push(data.subarray(0, need));
      const whole = Buffer.concat(this.parts, this.bulkLen + 2);
      this.parts = [];
      this.partBytes = 0;
      data = data.subarray(need);
      this.endBulk(whole, 0, onCommand);
    }
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), data]) : data;
    this.pos = 0;
    const buf = this.buf;
    for (;;) {
      if (this.args === null) {
        if (this.pos >= buf.length) break;
        if (buf[this.pos] === 0x2a /* * */) {
          const n = this.readNumberLine(buf, 'too big mbulk count string');
          if (n === undefined) break;
          if (!Number.isSafeInteger(n) || n > this.limits.maxArgs)
            throw new RespProtocolError('invalid multibulk length');
          if (n <= 0) continue; // Redis ignores an empty or null array
          this.args = [];
          this.argsLeft = n;
          this.argBytes = 0;
          continue;
        }
        const nl = buf.indexOf(LF, this.pos);
        if (nl < 0) {
          if (buf.length - this.pos > this.limits.maxInlineBytes) throw new RespProtocolError('too big inline request');
          break;
        }
        if (nl - this.pos > this.limits.maxInlineBytes) throw new RespProtocolError('too big inline request');
        const end = nl > this.pos && buf[nl - 1] === CR ? nl - 1 : nl;
        const line = buf.subarray(this.pos, end);
        this.pos = nl + 1;
        const args = splitInline(line);
        if (args.length > this.limits.maxArgs) throw new RespProtocolError('invalid multibulk length');
        if (args.length > 0) onCommand(args);
        continue;
      }
      if (this.bulkLen < 0) {
        if (this.pos >= buf.length) break;
        if (buf[this.pos] !== 0x24 /* $ */)
          throw new RespProtocolError(`expected '$', got '${String.fromCharCode(buf[this.pos]!)}'`);
        const n = this.readNumberLine(buf, 'too big bulk count string');
        if (n === undefined) break;
        if (!Number.isSafeInteger(n) || n < 0 || n > this.limits.maxBulkBytes)
          throw new RespProtocolError('invalid bulk length');
        if (this.argBytes + n > this.limits.maxCommandBytes)
          throw new RespProtocolError(`command larger than ${this.limits.maxCommandBytes} bytes`);
        this.bulkLen = n;
      }
      const avail = buf.length - this.pos;
      if (avail >= this.bulkLen + 2) {
        const at = this.pos;
        this.pos += this.bulkLen + 2;
        this.endBulk(buf, at, onCommand);
        continue;
      }
      if (this.bulkLen + 2 > GATHER_BYTES) {
        // Keep the chunks as they come and join them once (feed's first branch).
        const rest = buf.subarray(this.pos);
        this.parts = [rest];
        this.partBytes = rest.length;
        this.buf = EMPTY;
        this.pos = 0;
        return;
      }
      break;
    }
    if (this.pos >= this.buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    }
  }

  /** Takes the bulk at `buf[at..]` (bulkLen bytes then CRLF) as the next argument. */
  private endBulk(buf: Buffer, at: number, onCommand: (args: Buffer[]) => void): void {
    const n = this.bulkLen;
    if (buf[at + n] !== CR || buf[at + n + 1] !== LF) throw new RespProtocolError('expected CRLF after a bulk string');
    // A copy: the argument may outlive the socket's chunk (a queued command), which it would pin.
    this.args!.push(Buffer.from(buf.subarray(at, at + n)));
    this.argBytes += n;
    this.bulkLen = -1;
    if (--this.argsLeft === 0) {
      const args = this.args!;
      this.args = null;
      this.argBytes = 0;
      onCommand(args);
    }
  }

  /**
   * The integer on the header line at pos (after its type byte), moving past the line; undefined
   * if the line is not complete yet. A header line must end in CRLF.
   */
  private readNumberLine(buf: Buffer, tooBig: string): number | undefined {
    const nl = buf.indexOf(LF, this.pos);
    if (nl < 0) {
      if (buf.length - this.pos > this.limits.maxInlineBytes) throw new RespProtocolError(tooBig);
      return undefined;
    }
    if (nl - this.pos > this.limits.maxInlineBytes) throw new RespProtocolError(tooBig);
    if (buf[nl - 1] !== CR)
      throw new RespProtocolError(tooBig.includes('mbulk') ? 'invalid multibulk length' : 'invalid bulk length');
    const n = parseHeaderNumber(buf, this.pos + 1, nl - 1);
    this.pos = nl + 1;
    return n;
  }
}

/**
 * The integer in buf[from..to): an optional '-' then 1 to 18 digits; NaN otherwise. Read in place:
 * every command has one header line per argument, and this is the decoder's hot loop.
 */
function parseHeaderNumber(buf: Buffer, from: number, to: number): number {
  let i = from;
  const neg = buf[i] === 0x2d; /* - */
  if (neg) i++;
  const digits = to - i;
  if (digits < 1 || digits > 18) return Number.NaN;
  let n = 0;
  for (; i < to; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

const HEX = /^[0-9a-fA-F]$/;

/**
 * Splits an inline command as Redis's sdssplitargs does: spaces separate arguments; "double quotes"
 * take \n \r \t \b \a \\ \" and \xHH escapes; 'single quotes' take \'; a closing quote must be
 * followed by a space or the end of the line.
 */
export function splitInline(line: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const s = line;
  let i = 0;
  const isSpace = (c: number | undefined) =>
    c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
  for (;;) {
    while (i < s.length && isSpace(s[i])) i++;
    if (i >= s.length) return out;
    const cur: number[] = [];
    let inDq = false;
    let inSq = false;
    for (;;) {
      const c = s[i];
      if (inDq) {
        if (c === undefined) throw new RespProtocolError('unbalanced quotes in request');
        if (
          c === 0x5c /* \ */ &&
          s[i + 1] === 0x78 /* x */ &&
          HEX.test(String.fromCharCode(s[i + 2] ?? 0)) &&
          HEX.test(String.fromCharCode(s[i + 3] ?? 0))
        ) {
          cur.push(Number.parseInt(String.fromCharCode(s[i + 2]!, s[i + 3]!), 16));
          i += 3;
        } else if (c === 0x5c && s[i + 1] !== undefined) {
          i++;
          const e = s[i]!;
          const map: Record<number, number> = { 110: 10, 114: 13, 116: 9, 98: 8, 97: 7 };
          cur.push(map[e] ?? e);
        } else if (c === 0x22 /* " */) {
          if (i + 1 < s.length && !isSpace(s[i + 1])) throw new RespProtocolError('unbalanced quotes in request');
          inDq = false;
          i++;
          break;
        } else cur.push(c);
      } else if (inSq) {
        if (c === undefined) throw new RespProtocolError('unbalanced quotes in request');
        if (c === 0x5c && s[i + 1] === 0x27 /* ' */) {
          i++;
          cur.push(0x27);
        } else if (c === 0x27) {
          if (i + 1 < s.length && !isSpace(s[i + 1])) throw new RespProtocolError('unbalanced quotes in request');
          inSq = false;
          i++;
          break;
        } else cur.push(c);
      } else {
        if (c === undefined || isSpace(c)) break;
        if (c === 0x22) inDq = true;
        else if (c === 0x27) inSq = true;
        else cur.push(c);
      }
      i++;
    }
    out.push(Buffer.from(cur));
  }
}

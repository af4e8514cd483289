// What the RESP commands share: the node they run on (RespHost), each connection's state
// (RespClient), the node-wide counters INFO reports, the SCAN cursor table, and the limits that keep
// a connection's memory bounded (docs/api.md, "Redis protocol: limits").

import { MsgType } from '../protocol/messages.js';
import { storedExpiry } from '../protocol/stored-value.js';
import type { RmwHost } from '../node/rmw.js';
import type { ClusterConfig } from '../config.js';
import type { Role, TokenSet } from '../security/tokens.js';

/** What the RESP server needs of the node (NodeServer is one). */
export interface RespHost extends RmwHost {
  readonly config: ClusterConfig;
  readonly security: { readonly authEnabled: boolean; readonly tokens: TokenSet };
  leaderState(): { p: number; lsn: number; followers: { id: string; acked: number; lagSeconds: number }[] }[];
  followerState(): { p: number; lsn: number; resyncs: number }[];
  engineStats(): Record<string, number>;
}

export interface RespLimits {
  /** Largest argument (bulk string), bytes. */
  maxBulkBytes: number;
  /** Most arguments in one command. */
  maxArgs: number;
  /** Sum of one command's argument bytes. */
  maxCommandBytes: number;
  /** Longest inline command (and header line). */
  maxInlineBytes: number;
  /** Commands read ahead of the one running (pipelining); reading pauses past it. */
  maxQueuedCommands: number;
  /** Bytes of queued commands' arguments; reading pauses past it. */
  maxQueuedBytes: number;
  /** Replies waiting in the socket past which commands stop running until it drains. */
  replyBufferSoftBytes: number;
  /** Replies waiting in the socket past which the connection is closed (a client that never reads). */
  replyBufferHardBytes: number;
  /** How long commands may stay paused over replyBufferSoftBytes before the connection is closed, ms. */
  replyStallMs: number;
  /** DBSIZE / INFO keyspace wait for a new key count only while the last one took less than this, ms. */
  keyCountWaitMs: number;
  /** Most keys KEYS answers with (an error past it: use SCAN). */
  maxKeysReply: number;
  /** SCAN cursors kept (node-wide), and the bytes of the keys they hold. */
  maxCursors: number;
  maxCursorBytes: number;
}

export const RESP_LIMIT_DEFAULTS: RespLimits = {
  maxBulkBytes: 32 * 1024 * 1024,
  maxArgs: 100_000,
  maxCommandBytes: 64 * 1024 * 1024,
  maxInlineBytes: 64 * 1024,
  maxQueuedCommands: 1024,
  maxQueuedBytes: 8 * 1024 * 1024,
  replyBufferSoftBytes: 1024 * 1024,
  replyBufferHardBytes: 256 * 1024 * 1024,
  replyStallMs: 60_000,
  keyCountWaitMs: 1000,
  maxKeysReply: 100_000,
  maxCursors: 100_000,
  maxCursorBytes: 16 * 1024 * 1024,
};

export interface RespClient {
  readonly id: number;
  readonly addr: string;
  readonly laddr: string;
  readonly createdAt: number;
  lastAt: number;
  lastCmd: string;
  name: string;
  libName: string;
  libVer: string;
  proto: 2 | 3;
  /** The token's role once authenticated (always 'admin' without auth); undefined before AUTH. */
  role: Role | undefined;
  user: string;
  /** Partitions this connection wrote to (WAIT waits for their followers). */
  readonly wrote: Set<number>;
  /** RespContext.clock when a write of this connection last completed (DBSIZE shows it its own writes). */
  wroteAt: number;
  closeAfterReply: boolean;
}

/** A count of the key space (DBSIZE, INFO keyspace), taken at `at` (RespContext.clock), in tookMs. */
export interface KeyCount {
  keys: number;
  expires: number;
  at: number;
  tookMs: number;
}

/** A key count is taken again once it is older than this many times the time it took. */
export const COUNT_EVERY = 10;

export interface RespStats {
  connections: number;
  rejected: number;
  commands: number;
  hits: number;
  misses: number;
  authFailures: number;
  netIn: number;
  netOut: number;
  /** Connections closed for overrunning a limit (replyBufferHardBytes or replyStallMs). */
  overruns: number;
  /** Commands run, by lower-case name ('unknown' for names eau2 does not serve). */
  readonly byCommand: Map<string, number>;
  /** Error replies, by their first word (ERR, NOAUTH, WRONGPASS, NOPERM, TRYAGAIN, ...). */
  readonly errors: Map<string, number>;
  /** Connections closed for malformed input (a protocol error). */
  protocolErrors: number;
  /** Times a connection's commands paused over replyBufferSoftBytes of unsent replies. */
  replySoftLimitPauses: number;
  /** Connections closed past replyBufferHardBytes, and after replyStallMs over the soft limit. */
  replyHardLimitCloses: number;
  replyStallCloses: number;
  /** Times reading a connection paused at maxQueuedCommands / maxQueuedBytes of queued commands. */
  inputPauses: number;
}

/**
 * SCAN cursors: a SCAN cursor is a u64 in Redis (redis-cli parses it as one), too small to hold the
 * key a scan resumes after, so the node keeps the key under a number. The oldest are forgotten past
 * maxCursors entries or maxCursorBytes of keys; a forgotten cursor answers "ERR invalid cursor".
 */
export class CursorTable {
  private readonly byId = new Map<string, Buffer>();
  private bytes = 0;
  private next = 1 + Math.floor(Math.random() * 2 ** 40);

  constructor(private readonly limits: Pick<RespLimits, 'maxCursors' | 'maxCursorBytes'>) {}

  put(key: Buffer): string {
    const id = String(this.next++);
    this.byId.set(id, key);
    this.bytes += key.length;
    for (const [old, k] of this.byId) {
      if (this.byId.size <= this.limits.maxCursors && this.bytes <= this.limits.maxCursorBytes) break;
      this.byId.delete(old);
      this.bytes -= k.length;
    }
    return id;
  }

  /** The key of cursor `id`. Cursors stay valid after use: a client may retry a SCAN call. */
  take(id: string): Buffer | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }
}

export class RespContext {
  readonly clients = new Map<number, RespClient>();
  readonly stats: RespStats = {
    connections: 0,
    rejected: 0,
    commands: 0,
    hits: 0,
    misses: 0,
    authFailures: 0,
    netIn: 0,
    netOut: 0,
    overruns: 0,
    byCommand: new Map(),
    errors: new Map(),
    protocolErrors: 0,
    replySoftLimitPauses: 0,
    replyHardLimitCloses: 0,
    replyStallCloses: 0,
    inputPauses: 0,
  };
  readonly cursors: CursorTable;
  readonly startedAt = Date.now();
  /** The Redis version eau2 answers as (the commands and replies it follows). */
  readonly redisVersion = '7.0.0';
  /** The clock key counts are timed with, ms (tests replace it). */
  clock: () => number = () => performance.now();
  private keyCount: KeyCount | undefined;
  private counting: Promise<KeyCount> | undefined;
  private countingAt = 0;

  constructor(
    readonly host: RespHost,
    readonly limits: RespLimits,
    readonly port: number,
  ) {
    this.cursors = new CursorTable(limits);
  }

  /**
   * DBSIZE and INFO keyspace: keys in the whole key space, and how many of them expire, as of the
   * last count (a scan of every partition at its leader, exact when it was taken). A count is
   * taken again when asked for once the last one is older than COUNT_EVERY times the time it took,
   * so counting uses at most about 1/COUNT_EVERY of a node's time however often clients ask (ioredis
   * sends INFO on every connection). A connection whose write completed after the last count began
   * waits for a new one, so it sees its own writes (one alternating writes and DBSIZE counts each
   * time while counts are quick). Callers wait only while counts are quick (the
   * last took under limits.keyCountWaitMs); past that they get the last count and a new one runs
   * behind. Concurrent callers share one count.
   */
  countKeys(c?: RespClient): Promise<KeyCount> | KeyCount {
    const last = this.keyCount;
    const mine = c !== undefined && c.wroteAt >= (last?.at ?? Number.NEGATIVE_INFINITY);
    if (last && !mine && this.clock() - last.at < COUNT_EVERY * last.tookMs) return last;
    if (last && last.tookMs >= this.limits.keyCountWaitMs) {
      this.counting ??= this.count();
      return last;
    }
    const running = this.counting;
    if (running === undefined) return this.count();
    // A count that began before this connection's write may miss it: wait for the next one.
    if (mine && this.countingAt <= c.wroteAt) return running.then(() => this.countKeys(c));
    return running;
  }

  private count(): Promise<KeyCount> {
    const at = this.clock();
    this.countingAt = at;
    const run = (async () => {
      let keys = 0;
      let expires = 0;
      const it = this.host.router.scan({}, 'leader');
      try {
        for (let e = await it.next(); e !== undefined; e = await it.next()) {
          keys++;
          if (e[1][0] !== 0 && storedExpiry(e[1]) !== undefined) expires++;
        }
      } finally {
        await it.close();
      }
      // A count that took no measurable time is still not taken again on every call.
      const counted: KeyCount = { keys, expires, at, tookMs: Math.max(this.clock() - at, 0.1) };
      this.keyCount = counted;
      return counted;
    })();
    this.counting = run;
    const done = () => {
      if (this.counting === run) this.counting = undefined;
    };
    run.then(done, done);
    return run;
  }

  /**
   * WAIT: eau2's write concern after the fact. For every partition this connection wrote to, the
   * leader's LSN now is the target; resolves with the fewest followers that acknowledged it over
   * those partitions, once that reaches `want` or after `timeoutMs` (0: no limit).
   */
  async waitReplicas(c: RespClient, want: number, timeoutMs: number): Promise<number> {
    const t = this.host.topology();
    const parts = [...c.wrote];
    if (parts.length === 0) return Math.min(...t.placement.map((pl) => pl.followers.length));
    const targets = new Map<number, number>();
    const end = timeoutMs === 0 ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
    for (;;) {
      let fewest = Number.POSITIVE_INFINITY;
      const states = await this.leaderStates(parts);
      for (const p of parts) {
        const s = states.get(p);
        if (!s) {
          fewest = 0;
          continue;
        }
        if (!targets.has(p)) targets.set(p, s.lsn);
        const target = targets.get(p)!;
        fewest = Math.min(fewest, s.followers.filter((f) => f.acked >= target).length);
      }
      if (fewest >= want || Date.now() >= end || !this.clients.has(c.id)) return fewest;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async leaderStates(parts: number[]): Promise<Map<number, { lsn: number; followers: { acked: number }[] }>> {
    const out = new Map<number, { lsn: number; followers: { acked: number }[] }>();
    const t = this.host.topology();
    const byLeader = new Map<string, number[]>();
    for (const p of parts) {
      const leader = t.placement[p]!.leader;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    await Promise.all(
      [...byLeader].map(async ([leader, ps]) => {
        let leaders: { p: number; lsn: number; followers: { acked: number }[] }[];
        try {
          leaders =
            leader === this.host.selfId
              ? this.host.leaderState()
              : ((await this.host.pool.request(leader, MsgType.STATUS, null)) as { leaders: typeof leaders }).leaders;
        } catch {
          return; // the leader is unreachable: its partitions count 0 acknowledgements
        }
        for (const s of leaders) if (ps.includes(s.p)) out.set(s.p, s);
      }),
    );
    return out;
  }
}

// The chaos workload: N clients writing over HTTP, straight to the nodes (never through the proxy), and
// recording every attempt: key, value, write concern, partition, node, start and end times, and the
// outcome (acknowledged, or the HTTP status and error code). Each client writes distinct append-only
// keys and, every fourth operation, a counter of its own (a put of an ever larger value), alternating
// w=all and w=1, all in one partition (hash tags pick it): client c writes partition c mod P, with
// home node c mod N, so a partition whose leader is gone stalls only its own clients and every
// partition is written every few tens of milliseconds, which is what availability is measured by.
// With clients = 2 P, each partition has two clients with different home nodes (or all start at one
// node: `home`). A client moves to the next node when its home node does not answer or answers 503.

import { partitionOf } from '../../kv/index.js';

export type W = 'all' | '1';

export interface Op {
  client: number;
  kind: 'append' | 'counter';
  key: string;
  value: string;
  /** For counters: the value's number. */
  seq: number;
  w: W;
  p: number;
  node: string;
  /** ms since the epoch. */
  start: number;
  end: number;
  ok: boolean;
  /** HTTP status, or 0 when no answer came (timeout, connection refused). */
  status: number;
  code?: string;
}

export interface WorkloadOptions {
  /** Default: 2 per partition. */
  clients?: number;
  partitions: number;
  nodes: { id: string; url: string }[];
  /** Per-request timeout (default 6 s: a w=all write may wait writeTimeoutMs on a leader). */
  timeoutMs?: number;
  /** Pause between a client's operations (default 25 ms), to leave the nodes CPU on 2 cores. */
  thinkMs?: number;
  /** The node every client starts at (default: client c at node c mod N). */
  home?: string;
}

/** A hash tag per partition, so a key `x/{tag}/...` lands in that partition. */
function partitionTags(partitions: number): string[] {
  const tags: string[] = new Array(partitions);
  let found = 0;
  for (let i = 0; found < partitions; i++) {
    const t = `t${i}`;
    const p = partitionOf(t, partitions);
    if (tags[p] === undefined) {
      tags[p] = t;
      found++;
    }
  }
  return tags;
}

export class Workload {
  readonly ops: Op[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly tags: string[];
  private readonly home: number[];
  private readonly clients: number;

  constructor(private readonly o: WorkloadOptions) {
    this.tags = partitionTags(o.partitions);
    this.clients = o.clients ?? 2 * o.partitions;
    const first = o.home === undefined ? -1 : o.nodes.findIndex((n) => n.id === o.home);
    if (o.home !== undefined && first < 0) throw new TypeError(`no node ${o.home}`);
    this.home = Array.from({ length: this.clients }, (_, i) => (first >= 0 ? first : i % o.nodes.length));
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.clients }, (_, c) => this.client(c));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async client(c: number): Promise<void> {
    let seq = 0;
    const p = c % this.o.partitions;
    for (let j = 0; this.running; j++) {
      const w: W = j % 2 === 0 ? 'all' : '1';
      const counter = j % 4 === 3;
      seq++;
      const key = counter ? `ctr/{${this.tags[p]}}/c${c}/w${w}` : `a/{${this.tags[p]}}/c${c}/${j}`;
      const value = counter ? String(seq) : `${c}:${j}:${w}`;
      await this.put(c, { client: c, kind: counter ? 'counter' : 'append', key, value, seq, w, p });
      await new Promise((r) => setTimeout(r, this.o.thinkMs ?? 25));
    }
  }

  private async put(c: number, op: Omit<Op, 'node' | 'start' | 'end' | 'ok' | 'status'>): Promise<void> {
    const node = this.o.nodes[this.home[c]!]!;
    const start = Date.now();
    const rec: Op = { ...op, node: node.id, start, end: start, ok: false, status: 0 };
    try {
      const r = await fetch(`${node.url}/kv/${encodeURIComponent(op.key)}?w=${op.w}`, {
        method: 'PUT',
        body: op.value,
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 6000),
      });
      rec.status = r.status;
      rec.ok = r.status === 204;
      if (!rec.ok) rec.code = ((await r.json().catch(() => ({}))) as { code?: string }).code ?? 'UNKNOWN';
      else await r.arrayBuffer();
    } catch (e) {
      rec.code = (e as Error).name === 'TimeoutError' ? 'CLIENT_TIMEOUT' : 'NO_ANSWER';
    }
    // Another node may do better: this one is gone, cut off, or refused (503: not the leader any
    // more, a stale epoch, its leader unreachable). What a load balancer in front of the nodes does.
    if (rec.status === 0 || rec.status === 503) this.home[c] = (this.home[c]! + 1) % this.o.nodes.length;
    rec.end = Date.now();
    this.ops.push(rec);
  }
}

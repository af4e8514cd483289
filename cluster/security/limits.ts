// Resource limits of a node's two ports (docs/security.md, "Limits"): how many connections it keeps
// open, in all and per client address, and how many bytes of request bodies it holds at once. Over a
// cap the request or connection is refused at once (429/503, or a closed peer connection) and
// counted, so whatever clients send, the node's memory stays bounded and other clients are served.

import type { Socket } from 'node:net';

export interface Limits {
  /** Time allowed for a request's headers (slow-loris), ms. */
  headersTimeoutMs: number;
  /** Time allowed for a whole request, body included, ms. */
  bodyTimeoutMs: number;
  /** Largest request head (request line and headers), bytes. */
  maxHeaderBytes: number;
  /** Open connections per port. */
  maxConnections: number;
  /** Open connections per port from one client address. */
  maxConnectionsPerClient: number;
  /** Requests being served at once on one connection (peer requests, pipelined HTTP requests). */
  maxInflightPerConnection: number;
  /** Bytes of HTTP request bodies being received at once, over all requests. */
  maxBodyBytesInFlight: number;
  /** Bytes of values in one page of GET /kv?values=true (the page ends early past it). */
  maxListBytes: number;
  /** Time a peer-port connection has to authenticate (with `auth`), ms. */
  handshakeTimeoutMs: number;
}

export const LIMIT_DEFAULTS: Limits = {
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 60_000,
  // A key may be 65,534 bytes and a path may spell every byte as %XX: 196,602 characters of path
  // alone (Node's 16 KiB refused a 16,300-byte key). 256 KiB fits it with ~60 KiB of other headers;
  // the header timeout and connection caps bound what slow or many heads can hold.
  maxHeaderBytes: 256 * 1024,
  maxConnections: 1024,
  maxConnectionsPerClient: 256,
  maxInflightPerConnection: 1024,
  maxBodyBytesInFlight: 256 * 1024 * 1024,
  maxListBytes: 8 * 1024 * 1024,
  handshakeTimeoutMs: 5_000,
};

export const LIMIT_RANGES: Record<keyof Limits, [number, number]> = {
  headersTimeoutMs: [100, 3_600_000],
  bodyTimeoutMs: [100, 3_600_000],
  maxHeaderBytes: [1024, 1024 * 1024],
  maxConnections: [1, 1_000_000],
  maxConnectionsPerClient: [1, 1_000_000],
  maxInflightPerConnection: [1, 1_000_000],
  maxBodyBytesInFlight: [1024, 2 ** 40],
  maxListBytes: [1024, 2 ** 31 - 1],
  handshakeTimeoutMs: [100, 600_000],
};

export type ConnectionVerdict = 'ok' | 'node-full' | 'client-full';

/** Counts open connections of one port, in all and per remote address. */
export class ConnectionLimiter {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerClient: number,
  ) {}

  get open(): number {
    return this.total;
  }

  /** Counts `socket` in (until it closes) when there is room; else says which cap is reached. */
  admit(socket: Socket): ConnectionVerdict {
    const addr = socket.remoteAddress ?? '?';
    if (this.total >= this.max) return 'node-full';
    const n = this.perClient.get(addr) ?? 0;
    if (n >= this.maxPerClient) return 'client-full';
    this.total++;
    this.perClient.set(addr, n + 1);
    socket.once('close', () => {
      this.total--;
      const m = (this.perClient.get(addr) ?? 1) - 1;
      if (m <= 0) this.perClient.delete(addr);
      else this.perClient.set(addr, m);
    });
    return 'ok';
  }
}

/** A shared allowance of bytes (request bodies being received). */
export class ByteBudget {
  private usedBytes = 0;

  constructor(readonly max: number) {}

  get used(): number {
    return this.usedBytes;
  }

  take(n: number): boolean {
    if (this.usedBytes + n > this.max) return false;
    this.usedBytes += n;
    return true;
  }

  give(n: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - n);
  }
}

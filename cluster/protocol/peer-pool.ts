// Outgoing request connections to other nodes, one per node, opened on first use and reopened after a
// drop. Used for forwarding to leaders, heartbeats, elections and gathering status; the
// replication stream has its own connection (follower-link.ts) so a bulk resync never delays these.

import { setMaxListeners } from 'node:events';
import { PeerConnection, type PeerConnectionOptions } from './peer-connection.js';

export interface PeerAddress {
  host: string;
  peerPort: number;
}

export class PeerPool {
  private readonly conns = new Map<string, Promise<PeerConnection>>();
  private closed = false;
  /** Aborted by close(): connections still being opened are closed at once, not at their timeout. */
  private readonly closing = new AbortController();

  constructor(
    private readonly address: (nodeId: string) => PeerAddress | undefined,
    private readonly opts: Omit<PeerConnectionOptions, 'onClose'>,
    /** Options for the connection to one node (TLS, the peer-port handshake: cluster/security). */
    private readonly perNode?: (nodeId: string) => Partial<PeerConnectionOptions>,
  ) {
    // One listener per connection being opened, as many as there are nodes.
    setMaxListeners(0, this.closing.signal);
  }

  get(nodeId: string): Promise<PeerConnection> {
    const have = this.conns.get(nodeId);
    if (have) return have;
    const addr = this.address(nodeId);
    if (!addr || this.closed) return Promise.reject(new Error(`no address for node ${nodeId}`));
    const p = PeerConnection.connect(addr.host, addr.peerPort, {
      ...this.opts,
      ...this.perNode?.(nodeId),
      signal: this.closing.signal,
      onClose: () => {
        if (this.conns.get(nodeId) === p) this.conns.delete(nodeId);
      },
    });
    this.conns.set(nodeId, p);
    p.then(
      (c) => (c.tag = nodeId),
      () => {
        if (this.conns.get(nodeId) === p) this.conns.delete(nodeId);
      },
    );
    return p;
  }

  /** A request to `nodeId` (PeerConnection.request); connection failures reject with UNAVAILABLE. */
  async request(
    nodeId: string,
    type: number,
    body: unknown,
    timeoutMs?: number,
    take?: (body: unknown) => unknown,
  ): Promise<unknown> {
    const c = await this.get(nodeId);
    return c.request(type, body, timeoutMs, take);
  }

  close(): void {
    this.closed = true;
    this.closing.abort();
    for (const p of this.conns.values())
      p.then(
        (c) => c.destroy(),
        () => {},
      );
    this.conns.clear();
  }
}

// Which nodes this node can reach, from the answers to its heartbeats (PING/PONG, every node to
// every other). A node not heard from for failoverTimeoutMs is suspected (Redis's PFAIL): its led
// partitions' in-sync followers may start elections, and a leader that has not heard from a majority
// of the nodes for that long stops taking writes. A node never heard from is not suspected before
// the detector has run for NEVER_HEARD_GRACE timeouts: nodes of a cluster start at different
// moments (seconds apart on a loaded machine), and a late starter is not a failed leader.

export type Reachability = 'up' | 'down' | 'unknown';

/** Timeouts a node never heard from stays 'unknown' (not suspected) after the detector starts. */
export const NEVER_HEARD_GRACE = 3;

export class FailureDetector {
  private readonly lastHeard = new Map<string, number>();
  private readonly startedAt: number;

  constructor(
    private readonly selfId: string,
    private readonly nodeIds: readonly string[],
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.startedAt = now();
  }

  /** An answer to one of this node's PINGs (or a REGISTER of an older node) arrived from `node`. */
  heard(node: string): void {
    if (this.nodeIds.includes(node)) this.lastHeard.set(node, this.now());
  }

  /** 'up' if heard within the timeout; 'unknown' if never heard and the detector is young; else 'down'. */
  status(node: string): Reachability {
    if (node === this.selfId) return 'up';
    const t = this.lastHeard.get(node);
    const now = this.now();
    if (t !== undefined && now - t < this.timeoutMs) return 'up';
    if (t === undefined && now - this.startedAt < NEVER_HEARD_GRACE * this.timeoutMs) return 'unknown';
    return 'down';
  }

  /** Suspected: not heard from for the timeout (never, for this node itself). */
  suspected(node: string): boolean {
    return this.status(node) === 'down';
  }

  /** Milliseconds since `node` was last heard from (Infinity if never). */
  silentMs(node: string): number {
    const t = this.lastHeard.get(node);
    return t === undefined ? Number.POSITIVE_INFINITY : this.now() - t;
  }

  /** True when this node and the nodes that answered after `t` (same clock as `now`) are a majority. */
  heardMajoritySince(t: number): boolean {
    let n = 0;
    for (const id of this.nodeIds)
      if (id === this.selfId || (this.lastHeard.get(id) ?? Number.NEGATIVE_INFINITY) > t) n++;
    return n >= majority(this.nodeIds.length);
  }

  /** True when this node and the nodes heard within the timeout are a majority of all nodes. */
  reachesMajority(): boolean {
    let n = 0;
    for (const id of this.nodeIds) if (id === this.selfId || this.status(id) === 'up') n++;
    return n >= majority(this.nodeIds.length);
  }
}

/** Votes (or acknowledgements) needed out of `n` nodes: more than half. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

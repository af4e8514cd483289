// What a SQL statement hands its first query's tasks to confirm (see VersionCheck). Its own module:
// the query source's options (plan.ts) name it, and tasks.ts, which fills it in, imports plan.ts.

import type { FrameMeta } from '../meta.js';

/**
 * The versions of frames a SQL statement planned from its metadata cache, to be confirmed as the
 * published ones (sql/run.ts). On a cluster, the statement's query carries each to the node that
 * leads the frame's metadata record, when that node gets a task anyway, which confirms it beside its
 * share of the query (verifyVersions): one request fewer per frame than a read of the record. The
 * versions no task carried, or whose node could not answer, are read by the caller.
 */
export class VersionCheck {
  /** The metas a task carried, and what the nodes answered (true: still the published version). */
  readonly carried = new Set<FrameMeta>();
  readonly answers = new Map<FrameMeta, boolean>();
  /** Set once the statement's first query task has gone out (later ones carry nothing). */
  sent = false;
  private resolveSent!: () => void;
  /** Resolves when the first query's tasks are sent, with what they carry. */
  readonly dispatched = new Promise<void>((r) => {
    this.resolveSent = r;
  });

  constructor(readonly metas: readonly FrameMeta[]) {}

  markSent(): void {
    this.sent = true;
    this.resolveSent();
  }
}

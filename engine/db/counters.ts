// Running totals behind Engine.stats(): what was written where, how long writers waited, how the
// background work went. Plain numbers, updated on the paths that do the work.

export class Counters {
  /** Key + value bytes the application wrote. */
  userBytes = 0;
  writes = 0;
  writeGroups = 0;
  walBytes = 0;
  walSyncs = 0;
  walBytesRecovered = 0;
  /** Recoveries that stopped at a gap in the sequence numbers across logs (db-impl.ts replayLogs). */
  walGapsRecovered = 0;
  flushes = 0;
  flushBytes = 0;
  compactions = 0;
  trivialMoves = 0;
  compactionBytesRead = 0;
  compactionBytesWritten = 0;
  compactionMs = 0;
  gets = 0;
  stallMs = 0;
  slowdowns = 0;
  stops = 0;
  /** Failures of a write, flush or compaction (each stopped writes; error-handler.ts). */
  backgroundErrors = 0;
  /** Times writes resumed by themselves after a full disk. */
  autoRecoveries = 0;
  /** Recoveries (walRecovery 'pointInTime') that dropped a WAL's tail at damage in its middle. */
  walDamageDropped = 0;
}

// The engine's stats() as Prometheus metrics: one metric per meaning, in base units (bytes,
// seconds), counters named `_total`, levels as a label. Filled at scrape time from the flattened
// stats (engine-api.ts flattenStats: "blockCache.hits" arrives as "blockCache_hits").

import { Counter, Gauge, type Registry } from 'prom-client';

type Kind = 'counter' | 'gauge';

/** flattened stats key -> metric name, kind, scale to base units, help. */
const ENGINE_METRICS: [string, string, Kind, number, string][] = [
  [
    'memtableBytes',
    'eau2_engine_memtable_bytes',
    'gauge',
    1,
    'Bytes in the memtable and the immutable memtables waiting for their flush',
  ],
  ['immutableMemtables', 'eau2_engine_immutable_memtables', 'gauge', 1, 'Immutable memtables waiting for their flush'],
  ['lastSequence', 'eau2_engine_last_sequence', 'gauge', 1, 'Last sequence number the engine assigned'],
  ['userBytesWritten', 'eau2_engine_user_written_bytes_total', 'counter', 1, 'Key and value bytes written by the node'],
  ['walBytesWritten', 'eau2_engine_wal_written_bytes_total', 'counter', 1, 'Bytes written to the write-ahead log'],
  ['walSyncs', 'eau2_engine_wal_syncs_total', 'counter', 1, 'fdatasync calls on the write-ahead log'],
  ['walBytesRecovered', 'eau2_engine_wal_recovered_bytes', 'gauge', 1, 'Log bytes replayed when the engine opened'],
  [
    'walGapsRecovered',
    'eau2_engine_wal_recovery_gaps',
    'gauge',
    1,
    '1 when the replay at open stopped at a gap in sequence numbers',
  ],
  [
    'flushBytesWritten',
    'eau2_engine_flush_written_bytes_total',
    'counter',
    1,
    'Bytes of tables written by memtable flushes',
  ],
  ['compactionBytesRead', 'eau2_engine_compaction_read_bytes_total', 'counter', 1, 'Bytes read by compactions'],
  [
    'compactionBytesWritten',
    'eau2_engine_compaction_written_bytes_total',
    'counter',
    1,
    'Bytes written by compactions',
  ],
  [
    'writeAmplification',
    'eau2_engine_write_amplification_ratio',
    'gauge',
    1,
    '(log + flush + compaction bytes written) / user bytes written',
  ],
  ['flushes', 'eau2_engine_flushes_total', 'counter', 1, 'Memtable flushes'],
  ['compactions', 'eau2_engine_compactions_total', 'counter', 1, 'Compactions (trivial moves included)'],
  [
    'trivialMoves',
    'eau2_engine_trivial_moves_total',
    'counter',
    1,
    'Compactions that moved a table down a level without rewriting it',
  ],
  ['compactionMs', 'eau2_engine_compaction_seconds_total', 'counter', 1e-3, 'Time spent compacting'],
  ['writes', 'eau2_engine_writes_total', 'counter', 1, 'Write batches'],
  ['writeGroups', 'eau2_engine_write_groups_total', 'counter', 1, 'Group commits (one log write each)'],
  ['gets', 'eau2_engine_gets_total', 'counter', 1, 'Point reads'],
  ['blockCache_hits', 'eau2_engine_block_cache_hits_total', 'counter', 1, 'Block cache hits'],
  ['blockCache_misses', 'eau2_engine_block_cache_misses_total', 'counter', 1, 'Block cache misses'],
  ['blockCache_bytes', 'eau2_engine_block_cache_bytes', 'gauge', 1, 'Bytes of blocks in the block cache'],
  ['blockCache_capacity', 'eau2_engine_block_cache_capacity_bytes', 'gauge', 1, 'Capacity of the block cache'],
  ['blockCache_entries', 'eau2_engine_block_cache_blocks', 'gauge', 1, 'Blocks in the block cache'],
  [
    'blockCache_slots_carvedBytes',
    'eau2_engine_block_cache_slab_bytes',
    'gauge',
    1,
    'Memory carved from slabs for cached blocks (never returned)',
  ],
  [
    'blockCache_slots_freeBytes',
    'eau2_engine_block_cache_slab_free_bytes',
    'gauge',
    1,
    'Slab memory on the free lists',
  ],
  [
    'blockCache_slots_reused',
    'eau2_engine_block_cache_slot_reuses_total',
    'counter',
    1,
    'Block reads served by a recycled slot',
  ],
  [
    'blockCache_slots_refused',
    'eau2_engine_block_cache_slot_refusals_total',
    'counter',
    1,
    'Block reads no slot could hold',
  ],
  ['stallMs', 'eau2_engine_stall_seconds_total', 'counter', 1e-3, 'Time writers waited for flushes and compactions'],
  [
    'slowdowns',
    'eau2_engine_write_slowdowns_total',
    'counter',
    1,
    'Writes slowed down because level 0 or the memtables backed up',
  ],
  ['stops', 'eau2_engine_write_stops_total', 'counter', 1, 'Writes stopped until a flush or compaction finished'],
  [
    'backgroundErrors',
    'eau2_engine_background_errors_total',
    'counter',
    1,
    'Failed writes, flushes and compactions (each stopped writes)',
  ],
  [
    'autoRecoveries',
    'eau2_engine_auto_recoveries_total',
    'counter',
    1,
    'Times writes resumed by themselves after a full disk',
  ],
  [
    'scrub_bytesVerified',
    'eau2_engine_scrub_verified_bytes_total',
    'counter',
    1,
    'Table bytes the scrub (and verify) read back and found sound',
  ],
  [
    'scrub_tablesVerified',
    'eau2_engine_scrub_verified_tables_total',
    'counter',
    1,
    'Tables the scrub (and verify) read back and found sound',
  ],
  ['scrub_passes', 'eau2_engine_scrub_passes_total', 'counter', 1, 'Scrub passes over every table finished'],
  [
    'walDamageDropped',
    'eau2_engine_wal_damage_dropped',
    'gauge',
    1,
    'Log tails the recovery at open dropped at damage in their middle (walRecovery pointInTime)',
  ],
  ['openSnapshots', 'eau2_engine_open_snapshots', 'gauge', 1, 'Open snapshots (iterators included)'],
  ['liveBytes', 'eau2_engine_table_bytes', 'gauge', 1, 'Bytes of the live tables, every level'],
  [
    'estimatedKeys',
    'eau2_engine_estimated_keys',
    'gauge',
    1,
    'Keys stored (an estimate: uncompacted overwrites count once per version)',
  ],
];

// Left out on purpose: blockCache_hitRate (a ratio of two counters above: compute it in PromQL) and
// scrub_damagedTables (eau2_damaged_tables, metrics.ts, already says it).
const LEVEL = /^levels_(\d+)_(files|bytes|compactionScore)$/;

export function registerEngineMetrics(registry: Registry, stats: () => Record<string, number>): void {
  const registers = [registry];
  let snapshot: Record<string, number> = {};
  let taken = 0;
  // Every metric of one scrape reads the same stats() call (taken once per scrape, not per metric).
  const read = (): Record<string, number> => {
    const now = Date.now();
    if (now - taken > 100) {
      snapshot = stats();
      taken = now;
    }
    return snapshot;
  };
  for (const [key, name, kind, scale, help] of ENGINE_METRICS) {
    if (kind === 'counter')
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          const v = read()[key];
          if (v !== undefined && v > 0) this.inc(v * scale);
        },
      });
    else
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const v = read()[key];
          this.set(v === undefined ? Number.NaN : v * scale);
        },
      });
  }
  for (const [unit, name, help] of [
    ['files', 'eau2_engine_level_tables', 'Tables per level'],
    ['bytes', 'eau2_engine_level_bytes', 'Bytes of the tables per level'],
    [
      'compactionScore',
      'eau2_engine_level_compaction_score',
      'Level 0 tables over the trigger, or level bytes over the target; a compaction is due at 1',
    ],
  ] as const)
    new Gauge({
      name,
      help,
      labelNames: ['level'],
      registers,
      collect() {
        this.reset();
        for (const [k, v] of Object.entries(read())) {
          const m = LEVEL.exec(k);
          if (m && m[2] === unit) this.set({ level: m[1]! }, v);
        }
      },
    });
}

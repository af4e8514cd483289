// INFO: Redis's sections, filled from eau2's own figures (process, connections, engine, partitions
// led and followed). Fields Redis tools read keep their Redis names; eau2's own start with eau2_.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { RespClient, RespContext } from './resp-context.js';

const SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'keyspace'] as const;

let version: string | undefined;
function eau2Version(): string {
  if (version === undefined) {
    version = 'unknown';
    // ../../ from the sources, ../../../ from dist/.
    for (const rel of ['../../package.json', '../../../package.json']) {
      try {
        const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (pkg.name === 'eau2') {
          version = pkg.version ?? 'unknown';
          break;
        }
      } catch {
        // not there: the other layout
      }
    }
  }
  return version;
}

function human(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(2)}${units[i]}`;
}

export async function infoText(ctx: RespContext, c: RespClient, asked: string[]): Promise<string> {
  const all = asked.length === 0 || asked.includes('all') || asked.includes('everything') || asked.includes('default');
  const want = new Set(all ? SECTIONS : asked);
  const h = ctx.host;
  const out: string[] = [];
  const section = (name: string, lines: [string, string | number][]) => {
    if (!want.has(name.toLowerCase())) return;
    if (out.length > 0) out.push('');
    out.push(`# ${name}`);
    for (const [k, v] of lines) out.push(`${k}:${v}`);
  };
  const up = Math.floor((Date.now() - ctx.startedAt) / 1000);
  section('Server', [
    ['redis_version', ctx.redisVersion],
    ['redis_mode', 'standalone'],
    ['eau2_version', eau2Version()],
    ['eau2_node', h.selfId],
    ['os', `${os.type()} ${os.release()} ${os.arch()}`],
    ['arch_bits', 64],
    ['process_id', process.pid],
    ['tcp_port', ctx.port],
    ['uptime_in_seconds', up],
    ['uptime_in_days', Math.floor(up / 86400)],
    ['node_version', process.version],
  ]);
  section('Clients', [
    ['connected_clients', ctx.clients.size],
    ['maxclients', h.config.security.limits.maxConnections],
    ['blocked_clients', 0],
  ]);
  const mem = process.memoryUsage();
  const engine = h.engineStats();
  section('Memory', [
    ['used_memory', mem.heapUsed + mem.external],
    ['used_memory_human', human(mem.heapUsed + mem.external)],
    ['used_memory_rss', mem.rss],
    ['used_memory_rss_human', human(mem.rss)],
    ['maxmemory', 0],
    ['eau2_memtable_bytes', engine.memtableBytes ?? 0],
    ['eau2_block_cache_bytes', engine.blockCache_bytes ?? 0],
  ]);
  section('Persistence', [
    ['loading', 0],
    ['aof_enabled', 0],
    ['rdb_changes_since_last_save', 0],
    ['eau2_wal', 1],
    ['eau2_wal_syncs', engine.walSyncs ?? 0],
    ['eau2_compactions', engine.compactions ?? 0],
  ]);
  const s = ctx.stats;
  section('Stats', [
    ['total_connections_received', s.connections],
    ['total_commands_processed', s.commands],
    ['total_net_input_bytes', s.netIn],
    ['total_net_output_bytes', s.netOut],
    ['rejected_connections', s.rejected],
    ['keyspace_hits', s.hits],
    ['keyspace_misses', s.misses],
    ['eau2_auth_failures', s.authFailures],
    ['eau2_limit_overruns', s.overruns],
    ['eau2_scan_cursors', ctx.cursors.size],
  ]);
  const led = h.leaderState();
  const followed = h.followerState();
  const followers = new Map<string, { acked: number; lag: number }>();
  for (const l of led)
    for (const f of l.followers) {
      const prev = followers.get(f.id);
      const lag = Number.isFinite(f.lagSeconds) ? f.lagSeconds : 0;
      followers.set(f.id, { acked: (prev?.acked ?? 0) + f.acked, lag: Math.max(prev?.lag ?? 0, lag) });
    }
  const t = h.topology();
  section('Replication', [
    ['role', 'master'],
    ['connected_slaves', followers.size],
    ...[...followers].map(([id, f], i): [string, string] => {
      const n = t.nodes.find((x) => x.id === id);
      return [
        `slave${i}`,
        `ip=${n?.host ?? '?'},port=${n?.port ?? 0},state=online,offset=${f.acked},lag=${Math.round(f.lag)}`,
      ];
    }),
    ['master_repl_offset', led.reduce((n, l) => n + l.lsn, 0)],
    ['eau2_partitions', t.partitions],
    ['eau2_partitions_led', led.length],
    ['eau2_partitions_followed', followed.length],
    ['eau2_epoch', t.epoch],
  ]);
  if (want.has('keyspace')) {
    const { keys, expires } = await ctx.countKeys(c);
    section('Keyspace', keys > 0 ? [['db0', `keys=${keys},expires=${expires},avg_ttl=0`]] : []);
  }
  return `${out.join('\r\n')}\r\n`;
}

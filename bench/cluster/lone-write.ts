// What a lone replicated write costs the servers, leader and follower apart: YCSB B sends a write
// every ~20 reads, so each write is alone in its event-loop turn and pays every per-group cost (the
// engine group's WAL write, an ENTRIES_BATCH frame, an ACK_BATCH back) that A's and load's writes
// share. A local cluster of 3 nodes (16 partitions, 2 replicas, w=1) is driven at fixed rates, open
// loop, over keys whose partitions n1 leads and n2 follows, so n1's CPU is the leader's and n2's
// the follower's. Phases, alternating each round:
//
//   idle    nothing (the timers: failover ticks, gossip, heartbeats, node health)
//   reads   --read-rate GETs per second, one every 1000/rate ms
//   mixed   the same reads plus --write-rate PUTs per second, one at a time (YCSB B's shape)
//   lone    the PUTs alone, one at a time
//   burst   the same PUTs per second in bursts of --burst (A's and load's shape: shared groups)
//
// Per write: (phase CPU - idle CPU) / writes, per node; mixed - reads: what the writes add to a
// read load (and whether the reads got dearer). CPU from /proc/<pid>/stat (every thread) and
// /proc/<pid>/task/<pid>/stat (the main thread).
//
//   node --import tsx bench/cluster/lone-write.ts [--rounds 3] [--seconds 8] [--read-rate 4000]
//        [--write-rate 400] [--burst 16] [--records 2000] [--warmup 3] [--phases idle,reads,mixed,lone,burst]

import { readFileSync } from 'node:fs';
import { partitionOf } from '../../kv/index.js';
import { Eau2Cluster } from './eau2-target.js';
import { numberArg } from '../lib/args.js';
import { procCpuSeconds } from '../lib/process-probes.js';

const ROUNDS = numberArg('rounds', 3);
const SECONDS = numberArg('seconds', 8);
const READ_RATE = numberArg('read-rate', 4000);
const WRITE_RATE = numberArg('write-rate', 400);
const BURST = Math.max(1, numberArg('burst', 16));
const RECORDS = numberArg('records', 2000);
const WARMUP = numberArg('warmup', 3);
const pi = process.argv.indexOf('--phases');
const PHASES = (pi >= 0 ? process.argv[pi + 1]! : 'idle,reads,mixed,lone,burst').split(',');

interface Sample {
  all: number[];
  main: number[];
}

function sample(pids: number[]): Sample {
  return {
    all: pids.map((p) => procCpuSeconds(p) * 1000),
    main: pids.map((p) => procCpuSeconds(p, p) * 1000),
  };
}

interface PhaseResult {
  phase: string;
  seconds: number;
  reads: number;
  writes: number;
  errors: number;
  /** CPU ms per second, per node (all threads / main thread). */
  all: number[];
  main: number[];
}

const cluster = await Eau2Cluster.start(3, 2, 16);
try {
  const c = cluster.client;
  const topo = c.topology;
  // Partitions led by n1 and followed by n2: n1's CPU is the leader's, n2's the follower's.
  const mine = new Set<number>();
  for (let p = 0; p < topo.partitions; p++) {
    const pl = topo.placement[p]!;
    if (pl.leader === 'n1' && pl.followers.includes('n2')) mine.add(p);
  }
  if (mine.size === 0) throw new Error('no partition led by n1 and followed by n2');
  const keys: string[] = [];
  for (let i = 0; keys.length < RECORDS; i++) {
    const k = `user${String(i).padStart(10, '0')}`;
    if (mine.has(partitionOf(k, topo.partitions))) keys.push(k);
  }
  const value = new Uint8Array(1024).fill(97);
  for (let i = 0; i < keys.length; i += 64) await Promise.all(keys.slice(i, i + 64).map((k) => c.put(k, value)));
  let n = 0;
  /** Reads and writes at fixed rates for `seconds`; writes issued in bursts of `burst`. */
  async function drive(seconds: number, readRate: number, writeRate: number, burst: number) {
    let reads = 0;
    let writes = 0;
    let errors = 0;
    let firstError: string | undefined;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    const inflight = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>): void => {
      const q = p
        .catch((e: unknown) => {
          errors++;
          firstError ??= (e as Error).message;
        })
        .finally(() => inflight.delete(q));
      inflight.add(q);
    };
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          tick();
        } catch (e) {
          clearInterval(timer);
          reject(e);
        }
      }, 1);
      const tick = (): void => {
        const now = performance.now();
        const t = (Math.min(now, end) - t0) / 1000;
        while (reads < Math.floor(t * readRate)) {
          reads++;
          track(c.get(keys[n++ % keys.length]!));
        }
        const dueWrites = Math.floor((t * writeRate) / burst) * burst;
        while (writes < dueWrites) {
          writes++;
          track(c.put(keys[(n++ * 7919) % keys.length]!, value));
        }
        if (now >= end) {
          clearInterval(timer);
          resolve();
        }
      };
    });
    await Promise.all(inflight);
    if (firstError !== undefined) console.log(`  first error of ${errors}: ${firstError}`);
    return { reads, writes, errors };
  }

  // JIT warm-up: both paths, a few seconds.
  if (WARMUP > 0) await drive(WARMUP, READ_RATE, WRITE_RATE * 4, 1);
  const pids = cluster.pids();
  console.log(`nodes n1 n2 n3 = pids ${pids.join(' ')}; partitions ${[...mine].join(',')} (n1 leads, n2 follows)`);

  const results: PhaseResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const phase of r % 2 === 0 ? PHASES : [...PHASES].reverse()) {
      const readRate = phase === 'reads' || phase === 'mixed' ? READ_RATE : 0;
      const writeRate = phase === 'mixed' || phase === 'lone' || phase === 'burst' ? WRITE_RATE : 0;
      await new Promise((res) => setTimeout(res, 300));
      const s0 = sample(pids);
      const t0 = performance.now();
      const d = await drive(SECONDS, readRate, writeRate, phase === 'burst' ? BURST : 1);
      const secs = (performance.now() - t0) / 1000;
      const s1 = sample(pids);
      const res: PhaseResult = {
        phase,
        seconds: secs,
        ...d,
        all: s1.all.map((v, i) => (v - s0.all[i]!) / secs),
        main: s1.main.map((v, i) => (v - s0.main[i]!) / secs),
      };
      results.push(res);
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      console.log(
        `round ${r + 1} ${phase.padEnd(5)} reads ${d.reads} writes ${d.writes} errors ${d.errors}; CPU ms/s n1 n2 n3 ${res.all.map((v) => v.toFixed(0)).join(' ')} (main ${res.main.map((v) => v.toFixed(0)).join(' ')}); load ${load}`,
      );
    }
  }

  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const by = (phase: string) => results.filter((x) => x.phase === phase);
  /** Median over rounds of (phase - base) CPU per op of `per`, per node: us. */
  const perOp = (phase: string, base: string, per: 'reads' | 'writes', kind: 'all' | 'main') => {
    const a = by(phase);
    const b = by(base);
    if (a.length === 0 || b.length === 0) return undefined;
    return [0, 1, 2].map((node) => {
      const xs = a.map((x, i) => {
        const rate = x[per] / x.seconds;
        return rate > 0 ? ((x[kind][node]! - b[Math.min(i, b.length - 1)]![kind][node]!) * 1000) / rate : Number.NaN;
      });
      return { med: med(xs), lo: Math.min(...xs), hi: Math.max(...xs) };
    });
  };
  const fmt = (v: { med: number; lo: number; hi: number }) =>
    `${v.med.toFixed(0)} (${v.lo.toFixed(0)}-${v.hi.toFixed(0)})`;
  console.log('\nmedian (lowest-highest) over rounds, us of CPU per operation, n1 leader / n2 follower / n3 other');
  console.log(
    '| figure | threads | n1 (leader) | n2 (follower) | n3 | sum |\n| --- | --- | ---: | ---: | ---: | ---: |',
  );
  const rows: [string, string, string, 'reads' | 'writes'][] = [
    ['a lone write (lone - idle)', 'lone', 'idle', 'writes'],
    [`a write in bursts of ${BURST} (burst - idle)`, 'burst', 'idle', 'writes'],
    ['a write among reads (mixed - reads)', 'mixed', 'reads', 'writes'],
    ['a read (reads - idle)', 'reads', 'idle', 'reads'],
  ];
  for (const [label, a, b, per] of rows)
    for (const kind of ['all', 'main'] as const) {
      const v = perOp(a, b, per, kind);
      if (!v) continue;
      const sums = by(a).map((x, i) => {
        const base = by(b)[Math.min(i, by(b).length - 1)]!;
        const rate = x[per] / x.seconds;
        return ((x[kind].reduce((s, y) => s + y, 0) - base[kind].reduce((s, y) => s + y, 0)) * 1000) / rate;
      });
      console.log(
        `| ${label} | ${kind === 'all' ? 'all' : 'main'} | ${v.map(fmt).join(' | ')} | ${fmt({ med: med(sums), lo: Math.min(...sums), hi: Math.max(...sums) })} |`,
      );
    }
  const idle = by('idle');
  if (idle.length > 0)
    console.log(
      `\nidle cluster, CPU ms/s per node (all threads): ${[0, 1, 2].map((i) => med(idle.map((x) => x.all[i]!)).toFixed(1)).join(' / ')}; sum ${med(idle.map((x) => x.all.reduce((s, y) => s + y, 0))).toFixed(1)} (${Math.min(...idle.map((x) => x.all.reduce((s, y) => s + y, 0))).toFixed(1)}-${Math.max(...idle.map((x) => x.all.reduce((s, y) => s + y, 0))).toFixed(1)})`,
    );
} finally {
  await cluster.stop();
}

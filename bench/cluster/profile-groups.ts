// Where the nodes' main threads spend their time, from the V8 CPU profiles the cluster bench writes
// (EAU2_BENCH_CPU_PROF): the profiles of several nodes summed, idle time and module loading at start
// left out, self time grouped by area (engine, cluster, msgpackr, socket writes, GC, ...) and the
// top functions. The README's before/after profile tables come from this.
//
//   node --import tsx bench/cluster/profile-groups.ts /tmp/prof/CPU.*.0.001.cpuprofile [--top N]
//
// (Each node writes one profile per thread; *.0.001.cpuprofile are the main threads'.)

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CpuProfile, summarizeProfile } from '../lib/cpu-profile.js';

const STARTUP =
  /^(compileSourceTextModule|waitForWorker|makeSyncRequest|makeAsyncRequest|readFileUtf8|wrapSafe|compileForInternalLoader) |node:internal\/(modules|bootstrap)/;

/** The area a function (as labelled by summarizeProfile: "name (file:line)") belongs to. */
export function groupOf(label: string): string {
  if (label === '(idle)') return 'idle';
  if (STARTUP.test(label)) return 'startup';
  if (label === '(garbage collector)') return 'GC (main thread)';
  if (label === '(program)') return 'runtime without a JS frame';
  if (label.startsWith('writeBuffer') || label.startsWith('writev') || label.startsWith('writeUtf8String'))
    return 'socket and file writes (writeBuffer, writev)';
  if (label.includes('functional-red-black-tree')) return 'engine: memtable red-black tree';
  if (label.includes('(engine/')) return 'engine: the rest (batch encode, WAL, memtable, crc32c, reads)';
  if (label.includes('msgpackr')) return 'msgpackr';
  if (label.includes('prom-client')) return 'prom-client';
  if (label.includes('(cluster/protocol/')) return 'cluster: protocol (frames, codec, entries)';
  if (label.includes('(cluster/')) return 'cluster: node (handlers, leader, follower, writer)';
  return 'node: streams, net, buffers, timers, microtasks, other';
}

export interface GroupedProfile {
  /** Busy milliseconds: all samples but idle and startup. */
  busyMs: number;
  groups: { group: string; ms: number; pct: number }[];
  top: { name: string; ms: number; pct: number }[];
}

export function groupProfiles(profiles: CpuProfile[], top = 25): GroupedProfile {
  const self = new Map<string, number>();
  for (const p of profiles)
    for (const c of summarizeProfile(p)) if (c.selfMs > 0) self.set(c.name, (self.get(c.name) ?? 0) + c.selfMs);
  const groups = new Map<string, number>();
  let busy = 0;
  for (const [name, ms] of self) {
    const g = groupOf(name);
    if (g === 'idle' || g === 'startup') continue;
    busy += ms;
    groups.set(g, (groups.get(g) ?? 0) + ms);
  }
  const pct = (ms: number) => (busy > 0 ? (100 * ms) / busy : 0);
  return {
    busyMs: busy,
    groups: [...groups].map(([group, ms]) => ({ group, ms, pct: pct(ms) })).sort((a, b) => b.ms - a.ms),
    top: [...self]
      .filter(([name]) => !['idle', 'startup'].includes(groupOf(name)))
      .map(([name, ms]) => ({ name, ms, pct: pct(ms) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const topIdx = args.indexOf('--top');
  const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25;
  const files = args.filter((a, i) => !a.startsWith('--') && (topIdx < 0 || i !== topIdx + 1));
  const g = groupProfiles(
    files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as CpuProfile),
    top,
  );
  console.log(
    `${files.length} profile(s), ${(g.busyMs / 1000).toFixed(1)} s busy (idle and module loading left out)\n`,
  );
  console.log('| share of busy time | area |\n| ---: | --- |');
  for (const x of g.groups) console.log(`| ${x.pct.toFixed(1)}% | ${x.group} |`);
  console.log('\n| self | function |\n| ---: | --- |');
  for (const x of g.top) console.log(`| ${x.pct.toFixed(1)}% | ${x.name.replace(/\|/g, '\\|')} |`);
}

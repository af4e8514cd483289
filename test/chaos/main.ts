// npm run chaos -- --minutes N --seed S [--redis] [--overlap] [--kinds kill,pause,...] [--partitions P] [--out FILE]
// A long chaos run against a local 3-node, replication-factor-2 eau2 cluster (test/chaos/run.ts):
// seeded faults one after another for N minutes under the write workload (each once the cluster has
// settled from the previous one; --overlap: only the drawn gap, so faults may overlap), then the checks, and a
// report: faults injected, operations tried / acknowledged / lost, time to failover p50/p99 and
// availability per fault kind. With --redis, the same workload and process faults against a Redis
// Cluster of 3 masters + 3 replicas whose cluster-node-timeout is eau2's failover timeout, side by
// side. Exits 1 if a check failed (a w=all-acknowledged write lost, replicas not identical, two
// leaders in one epoch, the cluster not settled within 60 s of a heal).

import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { FAULT_KINDS, type FaultKind } from './nemesis.js';
import { runRedisChaos } from './redis-chaos.js';
import { figures, renderFigures, type RunFigures } from './report.js';
import { runChaos, summary } from './run.js';

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function kinds(v: string): FaultKind[] {
  const list = v.split(',');
  for (const k of list)
    if (!(FAULT_KINDS as readonly string[]).includes(k))
      throw new InvalidArgumentError(`unknown fault "${k}" (known: ${FAULT_KINDS.join(', ')})`);
  return list as FaultKind[];
}

const program = new Command('chaos')
  .description('fault-injection run against a local eau2 cluster (and Redis Cluster with --redis)')
  .option('--minutes <n>', 'how long to inject faults', positive, 2)
  .option('--seed <n>', 'seed of the fault schedule', (v) => Number.parseInt(v, 10), Date.now() % 1_000_000)
  .option('--kinds <list>', `faults to draw from (${FAULT_KINDS.join(',')})`, kinds, [...FAULT_KINDS])
  .option('--partitions <n>', 'partitions of the eau2 cluster', positive, 8)
  .option('--redis', 'also run the process faults against a Redis Cluster')
  .option('--overlap', 'do not wait for the cluster to settle between faults (they may overlap: harsher)')
  .option('--out <file>', 'write the figures and every fault as JSON here')
  .parse();

const o = program.opts<{
  minutes: number;
  seed: number;
  kinds: FaultKind[];
  partitions: number;
  redis?: boolean;
  overlap?: boolean;
  out?: string;
}>();

const t0 = Date.now();
const log = (m: string): void => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${m}`);
log(
  `seed ${o.seed}, ${o.minutes} minutes, faults ${o.kinds.join(',')}${o.overlap ? ', may overlap' : ', one at a time'}`,
);

const runs: RunFigures[] = [];
const details: unknown[] = [];
let failed = false;

const r = await runChaos({
  seed: o.seed,
  durationMs: o.minutes * 60_000,
  kinds: o.kinds,
  cluster: { partitions: o.partitions },
  overlap: o.overlap,
  log,
});
console.error(summary(r));
const converged = 'error' in r.verify ? false : r.verify.identical;
runs.push(figures('eau2', { ...r, converged, splitBrain: r.splitBrain.length, sampled: true }, o.minutes));
details.push({
  system: 'eau2',
  faults: r.faults,
  availability: r.availability,
  settles: r.settles,
  lostW1: r.durability.w1Lost,
});
failed ||= r.durability.wAllLost.length > 0 || r.durability.counterViolations.length > 0 || !converged;
failed ||= r.splitBrain.length > 0;
// A heal after which the cluster did not settle: a finding (the next faults were two at once).
failed ||= r.settles.some((x) => !x.settled);

if (o.redis) {
  const redisKinds = o.kinds.filter((k) => k === 'kill' || k === 'pause');
  const rr = await runRedisChaos({
    seed: o.seed,
    durationMs: o.minutes * 60_000,
    kinds: redisKinds.length > 0 ? redisKinds : ['kill', 'pause'],
    nodeTimeoutMs: r.failoverTimeoutMs,
    overlap: o.overlap,
    log,
  });
  if ('skipped' in rr) log(`Redis Cluster not run: ${rr.skipped}`);
  else {
    runs.push(figures('Redis Cluster', { ...rr, sampled: false }, o.minutes));
    details.push({ system: 'redis', faults: rr.faults, availability: rr.availability, settles: rr.settles });
    if (rr.settles.some((x) => !x.settled)) log('Redis Cluster did not settle after a heal (see the settle row)');
  }
}

const table = renderFigures(runs);
console.log(
  `\nChaos run: \`npm run chaos -- --minutes ${o.minutes} --seed ${o.seed}${o.redis ? ' --redis' : ''}${o.overlap ? ' --overlap' : ''}\`\n\n${table}\n`,
);
if (o.out) writeFileSync(o.out, JSON.stringify({ figures: runs, details }, null, 2));
log(failed ? 'a check FAILED' : 'every check passed');
process.exit(failed ? 1 : 0);

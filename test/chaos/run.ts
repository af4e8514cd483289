// One chaos run: a cluster behind the fault proxy, the workload writing throughout, /cluster sampled
// on every node every 500 ms, faults injected one at a time (a given list, or drawn by the seeded
// scheduler until the time is up), each after the cluster settled from the previous one (settle.ts;
// `overlap` skips that wait), then, with every fault healed, the checks of checkers.ts. Used by
// the short runs in test/chaos/*.test.ts and by `npm run chaos` (bench/chaos/main.ts).

import type { VerifyReport } from '../../cluster/node/verify-compare.js';
import { ChaosCluster, type ChaosClusterSpec } from './chaos-cluster.js';
import {
  availability,
  checkDurability,
  checkOneLeaderPerEpoch,
  type ClusterSample,
  type DurabilityResult,
  type FaultAvailability,
  type FaultRecord,
  type SplitBrain,
} from './checkers.js';
import { type ClusterView, type SettleRecord, unsettledReason, waitSettled } from './settle.js';
import {
  FAULT_KINDS,
  heal,
  inject,
  nextFault,
  rngOf,
  runnableKinds,
  type FaultKind,
  type PlannedFault,
} from './nemesis.js';
import { Workload, type Op } from './workload.js';

export interface ChaosOptions {
  seed: number;
  /** With the scheduler: keep injecting faults until this much time has passed. */
  durationMs?: number;
  /** Inject exactly these, in order (instead of the scheduler). */
  faults?: (Pick<PlannedFault, 'kind' | 'target'> & Partial<PlannedFault>)[];
  kinds?: readonly FaultKind[];
  cluster?: ChaosClusterSpec;
  /** Workload clients (default: 2 per partition). */
  clients?: number;
  /** The node every workload client starts at (default: spread over the nodes). */
  home?: string;
  /** How long the replicas get to converge after the last heal before verify must say identical. */
  settleMs?: number;
  /**
   * Inject the next fault after the previous one's gap only, settled or not (faults may overlap: a
   * harsher test). By default the run first waits, after each heal, until the cluster settled.
   */
  overlap?: boolean;
  /** The bound on each wait for the cluster to settle (default 60 s); a wait that gives up is a finding. */
  settleTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface ChaosResult {
  seed: number;
  failoverTimeoutMs: number;
  ops: Op[];
  faults: FaultRecord[];
  samples: ClusterSample[];
  durability: DurabilityResult;
  verify: VerifyReport | { error: string };
  /** ms from the last heal until verify first reported every partition identical (null: never). */
  convergedAfterMs: number | null;
  overlap: boolean;
  /** Each wait for the cluster to settle after a heal (none with `overlap`). */
  settles: SettleRecord[];
  /** Per node, at the end: damaged tables it repaired from replicas (eau2_table_repairs_total). */
  tableRepairs: Record<string, number>;
  splitBrain: SplitBrain[];
  availability: FaultAvailability[];
  errors: Record<string, number>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
  return r.json();
}

function sampleOf(from: string, raw: unknown): ClusterSample {
  const o = raw as { epoch: number; partitions: { partition: number; leader: string; epoch?: number }[] };
  return {
    t: Date.now(),
    from,
    epoch: o.epoch,
    partitions: o.partitions.map((p) => ({ partition: p.partition, leader: p.leader, epoch: p.epoch })),
  };
}

/** Every key and value, read through `url` (each partition's leader), page by page. */
async function readAll(url: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let start: string | undefined;
  for (;;) {
    const j = (await getJson(`${url}/kv?values=true&limit=10000${start ? `&start=${start}` : ''}`, 30_000)) as {
      items: { hex: string; value64: string }[];
      next: string | null;
    };
    for (const it of j.items)
      out.set(Buffer.from(it.hex, 'hex').toString(), Buffer.from(it.value64, 'base64').toString());
    if (!j.next) return out;
    start = j.next;
  }
}

/** eau2_table_repairs_total of every node that answers /metrics (NaN where it does not). */
async function tableRepairs(nodes: readonly { id: string; url: string }[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await Promise.all(
    nodes.map(async (n) => {
      try {
        const r = await fetch(`${n.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
        const m = /^eau2_table_repairs_total\{[^}]*\} (\S+)$/m.exec(await r.text());
        out[n.id] = m ? Number(m[1]) : Number.NaN;
      } catch {
        out[n.id] = Number.NaN;
      }
    }),
  );
  return out;
}

async function retry<T>(what: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await what();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(500);
    }
  }
}

/** Each node's tmpfs when a run may fill disks: room for a few minutes of the workload. */
const SMALL_DISK_BYTES = 128 * 1024 * 1024;

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log ?? (() => {});
  const rng = rngOf(o.seed);
  const began = Date.now();
  // Faults this machine cannot inject are left out loudly (log and stderr), never passed over.
  const wanted = o.kinds ?? (o.faults ? o.faults.map((f) => f.kind) : FAULT_KINDS);
  const runnable = runnableKinds(wanted);
  if (runnable.skipped) {
    log(runnable.skipped);
    process.stderr.write(`chaos: ${runnable.skipped}\n`);
    if (o.faults?.some((f) => !runnable.kinds.includes(f.kind))) throw new Error(runnable.skipped);
  }
  const needsDisk = runnable.kinds.includes('disk-full');
  const cluster = await ChaosCluster.start({
    ...o.cluster,
    ...(needsDisk && o.cluster?.smallDiskBytes === undefined ? { smallDiskBytes: SMALL_DISK_BYTES } : {}),
  });
  log(`cluster up in ${Date.now() - began} ms`);
  const spec = {
    nodes: cluster.ids,
    kinds: runnable.kinds,
    failoverTimeoutMs: cluster.failoverTimeoutMs,
  };
  const partitions = o.cluster?.partitions ?? 8;
  const samples: ClusterSample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await Promise.all(
        cluster.nodes.map(async (n) => {
          if (!cluster.alive(n.id) || cluster.paused.has(n.id)) return;
          try {
            samples.push(sampleOf(n.id, await getJson(`${n.url}/cluster`, 1500)));
          } catch {
            // a node in trouble: no sample
          }
        }),
      );
      await sleep(500);
    }
  })();
  const workload = new Workload({ clients: o.clients, partitions, nodes: cluster.nodes, home: o.home });
  const faults: FaultRecord[] = [];
  const settles: SettleRecord[] = [];
  const settleReason = async (): Promise<string | null> => {
    const views = new Map<string, ClusterView>();
    await Promise.all(
      cluster.nodes.map(async (n) => {
        if (!cluster.alive(n.id) || cluster.paused.has(n.id)) return;
        try {
          views.set(n.id, (await getJson(`${n.url}/cluster`, 3000)) as ClusterView);
        } catch {
          // not answering: unsettled
        }
      }),
    );
    return unsettledReason(views, cluster.ids);
  };
  try {
    workload.start();
    await sleep(1500);
    const t0 = Date.now();
    const planned = (o.faults ?? []).map((f) => ({ ...nextFault(rng, spec), ...f }));
    for (let i = 0; o.faults ? i < planned.length : Date.now() - t0 < (o.durationMs ?? 60_000); i++) {
      const f = o.faults ? planned[i]! : nextFault(rng, spec);
      const last = [...samples].reverse().find((s) => s.from !== f.target) ?? samples.at(-1);
      const led = (last?.partitions ?? []).filter((p) => p.leader === f.target).map((p) => p.partition);
      log(`fault ${faults.length + 1}: ${f.kind} ${f.target} for ${f.durationMs} ms`);
      const start = Date.now();
      await inject(cluster, f);
      await sleep(f.durationMs);
      const healStart = Date.now();
      await heal(cluster, f);
      faults.push({ kind: f.kind, target: f.target, start, healStart, healed: Date.now(), led });
      if (!o.overlap) {
        const w = await waitSettled(settleReason, o.settleTimeoutMs ?? 60_000);
        settles.push({ fault: faults.length, ...w });
        log(
          w.settled
            ? `settled in ${w.ms} ms (at first: ${w.firstWhy ?? 'settled'})`
            : `NOT settled after ${w.ms} ms: ${w.why}`,
        );
        // A finding: what each node was doing (its process state and last log lines), for the report.
        if (!w.settled)
          for (const id of cluster.ids) log(`${id} ${cluster.state(id)}, log tail:\n${cluster.log(id).slice(-3000)}`);
      }
      await sleep(f.gapMs);
    }
    await sleep(1000);
  } catch (e) {
    // A fault that could not be healed (a node that did not come back): no checks, but every
    // process is stopped all the same.
    for (const id of cluster.ids) log(`${id} log tail:\n${cluster.log(id).slice(-3000)}`);
    await workload.stop();
    sampling = false;
    await sampler;
    await cluster.stop();
    throw e;
  } finally {
    await workload.stop();
    sampling = false;
    await sampler;
  }
  try {
    const lastHeal = faults.at(-1)?.healed ?? Date.now();
    const end = Date.now();
    let verify: VerifyReport | { error: string } = { error: 'not run' };
    let convergedAfterMs: number | null = null;
    const deadline = Date.now() + (o.settleMs ?? 30_000);
    const url = cluster.nodes.find((n) => cluster.alive(n.id))!.url;
    for (;;) {
      try {
        verify = (await getJson(`${url}/cluster/verify`, 60_000)) as VerifyReport;
        if (verify.identical) {
          convergedAfterMs = Date.now() - lastHeal;
          break;
        }
      } catch (e) {
        verify = { error: (e as Error).message };
      }
      if (Date.now() > deadline) break;
      await sleep(1000);
    }
    log(
      `verify: ${convergedAfterMs === null ? 'not identical' : `identical ${convergedAfterMs} ms after the last heal`}`,
    );
    const values = await retry(() => readAll(url), 30_000);
    log(`read ${values.size} keys`);
    const repairs = await tableRepairs(cluster.nodes.filter((n) => cluster.alive(n.id)));
    const errors: Record<string, number> = {};
    for (const op of workload.ops) if (!op.ok) errors[op.code ?? '?'] = (errors[op.code ?? '?'] ?? 0) + 1;
    return {
      seed: o.seed,
      failoverTimeoutMs: cluster.failoverTimeoutMs,
      ops: workload.ops,
      faults,
      samples,
      durability: checkDurability(workload.ops, { values }),
      verify,
      convergedAfterMs,
      overlap: o.overlap ?? false,
      settles,
      tableRepairs: repairs,
      splitBrain: checkOneLeaderPerEpoch(samples),
      availability: availability(workload.ops, faults, partitions, end, samples),
      errors,
    };
  } catch (e) {
    for (const id of cluster.ids) log(`${id} log tail:\n${cluster.log(id).slice(-3000)}`);
    throw e;
  } finally {
    await cluster.stop();
  }
}

function unsettled(l: SettleRecord[]): string {
  const bad = l.filter((x) => !x.settled);
  return bad.length ? `; NOT settled after ${bad.map((x) => `fault ${x.fault} (${x.why})`).join(', ')}` : '';
}

/** A one-paragraph account of a run, for test failures and the chaos report. */
export function summary(r: ChaosResult): string {
  const acked = r.ops.filter((o) => o.ok).length;
  const d = r.durability;
  const v =
    'error' in r.verify
      ? `verify failed: ${r.verify.error}`
      : `verify identical=${r.verify.identical}${r.verify.identical ? '' : ` ${JSON.stringify(r.verify).slice(0, 4000)}`}`;
  return [
    `seed ${r.seed}: ${r.faults.map((f) => `${f.kind}(${f.target})`).join(', ') || 'no faults'}`,
    `ops ${r.ops.length} tried, ${acked} acknowledged (w=all ${d.wAllAcked}, w=1 ${d.w1Acked})`,
    `lost: w=all ${d.wAllLost.length}, w=1 ${d.w1Lost.length}, counter violations ${d.counterViolations.length}`,
    `${v}, converged ${r.convergedAfterMs === null ? 'never' : `${r.convergedAfterMs} ms after the last heal`}`,
    `split brain: ${r.splitBrain.length ? JSON.stringify(r.splitBrain) : 'none'}`,
    `damaged tables repaired: ${JSON.stringify(r.tableRepairs)}`,
    r.overlap
      ? 'faults may overlap (no wait for the cluster to settle)'
      : `settled after each heal in ${JSON.stringify(r.settles.map((x) => x.ms))} ms${unsettled(r.settles)}`,
    `errors: ${JSON.stringify(r.errors)}`,
    ...r.availability.map(
      (a) =>
        `  ${a.kind}(${a.target}) ${a.durationMs} ms: longest without w=all writes ${a.maxUnavailableMs} ms (p${a.worstPartition}), without any ${a.maxUnavailableAnyMs} ms; failover ${JSON.stringify(a.recoveryMs.map((x) => x.failoverMs))}`,
    ),
  ].join('\n');
}

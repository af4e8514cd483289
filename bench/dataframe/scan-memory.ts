// The client's memory while storing and scanning, each measured in a process that does nothing else.
// In the main bench both run in the process that generated the data and wrote the Arrow file, so its
// allocator already holds freed memory a phase can reuse without the RSS growing. Here, on a local
// 3-node cluster, a fresh child process generates the frame and stores it (as the main bench's "put"),
// then fresh child processes connect and scan every row-chunk lent (as its "get (scan all)") and check
// the checksum. Each reports its RSS high-water mark (Linux VmHWM, reset when the phase starts) over
// its RSS at that moment, beside twice the chunk budget as the main bench counts it.
// With --engine the store is an embedded engine instead, opened on one directory by each child in
// turn: the child is then client and engine at once, and its growth is the engine's memory too
// (memtables, flush buffers, the compaction worker's thread; for a scan, what the reads allocate).
//
//   node --import tsx bench/dataframe/scan-memory.ts [--rows N] [--scans K] [--engine]

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ClusterClient } from '../../cluster/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { Engine } from '../../engine/index.js';
import type { KvStore } from '../../kv/index.js';
import { formatBytes } from '../lib/format.js';
import { writeArrow } from './arrow.js';
import { checksumArrays, generate, sameChecksum, scanChecksum, toFrame, type Checksum } from './data.js';
import { LocalCluster, peakRssOf } from './local-cluster.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    scans: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    'child-put': { type: 'string' },
    'child-scan': { type: 'string' },
    engine: { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const CONCURRENCY = Number(args.concurrency);
const CHUNK_ROWS = 65536;
const NAME = 'scan-memory';

interface Report {
  ms: number;
  base: number;
  peak: number;
  checksum?: Checksum;
}

/** Collects, lets array buffers sweep, resets the high-water mark; returns the RSS now. */
async function startPhase(): Promise<number> {
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 200));
  globalThis.gc?.();
  writeFileSync('/proc/self/clear_refs', '5');
  return process.memoryUsage.rss();
}

/** `target`: the first node's URL, or with --engine the engine's directory. */
async function child(target: string, put: boolean): Promise<void> {
  const client: KvStore & { close(): Promise<void> } = args.engine
    ? await Engine.open(target)
    : await ClusterClient.connect([target]);
  let r: Report;
  try {
    if (put) {
      const frame = toFrame(generate(ROWS, 42));
      const base = await startPhase();
      const t0 = performance.now();
      await DataFrame.put(client, NAME, frame, { chunkRows: CHUNK_ROWS, concurrency: CONCURRENCY });
      r = { ms: performance.now() - t0, base, peak: peakRssOf(process.pid) ?? 0 };
    } else {
      const base = await startPhase();
      const t0 = performance.now();
      const c = await scanChecksum(client, NAME, CONCURRENCY);
      r = { ms: performance.now() - t0, base, peak: peakRssOf(process.pid) ?? 0, checksum: c };
    }
  } finally {
    await client.close();
  }
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

function runChild(url: string, put: boolean): Promise<Report> {
  const self = fileURLToPath(import.meta.url);
  const argv = [
    '--expose-gc',
    '--import',
    'tsx',
    self,
    put ? '--child-put' : '--child-scan',
    url,
    '--rows',
    String(ROWS),
    '--concurrency',
    String(CONCURRENCY),
  ];
  if (args.engine) argv.push('--engine');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Report) : reject(new Error(`child exited with ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  if (args['child-put']) return child(args['child-put'], true);
  if (args['child-scan']) return child(args['child-scan'], false);
  const data = generate(ROWS, 42);
  const want = checksumArrays(data);
  const cluster = args.engine ? undefined : await LocalCluster.start(3, 2, 16);
  const dir = cluster?.dir ?? (await mkdtemp(join(tmpdir(), 'eau2-scanmem-')));
  const targets = cluster?.urls ?? [join(dir, 'engine')];
  try {
    // The chunk budget as the main bench counts it: row-chunks in flight x a row-chunk's share of the
    // same frame written as an Arrow IPC file.
    const arrowFile = join(dir, 'frame.arrow');
    const twiceBudget = 2 * CONCURRENCY * ((await writeArrow(data, arrowFile)) / ROWS) * CHUNK_ROWS;
    await rm(arrowFile);
    const line = (what: string, r: Report): string =>
      `${what}: ${r.ms.toFixed(0)} ms, client RSS at start ${formatBytes(r.base)}, peak ${formatBytes(r.peak)}, ` +
      `growth ${formatBytes(r.peak - r.base)} (2 x chunk budget = ${formatBytes(twiceBudget)})\n`;
    const where = args.engine ? 'an embedded engine (the child is client and engine)' : 'a local 3-node cluster';
    process.stdout.write(
      `${ROWS.toLocaleString('en-US')} rows on ${where}, ${CONCURRENCY} row-chunks of ${CHUNK_ROWS} rows in flight, each phase in a fresh client process\n`,
    );
    process.stdout.write(line('put', await runChild(targets[0]!, true)));
    for (let i = 0; i < Number(args.scans); i++) {
      const r = await runChild(targets[i % targets.length]!, false);
      if (!sameChecksum(r.checksum!, want)) throw new Error('scan checksum differs');
      process.stdout.write(line(`scan ${i + 1}`, r));
    }
  } finally {
    if (cluster) await cluster.stop();
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();

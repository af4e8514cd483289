// `node --import tsx bench/dataframe/tpch.ts [--scale S] [--runs R] [--no-cluster]`: the 22 TPC-H
// queries (bench/dataframe/tpch-data.ts; scale 1 is 6,000 orders and ~24,000 line items) side by
// side: DuckDB (in memory) and eau2, embedded (an Engine) and on a local 3-node cluster (16
// partitions, 2 replicas), each loading the same generated CSV files and running each query R times
// (default 3). Every answer eau2 gives is compared with DuckDB's (doubles to a relative 1e-9); a
// query eau2 refuses is shown with its reason. Warm = best of runs 2..R, cold = run 1.

import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Engine } from '../../engine/index.js';
import type { KvStore } from '../../kv/index.js';
import { DataFrame, importCsv, type Value } from '../../dataframe/index.js';
import { numberArg } from '../lib/args.js';
import { formatMs } from '../lib/format.js';
import { LocalCluster } from './local-cluster.js';
import { TPCH_QUERIES, TPCH_TABLES, duckCell, isoRows, sameRow, writeTpch } from './tpch-data.js';

const scale = numberArg('scale', 10);
const runs = Math.max(2, numberArg('runs', 3));
const withCluster = !process.argv.includes('--no-cluster');

type Rows = Value[][];
interface Timed {
  ms: number[];
  rows?: Rows;
  error?: string;
}

function same(a: Rows, b: Rows): boolean {
  return a.length === b.length && a.every((r, i) => sameRow(r, b[i]!));
}

async function timeEau2(store: KvStore, sql: string): Promise<Timed> {
  const out: Timed = { ms: [] };
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    try {
      const df = await DataFrame.sql(store, sql);
      out.ms.push(performance.now() - t0);
      out.rows = isoRows(df);
    } catch (e) {
      out.error = (e as Error).message.split('\n')[0];
      return out;
    }
  }
  return out;
}

const warm = (t: Timed): number => Math.min(...t.ms.slice(1));
const cell = (t: Timed | undefined, want: Rows): string => {
  if (!t) return '';
  if (t.error)
    return `refused (${t.error
      .replace(/\(line \d+, column \d+\)/, '')
      .trim()
      .slice(0, 60)})`;
  const mark = same(t.rows!, want) ? '' : ' **DIFFERS**';
  return `${formatMs(warm(t))} (cold ${formatMs(t.ms[0])})${mark}`;
};

const dir = await mkdtemp(join(tmpdir(), 'eau2-tpch-bench-'));
let engine: Engine | undefined;
let cluster: LocalCluster | undefined;
try {
  await writeTpch(join(dir, 'csv'), 42, scale);
  const con = await (await DuckDBInstance.create(':memory:')).connect();
  const loads: Record<string, number> = {};
  let t0 = performance.now();
  for (const [t, cols] of Object.entries(TPCH_TABLES)) {
    await con.run(`CREATE TABLE ${t} (${cols.map(([n, ty]) => `${n} ${ty}`).join(', ')})`);
    await con.run(`COPY ${t} FROM '${join(dir, 'csv', `${t}.csv`)}' (HEADER)`);
  }
  loads.duckdb = performance.now() - t0;
  engine = await Engine.open(join(dir, 'engine'));
  const stores: [string, KvStore][] = [['eau2 embedded', engine]];
  if (withCluster) {
    cluster = await LocalCluster.start(3, 2, 16);
    stores.push(['eau2 3-node cluster', cluster.client]);
  }
  for (const [name, store] of stores) {
    t0 = performance.now();
    for (const t of Object.keys(TPCH_TABLES)) await importCsv(store, t, join(dir, 'csv', `${t}.csv`));
    loads[name] = performance.now() - t0;
  }
  const lineitems = (await (await con.runAndReadAll('SELECT count(*) FROM lineitem')).getRows())[0]![0];
  console.log(
    `TPC-H scale ${scale} (${lineitems} line items); ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, Node ${process.version}, load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}, ${new Date().toISOString()}`,
  );
  console.log(
    `load CSV: DuckDB ${formatMs(loads.duckdb)}, ${stores.map(([n]) => `${n} ${formatMs(loads[n])}`).join(', ')}`,
  );
  console.log(`warm = best of runs 2..${runs}; answers compared with DuckDB's\n`);
  console.log(`| query | DuckDB | ${stores.map(([n]) => n).join(' | ')} |`);
  console.log(`|---|---|${stores.map(() => '---|').join('')}`);
  let differ = 0;
  for (const [n, sql] of Object.entries(TPCH_QUERIES)) {
    const duck: Timed = { ms: [] };
    for (let r = 0; r < runs; r++) {
      t0 = performance.now();
      const rows = (await con.runAndReadAll(sql)).getRows();
      duck.ms.push(performance.now() - t0);
      duck.rows = rows.map((row) => row.map(duckCell));
    }
    const ours: Timed[] = [];
    for (const [, store] of stores) ours.push(await timeEau2(store, sql));
    for (const t of ours) if (!t.error && !same(t.rows!, duck.rows!)) differ++;
    console.log(
      `| Q${n} | ${formatMs(warm(duck))} (cold ${formatMs(duck.ms[0])}) | ${ours.map((t) => cell(t, duck.rows!)).join(' | ')} |`,
    );
  }
  if (differ > 0) {
    console.error(`${differ} answers differ from DuckDB's`);
    process.exitCode = 1;
  }
  con.closeSync();
} finally {
  await cluster?.stop();
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
}

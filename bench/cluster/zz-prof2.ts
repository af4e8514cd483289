import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient } from '../../cluster/index.js';
import { freePorts } from './eau2-target.js';
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
const ports = await freePorts(6);
const config = { partitions: 16, replicationFactor: 2, nodes: [0, 1, 2].map((i) => ({ id: `n${i + 1}`, port: ports[2 * i], peerPort: ports[2 * i + 1], dataDir: join(dir, `n${i + 1}`) })) };
writeFileSync(join(dir, 'c.json'), JSON.stringify(config));
const mode = process.argv[2];
const procs = config.nodes.map((n) => spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${process.argv[3]}`, '--import', 'tsx', 'cluster/cli/main.ts', 'node', '--config', join(dir, 'c.json'), '--id', n.id, '--log-level', 'warn'], { stdio: 'inherit' }));
const urls = config.nodes.map((n) => `http://127.0.0.1:${n.port}`);
for (const u of urls) for (;;) { try { if ((await fetch(u + '/healthz')).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }
const c = await ClusterClient.connect(urls);
const v = new Uint8Array(1024).fill(97);
const N = 20000;
let next = 0;
const run = async (n: number, f: (i: number) => Promise<unknown>) => { next = 0; const t0 = performance.now(); await Promise.all(Array.from({ length: 64 }, async () => { while (next < n) { const i = next++; await f(i); } })); return Math.round(n / ((performance.now() - t0) / 1000)); };
if (mode === 'get') { await run(2000, (i) => c.put(`user${i}`, v)); console.log('get', await run(100000, (i) => c.get(`user${i % 2000}`))); }
else console.log('put', await run(40000, (i) => c.put(`user${i}`, v)));
await c.close();
for (const p of procs) p.kill('SIGTERM');
await new Promise((r) => setTimeout(r, 3000));

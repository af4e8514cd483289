import { Eau2Cluster } from './eau2-target.js';
const c = await Eau2Cluster.start(3, Number(process.argv[3] ?? 2), 16);
const v = new Uint8Array(1024).fill(97);
const N = Number(process.argv[2] ?? 40000);
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: 64 }, async () => { while (next < N) { const i = next++; await c.client.put(`user${i}`, v); } }));
console.log('put', Math.round(N / ((performance.now() - t0) / 1000)), 'ops/s');
console.log('ack', JSON.stringify(await c.ackQuantiles()));
for (const u of c.urls) { const t = await (await fetch(u + '/metrics')).text(); if (0) console.log(u, [...t.matchAll(/^eau2_engine\{stat="(stallMs|slowdowns|stops|writes|writeGroups|flushes|compactions|levels_0_files)"[^}]*\} (\S+)/gm)].map((m) => `${m[1]}=${Math.round(Number(m[2]))}`).join(' ')); }
await c.stop();

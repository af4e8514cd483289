import { Eau2Cluster } from './eau2-target.js';
const c = await Eau2Cluster.start(3, 2, 16);
const cpu = async () => { let s = 0; for (const u of c.urls) { const t = await (await fetch(u + '/metrics')).text(); s += Number(/^process_cpu_seconds_total\{[^}]*\} (\S+)/m.exec(t)![1]); } return s; };
const v = new Uint8Array(1024).fill(97);
const N = Number(process.argv[2] ?? 20000);
for (const phase of ['put', 'get', 'put']) {
  let next = 0;
  const c0 = await cpu(); const t0 = performance.now(); const u0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 64 }, async () => { while (next < N) { const i = next++; if (phase === 'put') await c.client.put(`user${i}`, v); else await c.client.get(`user${i}`); } }));
  const secs = (performance.now() - t0) / 1000; const u = process.cpuUsage(u0);
  const c1 = await cpu();
  console.log(phase, Math.round(N / secs), 'ops/s', 'nodes cpu us/op', Math.round((c1 - c0) * 1e6 / N), 'client cpu us/op', Math.round((u.user + u.system) / N));
}
await c.stop();

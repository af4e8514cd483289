// Child process for the SIGKILL crash test: writes k000000, k000001, ... to the engine in `dir`,
// in bursts of concurrent puts, some with sync: true, and prints "<index> <sync>" for every write
// whose promise resolved, until it is killed.

import { Engine } from '../../../engine/index.js';

const [dir, seedArg] = process.argv.slice(2);
let s = Number(seedArg) >>> 0;
const rand = (): number => {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = Math.imul(s ^ (s >>> 15), s | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const db = await Engine.open(dir!, {
  memtableBytes: 16 * 1024,
  targetFileSize: 16 * 1024,
  level1Bytes: 64 * 1024,
  levelMultiplier: 4,
});
process.stdout.write('ready\n');
let i = 0;
for (;;) {
  const burst = 1 + Math.floor(rand() * 8);
  const ps: Promise<void>[] = [];
  for (let b = 0; b < burst; b++, i++) {
    const n = i;
    const sync = rand() < 0.2;
    ps.push(
      db
        .put(`k${String(n).padStart(6, '0')}`, `value-${n}-${'y'.repeat(Math.floor(rand() * 80))}`, { sync })
        .then(() => {
          process.stdout.write(`${n} ${sync ? 1 : 0}\n`);
        }),
    );
  }
  await Promise.all(ps);
}

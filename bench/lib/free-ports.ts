// Loopback ports free right now, for the benchmarks and test harnesses that start local node
// processes. They come from below the kernel's ephemeral range (32768-60999 by default): a port
// the kernel handed out for a `listen(0)` is also one it hands out as the source port of outgoing
// connections, so between this check and the node's own listen, some other connection (a node
// dialling a peer or a proxy) could take it and the node would fail with EADDRINUSE. Below the
// range only another listener can take a port. Each test worker (VITEST_POOL_ID) draws from its
// own slice, and every port handed out is also reserved with a lock file for as long as the
// process that asked for it lives: two test suites or benchmarks run at once (whose workers have
// the same pool ids) never hand out one port twice, even in the window between this check and the
// node's listen. A lock whose process is gone (or a zombie) is taken over.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const LOW = 20_000;
const HIGH = 32_000;
const SLICES = 8;
const LOCK_DIR = path.join(os.tmpdir(), 'eau2-test-ports');

const mine = new Set<string>();
let exitHook = false;

function tryListen(port: number): Promise<net.Server | undefined> {
  return new Promise((res) => {
    const s = net.createServer();
    s.once('error', () => res(undefined));
    s.listen(port, '127.0.0.1', () => res(s));
  });
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // "pid (comm) S ...": the state follows the last ')'. A zombie holds nothing any more.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

/** Reserve `port` for this process: false if a live process holds it. */
export function reservePort(port: number): boolean {
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  if (!exitHook) {
    exitHook = true;
    process.once('exit', releaseAll);
  }
  const file = path.join(LOCK_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      mine.add(file);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = Number.NaN;
    try {
      holder = Number(fs.readFileSync(file, 'utf8'));
    } catch {
      continue; // removed meanwhile: try to create it again
    }
    // An empty file is one being written right now by its creator: treat it as held.
    if (holder === process.pid || alive(holder) || fs.statSync(file, { throwIfNoEntry: false })?.size === 0) {
      return false;
    }
    try {
      fs.unlinkSync(file);
    } catch {
      // another process took it over first; the next attempt's 'wx' decides
    }
  }
  return false;
}

function releaseAll(): void {
  for (const f of mine) {
    try {
      fs.unlinkSync(f);
    } catch {
      // already gone
    }
  }
  mine.clear();
}

/** `n` distinct loopback ports that were free when asked (all held open together while checked). */
export async function freePorts(n: number): Promise<number[]> {
  const pool = Number(process.env.VITEST_POOL_ID ?? process.pid);
  const width = Math.floor((HIGH - LOW) / SLICES);
  const base = LOW + (Number.isFinite(pool) ? pool % SLICES : 0) * width;
  const held: net.Server[] = [];
  let next = Math.floor(Math.random() * width);
  try {
    for (let tried = 0; held.length < n; tried++) {
      if (tried >= width) throw new Error(`no ${n} free ports in ${base}-${base + width - 1}`);
      const port = base + (next++ % width);
      if (!reservePort(port)) continue;
      const s = await tryListen(port);
      if (s) held.push(s);
    }
    return held.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}

/**
 * A base port such that base + o is free and reserved for every offset o (as with freePorts): for a
 * program that derives its ports from one base, as `eau2 local` does (node i's HTTP port base + i,
 * peer port base + 100 + i, RESP port base + 200 + i).
 */
export async function freePortLayout(offsets: readonly number[]): Promise<number> {
  const span = Math.max(...offsets);
  for (let tried = 0; tried < 1000; tried++) {
    const [base] = await freePorts(1);
    if (base! + span >= HIGH) continue;
    const rest = offsets.filter((o) => o !== 0).map((o) => base! + o);
    if (!rest.every(reservePort)) continue;
    const servers = await Promise.all(rest.map(tryListen));
    await Promise.all(servers.map((s) => s && new Promise((r) => s.close(r))));
    if (servers.every(Boolean)) return base!;
  }
  throw new Error(`no free port layout ${offsets.join(',')} in ${LOW}-${HIGH - 1}`);
}

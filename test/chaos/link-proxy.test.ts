// The fault proxy between nodes (test/support/link-proxy.ts): it names the source of a connection by
// the process that owns it, passes bytes both ways, and per ordered link holds bytes while cut (the
// connection stays open and what waited arrives in order on heal) or delays them; a cut of A->B
// leaves C->B and B->A alone.

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifyByPid, LinkProxy } from '../support/link-proxy.js';

/** A target that answers every chunk with "ack:<chunk>". */
let target: net.Server;
let targetPort: number;
const received: string[] = [];
let proxy: LinkProxy;
const pids = new Map<number, string>([[process.pid, 'A']]);
const children: ChildProcess[] = [];
/** The source the proxy named for each connection, in order. */
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  target = net.createServer((s) =>
    s.on('data', (d) => {
      received.push(d.toString());
      s.write(`ack:${d.toString()}`);
    }),
  );
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
  targetPort = (target.address() as net.AddressInfo).port;
  proxy = await LinkProxy.start([{ id: 'B', host: '127.0.0.1', port: targetPort }], (socket) => {
    const id = identifyByPid(() => pids)(socket);
    seen.push(id);
    return id;
  });
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await proxy?.close();
  await new Promise<void>((r) => target.close(() => r()));
});

/** A connection through the proxy that collects what comes back. */
async function connect(): Promise<{ socket: net.Socket; got: () => string }> {
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port('B') });
  await new Promise<void>((r, j) => socket.once('connect', () => r()).once('error', j));
  let buf = '';
  socket.on('data', (d) => (buf += d.toString()));
  return { socket, got: () => buf };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('LinkProxy', () => {
  it('forwards both ways and names the connecting process', async () => {
    const c = await connect();
    c.socket.write('one');
    await until(() => c.got() === 'ack:one');
    expect(seen.at(-1)).toBe('A');
    expect(proxy.connections().get('A>B')).toBe(1);
    c.socket.destroy();
  });

  it('holds bytes on a cut link with the connection open, and delivers them in order on heal', async () => {
    const c = await connect();
    proxy.cut('A', 'B');
    c.socket.write('x1');
    await sleep(50);
    c.socket.write('x2');
    await sleep(300);
    expect(received.join('')).not.toContain('x1');
    expect(c.socket.destroyed).toBe(false);
    proxy.heal();
    await until(() => c.got().includes('ack:') && received.join('').includes('x2'));
    const all = received.join('');
    expect(all.indexOf('x1')).toBeLessThan(all.indexOf('x2'));
    c.socket.destroy();
  });

  it('one-way: a cut B->A lets requests in but holds the answers (half-open)', async () => {
    const c = await connect();
    proxy.cut('B', 'A');
    c.socket.write('half');
    await until(() => received.includes('half'));
    await sleep(200);
    expect(c.got()).toBe('');
    proxy.heal();
    await until(() => c.got() === 'ack:half');
    c.socket.destroy();
  });

  it('delays each chunk on a delayed link', async () => {
    const c = await connect();
    proxy.delay('A', 'B', 300);
    const t0 = Date.now();
    c.socket.write('slow');
    await until(() => c.got() === 'ack:slow');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    proxy.heal();
    c.socket.destroy();
  });

  it('cutting A->B leaves another source C alone, and never faults a process that is not a node', async () => {
    const script = `
      const s = require('net').connect(${proxy.port('B')}, '127.0.0.1');
      s.on('connect', () => setTimeout(() => s.write('from-child'), 100));
      s.on('data', (d) => { process.stdout.write(d); s.destroy(); });`;
    for (const name of ['C', undefined]) {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      // Listened for from the start: the child exits right after its echo, and on a loaded machine
      // its 'exit' can be handled before the poll below sees the echo; a listener added after that
      // would wait forever.
      const exited = new Promise((r) => child.once('exit', r));
      if (name) pids.set(child.pid!, name);
      let out = '';
      child.stdout!.on('data', (d) => (out += d.toString()));
      proxy.cut('A', 'B');
      proxy.cut('B', 'A');
      await until(() => out === 'ack:from-child');
      expect(seen.at(-1)).toBe(name);
      proxy.heal();
      await exited;
      pids.delete(child.pid!);
    }
  });
});
